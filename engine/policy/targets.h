// What `<vm>` may name in a requesting VM's `manage` class rules and in its own `allow` rules:
// its `targets` (CONTRACT.md "Policy files"; docs/policy-reference.md "Targets").
//
//  - No `targets` → no VM at all (deny code `no-targets`): a VM is opted in to acting on other
//    VMs by name, never by default.
//  - A name in `targets` is a target, even a protected one (the administrator wrote it; lint
//    warns).
//  - A `*` pattern (`agent-*`, or `*` for every VM) covers the names it matches except the
//    `protected` ones (defaults.protected: the default install's service, management,
//    disposable-template, offline, Tor and template qubes).
//  - Never the requesting VM itself, even if listed: rules say `<self>` for that.
//
// Cost: one pass over the targets and, for a pattern match, over the protected patterns; each
// glob test is O(pattern × name) at worst, both at most 31 bytes. No allocation.
// Thread safety: pure functions.
#ifndef QVMR_ENGINE_POLICY_TARGETS_H_
#define QVMR_ENGINE_POLICY_TARGETS_H_

#include <string>
#include <string_view>
#include <vector>

namespace qvmr {

// The built-in `defaults.protected` (CONTRACT.md), in the order it is documented.
const std::vector<std::string>& DefaultProtectedVms();

// True if a `targets` or `protected` entry is a pattern (holds `*`), false if it is a name.
bool IsVmPatternEntry(std::string_view entry);

enum class TargetVerdict {
  kTarget,     // named in targets, or matched by a targets pattern and not protected
  kRequester,  // the requesting VM itself: never a target
  kNoTargets,  // the requesting VM has no `targets`: `<vm>` names no VM
  kNotListed,  // no name or pattern of `targets` covers it
  kProtected,  // only patterns cover it, and a `protected` pattern takes it out
};

// Whether `vm` (a valid VM name) is a target of `requester`. `targets` null: none set.
TargetVerdict ClassifyTarget(std::string_view vm, std::string_view requester,
                             const std::vector<std::string>* targets,
                             const std::vector<std::string>& protected_patterns);

// The first protected pattern that matches `vm`, or nullptr.
const std::string* ProtectedMatch(std::string_view vm,
                                  const std::vector<std::string>& protected_patterns);

// One line for messages and `list`: what `<vm>` names for `requester`, e.g.
// "work, personal, and any VM matching 'agent-*' that is not protected (dom0, sys-*, ...);
// never agent itself", or "no VM (no targets)".
std::string DescribeTargets(const std::vector<std::string>* targets,
                            const std::vector<std::string>& protected_patterns,
                            std::string_view requester);

}  // namespace qvmr

#endif  // QVMR_ENGINE_POLICY_TARGETS_H_
