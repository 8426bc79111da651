// Links qvmr_wire (and, through it, qvmr_base) and nothing else: what client/ may link. It calls
// into every part of the wire library so the linker keeps them; tests/layering/tests.cmake then
// checks the binary needs neither yaml-cpp nor RE2 (docs/design.md "Layering").
#include <cstdio>

#include "engine/wire/exit_status.h"
#include "engine/wire/freshness.h"
#include "engine/wire/meta.h"
#include "engine/wire/token.h"
#include "engine/wire/validate.h"

int main() {
  qvmr::ValidationInput in;
  in.name = "20261123-004500-123-0123456789abcdef";
  qvmr::Validation v = qvmr::ValidateRequest(in);
  qvmr::Meta meta;
  meta.id = std::string(in.name);
  auto decoded = qvmr::DecodeMeta(qvmr::EncodeMeta(meta));
  std::printf("%d %d %d %s\n", v.step, decoded.ok() ? 1 : 0,
              qvmr::ClientExitStatus(qvmr::Outcome::kOk, "0"),
              qvmr::Sha256Hex("").substr(0, 8).c_str());
  return 0;
}
