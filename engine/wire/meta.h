// `results/<cid>.meta`: the answer's facts as `key=value\n` lines. The reference's four keys (`id`,
// `started`, `duration_ms`, `exit_code`) first, then ours. CONTRACT.md "Wire protocol v2"
// (Results); docs/protocol.md §8. The daemon encodes it; the client decodes it.
//
// Format version: 2 (v1 = the reference's four keys). History: 2 added outcome, decision, level,
// rule, reason_code, reason, executor, truncated, grant, policy.
//
// Escaping: a value's `%`, control bytes (< 0x20, 0x7f) and non-ASCII bytes (>= 0x80) are written
// `%XX` (upper-case hex), so every line is printable ASCII whatever the engine's message quoted,
// and a value can never start a new line. Keys are `[a-z0-9_]{1,32}`.
//
// Unknown keys: kept, in order, in `Meta::unknown` (bounded), never an error — a newer daemon may
// add keys, and the client still shows what it knows. Everything else that deviates (a line
// without `=`, a bad key, a repeated key, a raw control or non-ASCII byte, a malformed escape, a
// number that does not parse, an outcome not in engine/base/codes.h, a missing final newline,
// more than limits::kMaxMetaBytes) is an Error with code "malformed-meta".
//
// Use: the daemon fills a Meta (outcome, the decision's fields, Policy::revision) and writes
// EncodeMeta(meta) to `results/<cid>.meta` before `.exit`; the client reads it with DecodeMeta and
// passes meta.outcome and the `.exit` text to ClientExitStatus (engine/wire/exit_status.h).
//
// Thread safety: pure functions; safe for concurrent use.
#ifndef QVMR_ENGINE_WIRE_META_H_
#define QVMR_ENGINE_WIRE_META_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/base/codes.h"
#include "engine/base/result.h"

namespace qvmr {

inline constexpr int kMetaFormatVersion = 2;
// Unknown keys the decoder keeps; more is malformed (a .meta is dom0's, but bounded anyway).
inline constexpr std::size_t kMaxMetaUnknownKeys = 32;

struct Meta {
  // The reference's keys.
  std::string id;       // the cid
  std::string started;  // claim time, RFC 3339 UTC with milliseconds
  std::optional<std::int64_t> duration_ms;
  std::optional<std::int64_t> exit_code;  // the `.exit` status (-N for a signal)
  // Ours. Absent from a reference daemon's .meta: outcome is then nullopt, the strings empty.
  std::optional<Outcome> outcome;
  std::string decision;     // "allow", "deny" or "" (no decision: a ping, a refusal)
  std::string level;        // the effective level
  std::string rule;         // file:line of the deciding rule or pattern
  std::string reason_code;  // ReasonCodeName or the engine's deny code
  std::string reason;       // the decision record's message or the refusal's line
  std::string executor;     // "argv", "shell", "dry-run", ""
  std::string truncated;    // "", "stdout", "stderr", "stdout,stderr", "spool-full"
  std::string grant;        // the grant's expires (RFC 3339), or ""
  std::string policy;       // the policy revision (engine/policy/policy.h), or ""
  std::vector<std::pair<std::string, std::string>> unknown;  // decoded, never encoded twice

  bool operator==(const Meta&) const = default;
};

// Every known key, one line each, in the order of the struct (numbers and outcome only when
// set), then `unknown` in order. Values escaped as above. Never fails.
std::string EncodeMeta(const Meta& meta);

// Strict and bounded, as above. Reads nothing past text.size(); allocates at most its size.
Result<Meta> DecodeMeta(std::string_view text);

// The value escaping alone: `%XX` for %, bytes < 0x20, 0x7f and >= 0x80.
std::string PercentEscape(std::string_view value);
// Its inverse; also refuses raw bytes that PercentEscape would have escaped. Either hex case.
Result<std::string> PercentUnescape(std::string_view escaped);

}  // namespace qvmr

#endif  // QVMR_ENGINE_WIRE_META_H_
