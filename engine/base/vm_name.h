// Qubes VM names and the `protected` patterns that keep `<vm>` away from system VMs.
#ifndef QVMR_ENGINE_BASE_VM_NAME_H_
#define QVMR_ENGINE_BASE_VM_NAME_H_

#include <string_view>

namespace qvmr {

// Qubes' rule: ^[a-zA-Z][a-zA-Z0-9_.-]{0,30}$
bool IsValidVmName(std::string_view name);

// A `targets` or `protected` entry: a VM name, or a name in which `*` matches any run of
// characters (`sys-*`, `*-dvm`, `*`). No other metacharacter; it starts with a letter or `*`.
bool IsValidVmPattern(std::string_view pattern);
bool VmPatternMatches(std::string_view pattern, std::string_view name);

}  // namespace qvmr

#endif  // QVMR_ENGINE_BASE_VM_NAME_H_
