// Key text and key fingerprints, shared by the VM client (`qvm-remote key show|import`) and dom0
// (`qvm-remote-dom0 authorize|keys`), so both sides print the same fingerprint for one key.
// CONTRACT.md "Commands", "Wire protocol v2" (keys).
#ifndef QVMR_ENGINE_WIRE_KEY_FINGERPRINT_H_
#define QVMR_ENGINE_WIRE_KEY_FINGERPRINT_H_

#include <string>
#include <string_view>

#include "engine/base/result.h"

namespace qvmr {

// Hex digits of a fingerprint: enough to tell keys apart by eye, far too few to help guess one.
inline constexpr std::size_t kKeyFingerprintHexChars = 16;

// The first 16 lowercase hex of SHA-256 over the key's 64 ASCII characters (not the 32 bytes
// they encode). Equals `printf %s KEY | sha256sum | cut -c1-16`.
// REQUIRES: IsValidKey(key) (engine/wire/token.h); any other input is hashed as given.
std::string KeyFingerprint(std::string_view key);

// A key as a person or a file holds it: exactly 64 hex digits, either case, optionally followed
// by one "\n" (what `cat` and `echo` produce). Returns the key lowercased — the form both sides
// MAC with — or an Error with code "bad-key" saying what was wrong, never quoting the text
// (it may be a real key pasted wrong). Refused: CR (a key saved on Windows), spaces, a second
// newline, any other byte, any other length. Cost: linear in the text.
Result<std::string> ParseKeyText(std::string_view text);

}  // namespace qvmr

#endif  // QVMR_ENGINE_WIRE_KEY_FINGERPRINT_H_
