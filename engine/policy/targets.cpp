#include "engine/policy/targets.h"

#include "engine/base/vm_name.h"

namespace qvmr {
namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

const std::vector<std::string>& DefaultProtectedVms() {
  // dom0; service qubes (sys-net, sys-firewall, sys-usb, ...); the management disposables and
  // their template; every disposable template (`*-dvm`, whose changes reach every disposable
  // made from it); the offline vault; Whonix (Tor) and the templates (their changes reach every
  // qube based on them).
  static const std::vector<std::string> kProtected = {
      "dom0",  "sys-*",       "disp-mgmt-*", "default-mgmt-dvm", "*-dvm",
      "vault", "anon-whonix", "whonix-*",    "fedora-*",         "debian-*"};
  return kProtected;
}

bool IsVmPatternEntry(std::string_view entry) {
  return entry.find('*') != std::string_view::npos;
}

const std::string* ProtectedMatch(std::string_view vm,
                                  const std::vector<std::string>& protected_patterns) {
  for (const auto& p : protected_patterns) {
    if (VmPatternMatches(p, vm)) return &p;
  }
  return nullptr;
}

TargetVerdict ClassifyTarget(std::string_view vm, std::string_view requester,
                             const std::vector<std::string>* targets,
                             const std::vector<std::string>& protected_patterns) {
  if (vm == requester) return TargetVerdict::kRequester;
  if (!targets) return TargetVerdict::kNoTargets;
  bool pattern_match = false;
  for (const auto& t : *targets) {
    if (!IsVmPatternEntry(t)) {
      if (t == vm) return TargetVerdict::kTarget;  // an explicit name wins over `protected`
    } else if (!pattern_match && VmPatternMatches(t, vm)) {
      pattern_match = true;
    }
  }
  if (!pattern_match) return TargetVerdict::kNotListed;
  return ProtectedMatch(vm, protected_patterns) ? TargetVerdict::kProtected
                                                : TargetVerdict::kTarget;
}

std::string DescribeTargets(const std::vector<std::string>* targets,
                            const std::vector<std::string>& protected_patterns,
                            std::string_view requester) {
  if (!targets) return "no VM (no targets)";
  std::vector<std::string> names, patterns;
  for (const auto& t : *targets) {
    if (t == requester) continue;
    (IsVmPatternEntry(t) ? patterns : names).push_back(t);
  }
  std::string out = Join(names);
  if (!patterns.empty()) {
    std::string quoted;
    for (const auto& p : patterns)
      quoted += std::string(quoted.empty() ? "" : ", ") + "'" + p + "'";
    out += std::string(out.empty() ? "" : ", and ") + "any VM matching " + quoted +
           " that is not protected (" + Join(protected_patterns) + ")";
  }
  if (out.empty()) out = "no VM";
  return out + "; never " + std::string(requester) + " itself";
}

}  // namespace qvmr
