// Request authentication: the v1 token (the reference's, HMAC over the cid only) and the v2 MAC
// (binds version, cid, every request option and the body's SHA-256), the strict `.auth` parser,
// and cid shape checks. Wire details: CONTRACT.md "Wire protocol v2", docs/protocol.md.
//
// The HMAC key is always the 64 lowercase hex characters *as ASCII bytes*, as in the reference.
//
// Thread safety: every function is pure (OpenSSL's one-shot HMAC()/EVP_Digest() keep no shared
// state) and safe for concurrent use. Failure: parsers return an Error with a stable code; the
// digest functions cannot fail for SHA-256 (they return "" if OpenSSL could not allocate, which
// never compares equal to a MAC). Limits: `.auth` ≤ limits::kMaxAuthBytes.
#ifndef QVMR_ENGINE_WIRE_TOKEN_H_
#define QVMR_ENGINE_WIRE_TOKEN_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "engine/base/result.h"

namespace qvmr {

// `^[0-9a-f]{64}$`.
bool IsValidKey(std::string_view key);

// Lowercase hex of HMAC-SHA256(key, message).
std::string HmacSha256Hex(std::string_view key, std::string_view message);
// Lowercase hex of SHA-256(data).
std::string Sha256Hex(std::string_view data);

// Compares in time that depends only on the lengths, never on where the bytes differ.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

// v1: hex HMAC-SHA256(key, cid).
std::string TokenV1(std::string_view key, std::string_view cid);

// The v2 MAC message: "qvm-remote-v2\n" "cid=<cid>\n" "timeout=<t>\n", every other field
// except v, mac and timeout as "key=value\n" sorted bytewise by key, then
// "body-sha256=<hex>\n". `fields` holds every .auth field except `v` and `mac` (so timeout too).
std::string MacMessageV2(std::string_view cid, const std::map<std::string, std::string>& fields,
                         std::string_view body_sha256_hex);
std::string MacV2(std::string_view key, std::string_view cid,
                  const std::map<std::string, std::string>& fields, std::string_view body);

// The `.auth` line a v2 client writes: "v=2 timeout=<t>", every other field of `fields` (except
// v, mac, timeout) as " key=value" in key order, " mac=<mac>", then "\n".
std::string FormatAuthV2(const std::map<std::string, std::string>& fields, std::string_view mac);

enum class CidShape { kInvalid, kV1, kV1Ping, kV2 };
// v2: ^[0-9]{8}-[0-9]{6}-[0-9]{1,10}-[0-9a-f]{16}$; v1: same with 8 hex; ping: ping-<d>-<d>
// (digits, each 1..20). Anything else (slashes, quotes, spaces, dots, ...) is kInvalid.
CidShape ClassifyCid(std::string_view cid);
// The cid's shape must match the `.auth` version: v2 ↔ kV2; v1 ↔ kV1 or kV1Ping.
bool CidMatchesVersion(CidShape shape, int version);

// A parsed `.auth` file.
struct AuthFile {
  int version = 0;                            // 1 or 2
  std::string mac;                            // 64 lowercase hex
  std::map<std::string, std::string> fields;  // v2: timeout (required), kind (optional)
  std::uint32_t timeout_seconds = 0;          // v2 only
  bool ping = false;                          // v2 kind=ping
};

// Strict parse. v1: exactly 64 lowercase hex, optionally one trailing "\n". v2: one line
// `v=2 key=value ... mac=<64 hex>` with single spaces, `v=2` first and `mac` last, known keys
// only (timeout: 1..86400 decimal without leading zeros, required; kind: cmd|ping), no repeats,
// at most one trailing "\n". Any deviation is an Error with code "malformed-auth" whose message
// says what was wrong. Also refused: NUL, CR or any other byte outside printable ASCII and
// space, and files over 4096 bytes. `fields` keeps the values exactly as written (for the MAC).
Result<AuthFile> ParseAuthFile(std::string_view text);

// Authenticates a parsed request, in CONTRACT.md's order: the cid's shape must be valid and match
// auth.version (else code "malformed"); then `key` must be valid (else code "auth"); then the v1
// token or v2 MAC (over `body`) must equal auth.mac, compared in constant time (else "auth").
// The daemon calls ValidateRequest (engine/wire/validate.h), which runs the whole table with
// reason codes; this is the authentication part alone. Thread safety: pure.
Status VerifyAuth(std::string_view key, std::string_view cid, const AuthFile& auth,
                  std::string_view body);

}  // namespace qvmr

#endif  // QVMR_ENGINE_WIRE_TOKEN_H_
