// HMAC/SHA-256 through OpenSSL 3's one-shot HMAC() and EVP_Digest() (no deprecated APIs), the
// strict `.auth` parser and cid shapes. Wire details: CONTRACT.md "Wire protocol v2",
// docs/protocol.md.
#include "engine/wire/token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstddef>
#include <vector>

namespace qvmr {
namespace {

constexpr std::size_t kDigestLen = 32;
constexpr std::size_t kMaxAuthBytes = 4096;
constexpr std::uint32_t kMaxTimeout = 86400;

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

bool IsLowerHexOfLength(std::string_view s, std::size_t n) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!IsLowerHex(c)) return false;
  }
  return true;
}

std::string ToHex(const unsigned char* data, std::size_t len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(len * 2, '\0');
  for (std::size_t i = 0; i < len; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0x0f];
  }
  return out;
}

// A non-null pointer for empty inputs (OpenSSL may treat a null key as "no key").
const unsigned char* Bytes(std::string_view s) {
  static const unsigned char kEmpty[1] = {0};
  return s.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

// Consumes a run of min..max characters satisfying pred from the front of s.
template <typename Pred>
bool TakeRun(std::string_view& s, std::size_t min, std::size_t max, Pred pred) {
  std::size_t n = 0;
  while (n < s.size() && n < max && pred(s[n])) ++n;
  if (n < min) return false;
  if (n < s.size() && pred(s[n])) return false;  // longer than max
  s.remove_prefix(n);
  return true;
}

bool TakeChar(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

// YYYYMMDD-HHMMSS-<pid>-<hex of hex_len>
bool MatchesTimedCid(std::string_view s, std::size_t hex_len) {
  return TakeRun(s, 8, 8, IsDigit) && TakeChar(s, '-') && TakeRun(s, 6, 6, IsDigit) &&
         TakeChar(s, '-') && TakeRun(s, 1, 10, IsDigit) && TakeChar(s, '-') &&
         TakeRun(s, hex_len, hex_len, IsLowerHex) && s.empty();
}

bool MatchesPingCid(std::string_view s) {
  constexpr std::string_view kPrefix = "ping-";
  if (s.substr(0, kPrefix.size()) != kPrefix) return false;
  s.remove_prefix(kPrefix.size());
  return TakeRun(s, 1, 20, IsDigit) && TakeChar(s, '-') && TakeRun(s, 1, 20, IsDigit) && s.empty();
}

Error Malformed(std::string message) {
  return MakeError("malformed-auth", std::move(message));
}

// 1..86400, decimal, no sign, no leading zeros.
bool ParseTimeout(std::string_view s, std::uint32_t* out) {
  if (s.empty() || s.size() > 5 || s.front() == '0') return false;
  std::uint32_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (v < 1 || v > kMaxTimeout) return false;
  *out = v;
  return true;
}

// A field name as printed in an error message: printable ASCII kept, anything else as \xNN.
std::string Quote(std::string_view s) {
  std::string out = "'";
  for (unsigned char c : s.substr(0, 64)) {
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static constexpr char kDigits[] = "0123456789abcdef";
      out += "\\x";
      out += kDigits[c >> 4];
      out += kDigits[c & 0x0f];
    }
  }
  if (s.size() > 64) out += "...";
  out += "'";
  return out;
}

}  // namespace

bool IsValidKey(std::string_view key) {
  return IsLowerHexOfLength(key, 64);
}

std::string HmacSha256Hex(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  unsigned char* r = HMAC(EVP_sha256(), Bytes(key), static_cast<int>(key.size()), Bytes(message),
                          message.size(), md.data(), &md_len);
  if (r == nullptr || md_len != kDigestLen) return std::string();  // never for SHA-256
  return ToHex(md.data(), md_len);
}

std::string Sha256Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  if (EVP_Digest(Bytes(data), data.size(), md.data(), &md_len, EVP_sha256(), nullptr) != 1 ||
      md_len != kDigestLen) {
    return std::string();  // never for SHA-256
  }
  return ToHex(md.data(), md_len);
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string TokenV1(std::string_view key, std::string_view cid) {
  return HmacSha256Hex(key, cid);
}

std::string MacMessageV2(std::string_view cid, const std::map<std::string, std::string>& fields,
                         std::string_view body_sha256_hex) {
  std::string msg = "qvm-remote-v2\n";
  msg += "cid=";
  msg += cid;
  msg += "\n";
  msg += "timeout=";
  if (auto it = fields.find("timeout"); it != fields.end()) msg += it->second;
  msg += "\n";
  // std::map<std::string, ...> orders by char_traits<char>::compare: bytewise, as unsigned char.
  for (const auto& [k, v] : fields) {
    if (k == "timeout" || k == "v" || k == "mac") continue;
    msg += k;
    msg += "=";
    msg += v;
    msg += "\n";
  }
  msg += "body-sha256=";
  msg += body_sha256_hex;
  msg += "\n";
  return msg;
}

std::string MacV2(std::string_view key, std::string_view cid,
                  const std::map<std::string, std::string>& fields, std::string_view body) {
  return HmacSha256Hex(key, MacMessageV2(cid, fields, Sha256Hex(body)));
}

std::string FormatAuthV2(const std::map<std::string, std::string>& fields, std::string_view mac) {
  std::string line = "v=2 timeout=";
  if (auto it = fields.find("timeout"); it != fields.end()) line += it->second;
  for (const auto& [k, v] : fields) {
    if (k == "timeout" || k == "v" || k == "mac") continue;
    line += " ";
    line += k;
    line += "=";
    line += v;
  }
  line += " mac=";
  line += mac;
  line += "\n";
  return line;
}

