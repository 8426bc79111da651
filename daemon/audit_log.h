// The audit trail (CONTRACT.md "Logs and audit"): /var/log/qubes/qvm-remote-audit.jsonl, 0600,
// one JSON object per line per request that reached a decision or an answer:
//
//   {"v":1,"time":"2026-11-30T12:00:00.000Z","vm":"work","cid":"…","outcome":"denied",
//    "reason_code":"no-rule","policy":"<revision>|deny-all","decision":{…DecisionRecord…},
//    "text":{"excerpt":"…","sha256":"…","bytes":17},"exit":126,"duration_ms":3,
//    "stdout_bytes":0,"stderr_bytes":0,"truncated":""}
//
// `decision` is the engine's DecisionRecord (what `qvm-remote-policy check --json` prints) minus
// its `cmd` (the text is here once, bounded); a record longer than limits::kAuditRecordBytes
// loses `plan` and `commands` and gains "record_cut":true. `text` is absent when there was none.
//
// Budgets, so one key-holding VM cannot fill dom0's disk:
//   - identical failures (same VM, outcome and reason code, outcome not ok) are written at most
//     once a second; the ones withheld meanwhile are counted, and once the second has passed one
//     {"v":1,"summary":"repeated-failures",…,"count":N} line says how many (written by the next
//     Record or Flush)
//   - past limits::kAuditVolumePerMinuteBytes from one VM in a minute its excerpts drop to
//     limits::kAuditExcerptCappedBytes; past twice that, its lines are withheld and counted, and
//     one {"v":1,"summary":…} line per minute says how many, by outcome
//
// Time for the windows comes from the injected monotonic clock; `time` is the wall time given.
// Memory: a few counters per VM and failure class (bounded by the VMs served × reason codes).
// Thread safety: every method is safe for concurrent use (one mutex; one write(2) per line).
#ifndef QVMR_DAEMON_AUDIT_LOG_H_
#define QVMR_DAEMON_AUDIT_LOG_H_

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/backoff.h"
#include "engine/base/limits.h"
#include "engine/base/result.h"
#include "engine/base/units.h"

namespace qvmr {

struct AuditEntry {
  TimeMs time_ms = 0;  // wall time of the answer
  std::string vm;
  std::string cid;
  std::string outcome;                     // OutcomeName
  std::string reason_code;                 // "" when none
  std::string policy;                      // the revision the request met, or "deny-all"
  std::optional<nlohmann::json> decision;  // DecisionRecord, when a decision was made
  std::optional<std::string_view> text;    // the VM's text (body); nullopt = none claimed
  std::optional<std::int64_t> exit;
  std::optional<std::int64_t> duration_ms;
  std::uint64_t stdout_bytes = 0;
  std::uint64_t stderr_bytes = 0;
  std::string truncated;
};

struct AuditLogOptions {
  MonotonicMs failure_interval_ms = 1000;
  MonotonicMs volume_window_ms = 60000;
  std::size_t volume_bytes = limits::kAuditVolumePerMinuteBytes;
};

class AuditLog {
 public:
  // Appends to `path` (created 0600, its directory 0750 when missing); an existing file keeps its
  // owner but is chmod'ed to 0600. Fails when it cannot be opened.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& path, MonotonicClock clock,
                                                AuditLogOptions options = {});
  ~AuditLog();  // writes the summaries still owed

  // Writes `entry`'s line, or counts it under the budgets above. A failed write is dropped (the
  // text log says so once a minute through the caller's limiter; here it is counted).
  void Record(const AuditEntry& entry);
  // Writes the summaries whose window has passed. Cheap; call it on every sweep.
  void Flush();

  std::uint64_t write_failures() const;

  // The line Record would write for `entry` with excerpts of `excerpt_bytes` (no newline).
  static std::string Format(const AuditEntry& entry, std::size_t excerpt_bytes);

 private:
  struct Failure {  // one (vm, outcome, reason) class
    MonotonicMs last_written = 0;
    bool written = false;
    std::uint64_t withheld = 0;
  };
  struct Volume {  // one VM's minute
    MonotonicMs window_start = 0;
    std::uint64_t bytes = 0;
    std::map<std::string, std::uint64_t> withheld;  // by outcome
  };
  AuditLog(int fd, MonotonicClock clock, AuditLogOptions options);
  void WriteLine(std::string line);  // REQUIRES: mu_ held
  void FlushLocked(MonotonicMs now, bool all);

  int fd_;
  MonotonicClock clock_;
  AuditLogOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Failure> failures_;
  std::map<std::string, Volume> volumes_;
  std::uint64_t write_failures_ = 0;
};

// The VM-side line for ~/.qvm-remote/audit.log, the reference's format:
// "[<time>] id=<cid> exit=<status> duration=<ms>ms" (time RFC 3339 UTC with milliseconds).
std::string VmAuditLine(TimeMs time_ms, std::string_view cid, std::string_view exit,
                        std::int64_t duration_ms);

}  // namespace qvmr

#endif  // QVMR_DAEMON_AUDIT_LOG_H_
