// Fuzzes the policy file reader: any bytes must give a policy or an Error with a position inside
// the file, never a crash, an exception or a hang.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/policy/policy_yaml.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  qvmr::PolicyDraft draft;
  qvmr::Status st = qvmr::ApplyPolicyFile(draft, "fuzz.yaml", text);
  if (!st.ok()) {
    const qvmr::Error& e = st.error();
    if (e.code.empty() || e.pos.file != "fuzz.yaml") std::abort();
  }
  return 0;
}
