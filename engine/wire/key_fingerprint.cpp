#include "engine/wire/key_fingerprint.h"

#include "engine/wire/token.h"

namespace qvmr {

std::string KeyFingerprint(std::string_view key) {
  return Sha256Hex(key).substr(0, kKeyFingerprintHexChars);
}

Result<std::string> ParseKeyText(std::string_view text) {
  constexpr std::size_t kKeyChars = 64;
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  // Said first: a key saved with Windows line endings otherwise looks like a length problem.
  if (text.find('\r') != std::string_view::npos) {
    return MakeError("bad-key", "a key line must end in \"\\n\", not \"\\r\\n\"");
  }
  if (text.size() != kKeyChars) {
    // The length only: the text may be a secret with one character missing.
    return MakeError("bad-key", "a key is 64 hex digits on one line; got " +
                                    std::to_string(text.size()) + " characters");
  }
  std::string key(text);
  for (char& c : key) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!hex) {
      return MakeError("bad-key", "a key holds only the hex digits 0-9 and a-f");
    }
  }
  return key;
}

}  // namespace qvmr
