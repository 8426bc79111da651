// Fuzzes grant files and the time/duration/size parsers. Invariants: a parsed grant serializes
// to text that parses back to the same grant; a parsed time formats and re-parses to itself.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/base/units.h"
#include "engine/decide/grants.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)qvmr::ParseDurationSeconds(text, 86400);
  (void)qvmr::ParseSizeBytes(text, 1ull << 30);
  if (auto t = qvmr::ParseTimeMs(text)) {
    if (qvmr::ParseTimeMs(qvmr::FormatTimeMs(*t)) != t) std::abort();
  }
  auto grant = qvmr::ParseGrant(text, "g.yaml");
  if (grant.ok()) {
    auto again = qvmr::ParseGrant(qvmr::SerializeGrant(*grant), "g.yaml");
    if (!again.ok() || again->vm != grant->vm || again->level != grant->level ||
        again->expires_ms != grant->expires_ms || again->created_ms != grant->created_ms) {
      std::abort();
    }
  }
  return 0;
}
