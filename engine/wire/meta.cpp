// `.meta` encoding and strict decoding. engine/wire/meta.h.
#include "engine/wire/meta.h"

#include <array>

#include "engine/base/limits.h"

namespace qvmr {
namespace {

constexpr std::size_t kMaxKeyBytes = 32;

Error Malformed(std::string message) {
  return MakeError("malformed-meta", std::move(message));
}

bool NeedsEscape(unsigned char b) {
  return b == '%' || b < 0x20 || b >= 0x7f;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsKey(std::string_view k) {
  if (k.empty() || k.size() > kMaxKeyBytes) return false;
  for (char c : k) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// An optional leading '-', then 1..18 digits without leading zeros.
std::optional<std::int64_t> ParseInt(std::string_view s) {
  bool negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty() || s.size() > 18 || (s.size() > 1 && s.front() == '0')) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return negative ? -v : v;
}

void Line(std::string& out, std::string_view key, std::string_view value) {
  out.append(key).append("=").append(PercentEscape(value)).append("\n");
}

// The string fields, by key, in encoding order.
template <typename M>
auto StringFields(M& m) {
  return std::array<std::pair<std::string_view, decltype(&m.id)>, 11>{{
      {"id", &m.id},
      {"started", &m.started},
      {"decision", &m.decision},
      {"level", &m.level},
      {"rule", &m.rule},
      {"reason_code", &m.reason_code},
      {"reason", &m.reason},
      {"executor", &m.executor},
      {"truncated", &m.truncated},
      {"grant", &m.grant},
      {"policy", &m.policy},
  }};
}

}  // namespace

std::string PercentEscape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    auto b = static_cast<unsigned char>(c);
    if (NeedsEscape(b)) {
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::string> PercentUnescape(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    auto b = static_cast<unsigned char>(escaped[i]);
    if (b == '%') {
      int hi = i + 1 < escaped.size() ? HexValue(escaped[i + 1]) : -1;
      int lo = i + 2 < escaped.size() ? HexValue(escaped[i + 2]) : -1;
      if (hi < 0 || lo < 0) return Malformed("a '%' not followed by two hex digits");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (NeedsEscape(b)) {
      return Malformed("a control or non-ASCII byte that should have been escaped");
    } else {
      out += static_cast<char>(b);
    }
  }
  return out;
}

std::string EncodeMeta(const Meta& m) {
  std::string out;
  Line(out, "id", m.id);
  Line(out, "started", m.started);
  if (m.duration_ms) Line(out, "duration_ms", std::to_string(*m.duration_ms));
  if (m.exit_code) Line(out, "exit_code", std::to_string(*m.exit_code));
  if (m.outcome) Line(out, "outcome", OutcomeName(*m.outcome));
  for (const auto& [key, field] : StringFields(m)) {
    if (key == "id" || key == "started") continue;
    Line(out, key, *field);
  }
  for (const auto& [key, value] : m.unknown) Line(out, key, value);
  return out;
}

Result<Meta> DecodeMeta(std::string_view text) {
  if (text.size() > limits::kMaxMetaBytes) {
    return Malformed(".meta is larger than " + std::to_string(limits::kMaxMetaBytes) + " bytes");
  }
  if (text.empty()) return Malformed(".meta is empty");
  if (text.back() != '\n') return Malformed(".meta does not end with a newline");
  Meta m;
  std::vector<std::string> seen;
  auto fields = StringFields(m);
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) return Malformed("a line without '='");
    std::string_view key = line.substr(0, eq);
    if (!IsKey(key)) return Malformed("a key that is not [a-z0-9_]{1,32}");
    for (const auto& s : seen) {
      if (s == key) return Malformed("repeated key " + std::string(key));
    }
    seen.emplace_back(key);
    auto value = PercentUnescape(line.substr(eq + 1));
    if (!value) return Malformed(value.error().message + " in " + std::string(key));

    bool known = false;
    for (const auto& [k, field] : fields) {
      if (k == key) {
        *field = std::move(*value);
        known = true;
        break;
      }
    }
    if (known) continue;
    if (key == "duration_ms" || key == "exit_code") {
      std::optional<std::int64_t> n = ParseInt(*value);
      if (!n) return Malformed(std::string(key) + " is not a decimal integer");
      (key == "duration_ms" ? m.duration_ms : m.exit_code) = n;
    } else if (key == "outcome") {
      m.outcome = OutcomeFromName(*value);
      if (!m.outcome) return Malformed("unknown outcome");
    } else {
      if (m.unknown.size() >= kMaxMetaUnknownKeys) return Malformed("too many unknown keys");
      m.unknown.emplace_back(std::string(key), std::move(*value));
    }
  }
  return m;
}

}  // namespace qvmr
