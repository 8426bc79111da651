// Waiting for dom0's answer: inotify on `results/` (the `.exit`, placed last) and `pending/` (the
// body leaving it = claimed), with Ctrl-C read from a signalfd — never a sleep loop. Deadlines as
// CONTRACT.md "Wire protocol v2": a claimed request is waited for until claim + its budget, one
// that nothing claimed until submit + its budget; both are then withdrawn or abandoned by the
// caller, never here.
//
// Clock: CLOCK_MONOTONIC (a wall-clock jump neither cuts nor stretches a wait).
// Thread safety: one Waiter per request; SIGINT must be blocked in every thread (BlockSigint).
#ifndef QVMR_CLIENT_WAIT_H_
#define QVMR_CLIENT_WAIT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "client/queue.h"

namespace qvmr::client {

// Blocks SIGINT for the process just before a request is submitted, so Ctrl-C is read by WaitFor
// (and a request is never left half-written by a signal). Main thread; idempotent.
void BlockSigint();

// The +15 s CONTRACT.md gives dom0 beyond the timeout. Builds configured with
// -DQVMR_TEST_HOOKS=ON read QVM_REMOTE_TEST_GRACE_MS instead (a test hook, so script tests need
// not wait 15 s); other builds ignore it.
std::int64_t GraceMs();
bool TestHooksBuilt();

struct WaitBudget {
  std::int64_t unclaimed_ms = 0;           // from submit, while the body is still in pending/
  std::int64_t claimed_ms = 0;             // from the moment the claim is seen
  std::optional<std::int64_t> overall_ms;  // from submit, whatever happens (ping, status)
  bool progress = false;                   // `[qvm-remote] waiting... Ns/Ts` every 30 s on stderr
  std::uint32_t timeout_seconds = 0;       // for the progress line
};

enum class WaitEnd {
  kAnswered,         // results/<cid>.exit exists
  kNeverClaimed,     // the unclaimed budget (or overall) ran out: the caller withdraws
  kClaimedNoAnswer,  // claimed, and the claimed budget (or overall) ran out
  kInterrupted,      // Ctrl-C: the caller withdraws or reports the claim
};

struct WaitResult {
  WaitEnd end = WaitEnd::kAnswered;
  bool claimed = false;
};

// Waits for `cid` from just after its Submit. Error code "io" if inotify or the signalfd cannot
// be set up (the caller withdraws and fails; no fallback to polling).
Result<WaitResult> WaitFor(const Paths& paths, const std::string& cid, const WaitBudget& budget);

}  // namespace qvmr::client

#endif  // QVMR_CLIENT_WAIT_H_
