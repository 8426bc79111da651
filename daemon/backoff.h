// Retry pacing for the per-VM loops, and a rate limiter for repetitive log lines. Both are pure:
// time comes from an injected clock, nothing is slept, nothing is logged here.
//
//   Backoff     per key (a VM, or a VM's undelivered result): after a failure the key may be
//               tried again only after a delay that starts at 1 s and doubles up to 60 s; a
//               success forgets the key. So a halted VM or a VM whose script keeps failing costs
//               at most one call a minute, and a VM that comes back is served within its delay.
//   LogLimiter  per fault class (e.g. "vm1 frame-cut-short"): the first occurrence is logged,
//               the rest of its interval only counted; once the interval has passed, the count is
//               handed back as one summary line and the next occurrence is logged again. A VM
//               that fails every sweep thus writes a line a minute, not ten a second.
//
// Memory: one small entry per key / fault class, with a bound on both (keys are VM names and
// cids, which dom0 bounds already; this is the last line of defence): Backoff stops tracking new
// keys past its bound (they are then always ready: a retry too many, never a request lost), and
// LogLimiter counts new classes under one "(other)" class.
//
// Thread safety: every method of both classes is safe for concurrent use (one mutex each).
#ifndef QVMR_DAEMON_BACKOFF_H_
#define QVMR_DAEMON_BACKOFF_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/processes.h"

namespace qvmr {

// The clock both classes read: milliseconds on a monotonic clock (Processes::NowMonotonicMs in
// the daemon, a variable in tests).
using MonotonicClock = std::function<MonotonicMs()>;

struct BackoffOptions {
  MonotonicMs initial_ms = 1000;  // the delay after the first failure
  MonotonicMs max_ms = 60000;     // the delay never exceeds this
  std::size_t max_keys = 4096;    // keys beyond this are not tracked (always ready)
};

class Backoff {
 public:
  explicit Backoff(MonotonicClock clock, BackoffOptions options = {});

  // True when `key` may be tried now: it never failed, or its delay has passed.
  bool Ready(const std::string& key) const;
  // Milliseconds until `key` may be tried (0 when Ready).
  MonotonicMs WaitMs(const std::string& key) const;
  // Records a failed try at now: the next try waits initial_ms after the first failure, then
  // twice the previous delay, at most max_ms. Returns the delay chosen.
  MonotonicMs Failure(const std::string& key);
  // Records a success: the key is forgotten (its next failure waits initial_ms again).
  void Success(const std::string& key);
  // Consecutive failures of `key` since its last success (0 if none).
  std::uint32_t Failures(const std::string& key) const;

 private:
  struct Entry {
    std::uint32_t failures = 0;
    MonotonicMs delay_ms = 0;
    MonotonicMs next_ms = 0;
  };
  MonotonicClock clock_;
  BackoffOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
};

struct LogLimiterOptions {
  MonotonicMs interval_ms = 60000;
  std::size_t max_classes = 1024;  // beyond this, new classes count under "(other)"
};

class LogLimiter {
 public:
  explicit LogLimiter(MonotonicClock clock, LogLimiterOptions options = {});

  // True when this occurrence of `fault_class` should be logged: the first one, or the first
  // after its interval has passed. Otherwise the occurrence is counted for a summary.
  bool ShouldLog(std::string_view fault_class);

  // The occurrences not logged, per class whose interval has passed: ("vm1 frame-cut-short",
  // 17). Each count is returned once; classes with nothing suppressed return nothing. Call it
  // on every sweep and log each pair as "... 17 more times". Classes quiet for a whole interval
  // are forgotten here.
  std::vector<std::pair<std::string, std::uint64_t>> TakeSummaries();

 private:
  struct Entry {
    MonotonicMs window_start = 0;
    std::uint64_t suppressed = 0;  // counted in the current interval
    std::uint64_t owed = 0;        // counted in past intervals, not yet summarised
    bool logged = false;           // an occurrence was logged in the current interval
  };
  // Starts a new interval when the current one has passed, moving its count to `owed`.
  void Roll(Entry& e, MonotonicMs now) const;

  MonotonicClock clock_;
  LogLimiterOptions options_;
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_BACKOFF_H_
