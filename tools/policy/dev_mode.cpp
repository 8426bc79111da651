// `dev-mode grant|list|revoke`: dev-mode grants under the grants directory (CONTRACT.md
// "Grants"). A refused grant exits 2, revoking a VM that has no grant exits 1.
#include <iomanip>
#include <iostream>

#include "engine/base/units.h"
#include "engine/base/vm_name.h"
#include "tools/policy/policy_tool.h"

namespace qvmr::tool {

int RunDevModeGrant(Env& env, const CommonOptions& common, const std::string& vm,
                    const std::string& duration, const std::string& level_text) {
  if (!IsValidVmName(vm)) {
    std::cerr << "qvm-remote-policy: '" << vm << "' is not a valid VM name\n";
    return kExitUsage;
  }
  // The cap is the VM's max_dev_duration (MakeGrant); parse anything up to a year here so a long
  // duration is refused with the policy's reason, not as a malformed one.
  auto seconds = ParseDurationSeconds(duration, 366LL * 86400);
  if (!seconds) {
    std::cerr << "qvm-remote-policy: '" << duration
              << "' is not a duration such as 90s, 30m or 2h\n";
    return kExitUsage;
  }
  std::optional<Level> level;
  if (!level_text.empty()) {
    level = ParseLevel(level_text);
    if (!level) {
      std::cerr << "qvm-remote-policy: --level: '" << level_text
                << "' is not one of deny, read-only, monitor, manage, full\n";
      return kExitUsage;
    }
  }
  auto policy = LoadOrReport(env, common);
  if (!policy) return kExitUsage;
  const TimeMs now = env.NowMs();
  auto grant = MakeGrant(*policy, vm, *seconds, level, now, InvokingUser());
  if (!grant) {
    std::cerr << "qvm-remote-policy: grant refused: " << grant.error().message << "\n";
    return kExitUsage;
  }
  const std::string dir = common.GrantsDirectory();
  auto written = WriteGrant(env, dir, *grant);
  if (!written) {
    std::cerr << "qvm-remote-policy: " << written.error().ToString() << "\n";
    return kExitFail;
  }
  std::cout << "granted " << vm << " level " << LevelName(grant->level) << " until "
            << FormatTimeMs(grant->expires_ms) << " (" << FormatDuration(*seconds) << ", by "
            << grant->by << "): " << dir << "/" << vm << ".yaml\n";
  return kExitOk;
}

int RunDevModeList(Env& env, const CommonOptions& common) {
  GrantSet grants = LoadGrantsOrWarn(env, common.GrantsDirectory());
  // The policy, when it loads, tells whether a grant still has an effect (caps apply at once).
  LoadOptions options = common.MakeLoadOptions();
  auto policy = LoadPolicy(env, options);
  if (!policy) {
    std::cerr << "qvm-remote-policy: note: the policy does not load, so grants have no effect: "
              << policy.error().ToString() << "\n";
  }
  const TimeMs now = env.NowMs();
  if (grants.by_vm.empty()) {
    std::cout << "no grants\n";
    return kExitOk;
  }
  std::cout << std::left << std::setw(32) << "VM" << std::setw(10) << "LEVEL" << std::setw(26)
            << "EXPIRES" << std::setw(12) << "REMAINING"
            << "BY\n";
  for (const auto& [vm, g] : grants.by_vm) {
    std::string remaining;
    if (now >= g.expires_ms) {
      remaining = "expired";
    } else {
      remaining = FormatRemaining(g.expires_ms - now);
    }
    std::cout << std::left << std::setw(32) << vm << std::setw(10) << LevelName(g.level)
              << std::setw(26) << FormatTimeMs(g.expires_ms) << std::setw(12) << remaining << g.by;
    if (now < g.expires_ms && policy && !GrantedLevel(*policy, g, now)) {
      std::cout << "  (no effect: the policy no longer allows this grant)";
    } else if (now < g.expires_ms && policy) {
      auto granted = GrantedLevel(*policy, g, now);
      if (granted && *granted < g.level) {
        std::cout << "  (capped at " << LevelName(*granted) << ")";
      }
    }
    std::cout << "\n";
  }
  return kExitOk;
}

int RunDevModeRevoke(Env& env, const CommonOptions& common, const std::string& vm) {
  if (!IsValidVmName(vm)) {
    std::cerr << "qvm-remote-policy: '" << vm << "' is not a valid VM name\n";
    return kExitUsage;
  }
  const std::string dir = common.GrantsDirectory();
  const std::string path = dir + "/" + vm + ".yaml";
  auto info = env.Stat(path);
  if (!info) {
    std::cerr << "qvm-remote-policy: " << info.error().ToString() << "\n";
    return kExitFail;
  }
  if (!info->exists) {
    std::cerr << "qvm-remote-policy: " << vm << " has no grant (" << path << ")\n";
    return kExitFail;
  }
  auto removed = RevokeGrant(env, dir, vm);
  if (!removed) {
    std::cerr << "qvm-remote-policy: " << removed.error().ToString() << "\n";
    return kExitFail;
  }
  std::cout << "revoked the grant of " << vm << "\n";
  return kExitOk;
}

}  // namespace qvmr::tool
