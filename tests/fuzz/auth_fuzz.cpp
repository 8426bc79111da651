// Fuzzes `.auth` parsing and verification: the first line of the input is the cid, the rest the
// .auth text. Invariants: a parsed file re-formats to a line that parses to the same fields; a
// cid of an invalid shape never verifies.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/wire/token.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  std::size_t nl = input.find('\n');
  std::string cid = input.substr(0, nl);
  std::string auth_text = nl == std::string::npos ? "" : input.substr(nl + 1);
  const std::string key(64, 'a');

  qvmr::CidShape shape = qvmr::ClassifyCid(cid);
  auto auth = qvmr::ParseAuthFile(auth_text);
  if (!auth.ok()) return 0;
  if (auth->mac.size() != 64) std::abort();
  if (auth->version == 2) {
    auto again = qvmr::ParseAuthFile(qvmr::FormatAuthV2(auth->fields, auth->mac));
    if (!again.ok() || again->fields != auth->fields || again->mac != auth->mac) std::abort();
  }
  auto verified = qvmr::VerifyAuth(key, cid, *auth, "body");
  if (verified.ok() && shape == qvmr::CidShape::kInvalid) std::abort();
  return 0;
}
