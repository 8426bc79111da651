// The per-VM loop of the serving daemon: one thread per VM runs VmLoop::Run, so a VM that stalls,
// floods or lies delays no other VM. One step of the loop:
//
//   1. the VM's state (vm_state.h; nullptr oracle = always Running, for the local transport):
//        Running  go on;
//        Halted, Paused, other, unknown
//                 no call at all (a paused VM's call would hang, a halted one's does nothing);
//                 its undelivered answers are kept, and the next sweep once it runs is a
//                 `recover` (running/ entries claimed but never journaled are offered again);
//        Missing  the VM is gone: once it has been missing for missing_grace_ms (a qvm-ls
//                 caught mid-rename must not cost results), every answer held for it is
//                 dropped (journaled ones marked abandoned, finished → abandoned) with one log
//                 line; nothing is called;
//   2. deliver the answers waiting for it, unless a failed delivery still backs off;
//   3. sweep (one fetch call; `recover` after a start, a failed or cut-short call, or a stop),
//      unless a failed sweep still backs off. The script waits up to `idle_wait_ms` in the VM
//      when nothing is in flight, `busy_wait_ms` when results are expected soon.
//   4. a sweep that claimed requests is a held fetch (fixed_script.h): its call stays open while
//      dom0 validates, journals and starts them, up to `answer_grace_ms` for them to finish, and
//      the answers ready by then go back in the same call. A quick command costs one call, and
//      its answer waits neither for a busy fetch nor for a delivery call of its own. Longer
//      commands are delivered by step 2 after a later sweep.
//
// Pacing: a failed call (no end marker: cut short, killed at its limit, garbage, vm-not-running)
// backs its kind (sweep, deliver) off 1 s → 60 s (backoff.h); a success resets it. A sweep that
// claimed nothing is never repeated sooner than its wait, even when a compromised VM's `sleep`
// returns at once, so no VM can drive dom0 into a hot loop of qvm-run calls: at most one fetch
// per idle_wait_ms per idle VM, one per minute per VM that keeps failing.
//
// Logging: each fault class ("vm1 not-running", "vm1 fetch cut-short", ...) is logged once per
// LogLimiter interval, the rest counted and summarised as one line when the interval has passed.
//
// Thread safety: one VmLoop per VM, each Run on its own thread; the shared Backoff, LogLimiter,
// oracle and pipeline are safe for that. Everything passed in must outlive the loop.
#ifndef QVMR_DAEMON_VM_LOOP_H_
#define QVMR_DAEMON_VM_LOOP_H_

#include <atomic>
#include <optional>
#include <string>

#include "daemon/backoff.h"
#include "daemon/pipeline.h"
#include "daemon/processes.h"
#include "daemon/text_log.h"
#include "daemon/vm_state.h"

namespace qvmr {

struct VmLoopDeps {
  RequestPipeline* pipeline = nullptr;
  VmStateOracle* states = nullptr;  // nullptr: the VM always counts as Running
  Backoff* backoff = nullptr;       // keys "<vm> sweep" and "<vm> deliver"
  LogLimiter* faults = nullptr;     // classes "<vm> <what>"
  TextLog* log = nullptr;
  Processes* processes = nullptr;  // the monotonic clock (pacing only)
};

struct VmLoopOptions {
  std::int64_t idle_wait_ms = 1000;           // the script's wait when nothing is in flight
  std::int64_t busy_wait_ms = 100;            // ... when work is in flight or answers wait
  MonotonicMs answer_grace_ms = 250;          // step 4: how long a held fetch waits for the
                                              // work it claimed (0: delivers only what is ready)
  MonotonicMs not_running_recheck_ms = 1000;  // a VM not Running is asked again after this
  MonotonicMs sleep_slice_ms = 100;           // Run's sleeps are cut into slices to see `stop`
  MonotonicMs missing_grace_ms = 10000;       // missing this long (2+ qvm-ls tables) = gone
};

class VmLoop {
 public:
  VmLoop(std::string vm, VmLoopDeps deps, VmLoopOptions options = {});

  // One pass of steps 1–3. Returns how long to wait before the next step (0: at once; the
  // sweep's own wait in the VM already paced it).
  MonotonicMs Step();

  // Steps until `stop` becomes true (checked at least every sleep_slice_ms while waiting; a call
  // under way finishes first, within its own wall-clock limit).
  // `reachable`, when given, is set after each step to whether the VM answered (for STATUS=).
  void Run(const std::atomic<bool>& stop, std::atomic<bool>* reachable = nullptr);

  // Whether the next sweep will be a `recover` (for tests).
  bool recover_next() const { return recover_; }

 private:
  // Logs `note` for fault class "<vm> <what>" unless it was logged within the interval.
  void Fault(const std::string& what, LogCategory category, const std::string& note);
  void LogSummaries();

  const std::string vm_;
  const VmLoopDeps d_;
  const VmLoopOptions options_;
  const std::string sweep_key_;
  const std::string deliver_key_;
  bool recover_ = true;  // the first sweep after a start
  std::optional<MonotonicMs> missing_since_;
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_VM_LOOP_H_