CidShape ClassifyCid(std::string_view cid) {
  if (MatchesTimedCid(cid, 16)) return CidShape::kV2;
  if (MatchesTimedCid(cid, 8)) return CidShape::kV1;
  if (MatchesPingCid(cid)) return CidShape::kV1Ping;
  return CidShape::kInvalid;
}

bool CidMatchesVersion(CidShape shape, int version) {
  switch (version) {
    case 1:
      return shape == CidShape::kV1 || shape == CidShape::kV1Ping;
    case 2:
      return shape == CidShape::kV2;
    default:
      return false;
  }
}

Result<AuthFile> ParseAuthFile(std::string_view text) {
  if (text.empty()) return Malformed("empty .auth file");
  if (text.size() > kMaxAuthBytes) return Malformed(".auth file longer than 4096 bytes");
  if (text.back() == '\n') text.remove_suffix(1);
  if (text.empty()) return Malformed(".auth file holds only a newline");
  for (unsigned char c : text) {
    if (c == '\0') return Malformed(".auth file contains a NUL byte");
    if (c == '\n') return Malformed(".auth file has more than one line");
    if (c == '\r') return Malformed(".auth file contains a carriage return (CRLF?)");
    if (c < 0x20 || c >= 0x7f) {
      return Malformed(".auth file contains a byte that is not printable ASCII");
    }
  }

  AuthFile auth;
  // v1: the bare token, no '=' anywhere.
  if (text.find('=') == std::string_view::npos) {
    if (!IsLowerHexOfLength(text, 64)) {
      return Malformed("v1 token must be exactly 64 lowercase hex characters");
    }
    auth.version = 1;
    auth.mac = std::string(text);
    return auth;
  }

  // v2: split on single spaces, no empty fields.
  std::vector<std::string_view> tokens;
  for (std::size_t start = 0;;) {
    std::size_t sp = text.find(' ', start);
    std::string_view tok = text.substr(start, sp == std::string_view::npos ? sp : sp - start);
    if (tok.empty()) {
      if (start == 0) return Malformed("leading space");
      if (sp == std::string_view::npos) return Malformed("trailing space");
      return Malformed("fields must be separated by single spaces");
    }
    tokens.push_back(tok);
    if (sp == std::string_view::npos) break;
    start = sp + 1;
  }

  std::vector<std::pair<std::string_view, std::string_view>> kvs;
  for (std::string_view tok : tokens) {
    std::size_t eq = tok.find('=');
    if (eq == std::string_view::npos) return Malformed("field " + Quote(tok) + " has no '='");
    if (eq == 0) return Malformed("field " + Quote(tok) + " has an empty key");
    kvs.emplace_back(tok.substr(0, eq), tok.substr(eq + 1));
  }

  if (kvs.front().first != "v") return Malformed("the first field must be v=2");
  if (kvs.front().second != "2") {
    return Malformed("unsupported version v=" + Quote(kvs.front().second) + " (expected v=2)");
  }
  if (kvs.size() < 2 || kvs.back().first != "mac") {
    return Malformed("the last field must be mac=<64 lowercase hex>");
  }
  if (!IsLowerHexOfLength(kvs.back().second, 64)) {
    return Malformed("mac must be exactly 64 lowercase hex characters");
  }

  for (std::size_t i = 1; i + 1 < kvs.size(); ++i) {
    auto [k, v] = kvs[i];
    if (k == "v" || k == "mac") {
      return Malformed("repeated key " + Quote(k));
    }
    if (k != "timeout" && k != "kind") return Malformed("unknown key " + Quote(k));
    if (auth.fields.count(std::string(k)) != 0) return Malformed("repeated key " + Quote(k));
    if (k == "timeout") {
      if (!ParseTimeout(v, &auth.timeout_seconds)) {
        return Malformed("timeout must be a decimal integer 1..86400 without leading zeros, got " +
                         Quote(v));
      }
    } else {  // kind
      if (v != "cmd" && v != "ping") {
        return Malformed("kind must be cmd or ping, got " + Quote(v));
      }
      auth.ping = v == "ping";
    }
    auth.fields.emplace(std::string(k), std::string(v));
  }
  if (auth.fields.count("timeout") == 0) return Malformed("missing required field timeout");

  auth.version = 2;
  auth.mac = std::string(kvs.back().second);
  return auth;
}

Status VerifyAuth(std::string_view key, std::string_view cid, const AuthFile& auth,
                  std::string_view body) {
  // CONTRACT.md's order (as ValidateRequest, engine/wire/validate.h): shape (5) before the key
  // (7) before the MAC (8).
  CidShape shape = ClassifyCid(cid);
  if (shape == CidShape::kInvalid) return MakeError("malformed", "request id has no valid shape");
  if (!CidMatchesVersion(shape, auth.version)) {
    return MakeError("malformed", "request id shape does not match .auth version v=" +
                                      std::to_string(auth.version));
  }
  if (!IsValidKey(key)) return MakeError("auth", "the VM's key is not 64 lowercase hex");
  std::string expected = auth.version == 1 ? TokenV1(key, cid) : MacV2(key, cid, auth.fields, body);
  if (expected.empty() || !ConstantTimeEqual(expected, auth.mac)) {
    return MakeError("auth",
                     auth.version == 1 ? "v1 token does not match" : "v2 mac does not match");
  }
  return Ok{};
}

}  // namespace qvmr
