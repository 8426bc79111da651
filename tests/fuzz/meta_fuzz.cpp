// Fuzzes the .meta codec (engine/wire/meta.h). Invariants: whatever decodes re-encodes to text
// that decodes to the same Meta; encoded text is printable ASCII lines; escaping any bytes and
// unescaping them gives them back.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/wire/meta.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);

  const std::string escaped = qvmr::PercentEscape(in);
  auto back = qvmr::PercentUnescape(escaped);
  if (!back.ok() || *back != in) std::abort();

  auto meta = qvmr::DecodeMeta(in);
  if (!meta.ok()) {
    if (meta.error().code != "malformed-meta") std::abort();
    return 0;
  }
  const std::string encoded = qvmr::EncodeMeta(*meta);
  for (unsigned char c : encoded) {
    if (c != '\n' && (c < 0x20 || c >= 0x7f)) std::abort();
  }
  auto again = qvmr::DecodeMeta(encoded);
  if (!again.ok() || !(*again == *meta)) std::abort();
  return 0;
}
