// `list VM`: what one VM may do — effective level, grant, its own rules, the class rules it may
// use, its targets (as written, and what `<vm>` then names) and the protected VMs — each with the
// file:line that says so.
#include <iostream>

#include "engine/base/units.h"
#include "engine/base/vm_name.h"
#include "engine/policy/targets.h"
#include "tools/policy/policy_tool.h"

namespace qvmr::tool {
namespace {

std::string Where(const SourcePos& pos, const std::string& builtin) {
  return pos.line > 0 ? pos.FileLine() : builtin;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "(none)" : out;
}

void PrintRule(const Rule& rule) {
  std::cout << "  " << rule.pos.FileLine() << ": " << rule.text
            << (rule.filter ? "  (filter: later pipeline stages only)" : "") << "\n";
}

}  // namespace

int RunList(Env& env, const CommonOptions& common, const std::string& name) {
  if (!IsValidVmName(name)) {
    std::cerr << "qvm-remote-policy: '" << name << "' is not a valid VM name\n";
    return kExitUsage;
  }
  auto policy = LoadOrReport(env, common);
  if (!policy) return kExitUsage;
  GrantSet grants = LoadGrantsOrWarn(env, common.GrantsDirectory());
  const TimeMs now = env.NowMs();
  const VmPolicy* vm = policy->FindVm(name);

  std::cout << "vm: " << name;
  if (vm) {
    std::cout << " (" << vm->pos.FileLine() << ")\n";
  } else {
    std::cout << " (no entry in the policy: defaults apply)\n";
  }
  const Level base = policy->BaseLevel(name);
  Level level = base;
  std::cout << "base level: " << LevelName(base) << " ("
            << (vm && vm->level
                    ? vm->level->pos.FileLine()
                    : "defaults.level, " + Where(policy->defaults.level.pos, "built-in"))
            << ")\n";
  if (auto g = grants.by_vm.find(name); g != grants.by_vm.end()) {
    const Grant& grant = g->second;
    auto granted = GrantedLevel(*policy, grant, now);
    std::cout << "grant: " << LevelName(grant.level) << " until " << FormatTimeMs(grant.expires_ms)
              << " by " << grant.by << " (" << grant.file << ")";
    if (now >= grant.expires_ms) {
      std::cout << " [expired]\n";
    } else if (!granted) {
      std::cout << " [not effective: the policy no longer allows grants of this length or to this "
                   "VM]\n";
    } else if (*granted <= base) {
      std::cout << " [no effect: not above the base level]\n";
    } else {
      level = *granted;
      std::cout << " [active, " << FormatRemaining(grant.expires_ms - now) << " left]\n";
    }
  } else {
    std::cout << "grant: none\n";
  }
  std::cout << "effective level: " << LevelName(level) << "\n";
  if (vm && vm->max_dev_mode) {
    std::cout << "max_dev_mode: " << LevelName(vm->max_dev_mode->value) << " ("
              << vm->max_dev_mode->pos.FileLine() << "), max_dev_duration "
              << FormatDuration(policy->MaxDevDurationSeconds(name)) << "\n";
  } else {
    std::cout << "max_dev_mode: none (no grants)\n";
  }

  const std::vector<std::string>* targets = vm && vm->targets ? &*vm->targets : nullptr;
  if (targets) {
    std::cout << "targets: " << JoinNames(*targets) << " (" << vm->targets_pos.FileLine() << ")\n";
    std::cout << "effective targets: <vm> in manage and allow rules names "
              << DescribeTargets(targets, policy->defaults.protected_vms.value, name) << "\n";
  } else {
    std::cout << "targets: none set: <vm> in manage and allow rules names no VM (denied: "
                 "no-targets); add targets to "
              << (vm ? "vms." + name + " in " + vm->pos.file : "a vms." + name + " entry") << "\n";
  }
  std::cout << "protected: " << JoinNames(policy->defaults.protected_vms.value) << " ("
            << Where(policy->defaults.protected_vms.pos, "built-in") << ")\n";

  if (level == Level::kFull) {
    std::cout << "level full: any command that no blocked pattern matches runs in a shell\n";
  }
  std::cout << "allow rules (vms." << name << ".allow):";
  if (!vm || vm->allow.empty()) std::cout << " none";
  std::cout << "\n";
  if (vm && level == Level::kDeny && !vm->allow.empty()) {
    std::cout << "  (unused: the level is deny)\n";
  }
  if (vm) {
    for (const Rule& rule : vm->allow) PrintRule(rule);
  }
  for (Level l : {Level::kReadOnly, Level::kMonitor, Level::kManage}) {
    if (l > level || level == Level::kFull) break;
    std::cout << "class " << LevelName(l) << ":\n";
    bool any = false;
    for (const Rule& rule : policy->rules) {
      if (rule.level != l) continue;
      PrintRule(rule);
      any = true;
    }
    if (!any) std::cout << "  (no rules)\n";
  }
  return kExitOk;
}

}  // namespace qvmr::tool
