// `lint [PATH...]`: load errors (exit 1) and warnings (exit 0): scalar overrides, shadowed rules
// (shadow.cpp), allow rules a deny-level VM never uses, generous grant caps, VMs that may reach
// manage without targets and `<vm>` allow rules of a VM without targets (both name no VM), and
// targets that name a protected VM or the VM itself.
#include <algorithm>
#include <iostream>
#include <tuple>

#include "engine/base/units.h"
#include "engine/policy/targets.h"
#include "tools/policy/policy_tool.h"

namespace qvmr::tool {
namespace {

std::vector<Diagnostic> VmWarnings(const Policy& policy) {
  std::vector<Diagnostic> out;
  const std::int64_t default_dev = Defaults{}.max_dev_duration_seconds.value;
  const auto& dd = policy.defaults.max_dev_duration_seconds;
  if (dd.pos.line > 0 && dd.value > default_dev) {
    out.push_back({dd.pos, "defaults.max_dev_duration " + FormatDuration(dd.value) +
                               " is above the built-in " + FormatDuration(default_dev) +
                               ": grants may last longer"});
  }
  for (const auto& [name, vm] : policy.vms) {
    const std::string where = "vms." + name;
    const Level base = policy.BaseLevel(name);
    if (base == Level::kDeny && !vm.allow.empty() && !vm.max_dev_mode) {
      out.push_back({vm.allow.front().pos,
                     where + ".allow is never used: the VM's level is deny and it has no "
                             "max_dev_mode to raise it"});
    }
    if (vm.max_dev_mode && vm.max_dev_mode->value > Level::kManage) {
      out.push_back({vm.max_dev_mode->pos,
                     where + ".max_dev_mode is " + std::string(LevelName(vm.max_dev_mode->value)) +
                         ": grants may raise VM to full (any shell command)"});
    }
    if (vm.max_dev_duration_seconds && vm.max_dev_duration_seconds->value > default_dev) {
      out.push_back({vm.max_dev_duration_seconds->pos,
                     where + ".max_dev_duration " +
                         FormatDuration(vm.max_dev_duration_seconds->value) +
                         " is above the default " + FormatDuration(default_dev)});
    }
    // At manage by its level, or by a grant (`--level manage` is possible below a full cap).
    const bool may_manage = base == Level::kManage || (base < Level::kManage && vm.max_dev_mode &&
                                                       vm.max_dev_mode->value >= Level::kManage);
    if (!vm.targets && may_manage) {
      out.push_back({vm.pos, where +
                                 " may reach level manage and has no targets: <vm> in its manage "
                                 "rules names no VM, so they act on nothing (denied: no-targets); "
                                 "add targets: [names] or ['*'] (every VM except the protected "
                                 "ones) to let it manage other VMs"});
    }
    if (!vm.targets) {
      for (const Rule& rule : vm.allow) {
        if (!RuleUsesVm(rule)) continue;
        out.push_back({rule.pos, "rule '" + rule.text + "' uses <vm> and " + where +
                                     " has no targets: it matches no VM (denied: no-targets)"});
      }
      continue;
    }
    const auto& protected_vms = policy.defaults.protected_vms;
    for (std::size_t i = 0; i < vm.targets->size(); ++i) {
      const std::string& target = (*vm.targets)[i];
      const SourcePos pos = i < vm.target_item_pos.size() ? vm.target_item_pos[i] : vm.targets_pos;
      if (target == name) {
        out.push_back({pos, where + ".targets lists " + name +
                                " itself: <vm> never names the requesting VM (rules use <self>)"});
        continue;
      }
      if (IsVmPatternEntry(target)) continue;
      if (const std::string* p = ProtectedMatch(target, protected_vms.value)) {
        out.push_back({pos, where + ".targets names '" + target +
                                "' explicitly, a protected VM (pattern '" + *p + "' of " +
                                (protected_vms.pos.line > 0 ? protected_vms.pos.ToString()
                                                            : std::string("the built-in list")) +
                                "): the name wins, so <vm> may act on it"});
      }
    }
  }
  return out;
}

}  // namespace

int RunLint(Env& env, const CommonOptions& common, const std::vector<std::string>& paths) {
  LoadOptions options = common.MakeLoadOptions();
  if (!paths.empty()) {
    // PATHs replace the default directories; explicit --policy-dirs stay (loaded first), so a
    // drop-in file can be linted against the shipped option tables.
    options.dirs = common.policy_dirs;
    for (const auto& path : paths) {
      auto info = env.Stat(path);
      if (!info) {
        std::cerr << info.error().ToString() << "\n";
        return kExitFail;
      }
      if (!info->exists) {
        std::cerr << path << ": error: no such file or directory\n";
        return kExitFail;
      }
      if (info->is_dir) {
        options.dirs.push_back(path);
      } else {
        options.extra_files.push_back(path);  // linted whatever its name
      }
    }
  }
  auto policy = LoadPolicy(env, options);
  if (!policy) {
    std::cout << policy.error().ToString() << "\n";
    return kExitFail;
  }
  std::vector<Diagnostic> warnings = policy->warnings;
  for (auto& d : FindShadowedRules(*policy)) warnings.push_back(std::move(d));
  for (auto& d : VmWarnings(*policy)) warnings.push_back(std::move(d));
  // In load order: file, then line and column.
  auto file_index = [&](const std::string& f) {
    auto it = std::find(policy->files.begin(), policy->files.end(), f);
    return static_cast<std::size_t>(it - policy->files.begin());
  };
  std::stable_sort(warnings.begin(), warnings.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    return std::make_tuple(file_index(a.pos.file), a.pos.line, a.pos.column) <
           std::make_tuple(file_index(b.pos.file), b.pos.line, b.pos.column);
  });
  for (const auto& w : warnings) std::cout << w.ToString() << "\n";
  std::cout << "lint: " << policy->files.size() << " file(s), " << policy->rules.size()
            << " class rule(s), " << warnings.size() << " warning(s)\n";
  return kExitOk;
}

}  // namespace qvmr::tool
