// One VM's loop: state check, deliver, sweep, with backoff and rate-limited fault lines.
#include "daemon/vm_loop.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace qvmr {

VmLoop::VmLoop(std::string vm, VmLoopDeps deps, VmLoopOptions options)
    : vm_(std::move(vm)),
      d_(deps),
      options_(options),
      sweep_key_(vm_ + " sweep"),
      deliver_key_(vm_ + " deliver") {}

void VmLoop::Fault(const std::string& what, LogCategory category, const std::string& note) {
  if (d_.faults != nullptr && !d_.faults->ShouldLog(vm_ + " " + what)) return;
  d_.log->Write(category, {.vm = vm_, .reason = what}, note);
}

void VmLoop::LogSummaries() {
  if (d_.faults == nullptr) return;
  // Any loop may hand out any class's summary: the limiter is shared, each count comes once.
  for (const auto& [fault_class, count] : d_.faults->TakeSummaries()) {
    d_.log->Write(LogCategory::kInfo, {},
                  fault_class + ": " + std::to_string(count) + " more times in the last interval");
  }
}

MonotonicMs VmLoop::Step() {
  LogSummaries();
  RequestPipeline& pipeline = *d_.pipeline;

  if (d_.states != nullptr) {
    const VmState state = d_.states->Get(vm_);
    if (state != VmState::kMissing) missing_since_.reset();
    if (state == VmState::kMissing) {
      // The VM was removed: its answers can never be delivered. Keeping them would hold spool
      // files and journal rows forever; a VM created later under the same name starts afresh.
      const MonotonicMs now = d_.processes->NowMonotonicMs();
      if (!missing_since_) missing_since_ = now;
      std::size_t dropped = now - *missing_since_ >= options_.missing_grace_ms
                                ? pipeline.Abandon(vm_, "the VM no longer exists")
                                : 0;
      if (dropped > 0) {
        d_.log->Write(LogCategory::kInfo, {.vm = vm_, .reason = "vm-missing"},
                      "the VM no longer exists: " + std::to_string(dropped) +
                          " undelivered results abandoned");
      }
      Fault("vm-missing", LogCategory::kInfo, "the VM does not exist: no calls");
      recover_ = true;
      return options_.not_running_recheck_ms;
    }
    if (state != VmState::kRunning) {
      // Answers stay in the box; the first sweep once it runs again re-offers running/.
      Fault("not-running", LogCategory::kInfo,
            "the VM is " + std::string(VmStateName(state)) + ": no calls until it runs");
      recover_ = true;
      return options_.not_running_recheck_ms;
    }
  }

  // Answers go out first, so a request re-offered by `recover` finds its `.exit`. Deliver is
  // asked even when no answer waits: the removals of replayed copies of delivered cids go out
  // with it, and would otherwise stay in the VM's running/ until its next answer (Deliver makes
  // no call when there is neither).
  if (d_.backoff->Ready(deliver_key_)) {
    DeliverReport r = pipeline.Deliver(vm_);
    // The pipeline logged why (once per interval); the answers stay and are retried later.
    if (r.reached) {
      d_.backoff->Success(deliver_key_);
    } else {
      d_.backoff->Failure(deliver_key_);
    }
  }

  if (!d_.backoff->Ready(sweep_key_)) {
    MonotonicMs wait = d_.backoff->WaitMs(sweep_key_);
    if (pipeline.Waiting(vm_) > 0) wait = std::min(wait, d_.backoff->WaitMs(deliver_key_));
    return std::max<MonotonicMs>(wait, options_.sleep_slice_ms);
  }

  const bool busy = pipeline.InFlight(vm_) > 0 || pipeline.Waiting(vm_) > 0;
  const std::int64_t wait_ms = busy ? options_.busy_wait_ms : options_.idle_wait_ms;
  const MonotonicMs started = d_.processes->NowMonotonicMs();
  SweepReport r = pipeline.Sweep(vm_, recover_, wait_ms, options_.answer_grace_ms);
  if (r.held_delivery) {  // step 4 happened inside the call: back the delivery off like step 2
    if (r.held_delivery->reached) {
      d_.backoff->Success(deliver_key_);
    } else {
      d_.backoff->Failure(deliver_key_);
    }
  }
  // Claimed entries dom0 did not journal (the call failed or was cut short) are offered again.
  recover_ = !r.reached;
  if (!r.reached) return d_.backoff->Failure(sweep_key_);  // the pipeline logged why
  d_.backoff->Success(sweep_key_);
  if (r.claimed > 0) return 0;  // more may be waiting: fetch again at once
  // A sweep that found nothing is not repeated before its wait has passed, whatever the VM's
  // `sleep` did: a compromised VM cannot turn this loop into a stream of qvm-run calls.
  const MonotonicMs took = d_.processes->NowMonotonicMs() - started;
  return std::max<MonotonicMs>(0, wait_ms - took);
}

void VmLoop::Run(const std::atomic<bool>& stop, std::atomic<bool>* reachable) {
  while (!stop.load()) {
    MonotonicMs wait = Step();
    if (reachable) reachable->store(!recover_);
    const MonotonicMs until = d_.processes->NowMonotonicMs() + wait;
    for (MonotonicMs now = d_.processes->NowMonotonicMs(); now < until && !stop.load();
         now = d_.processes->NowMonotonicMs()) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::min(options_.sleep_slice_ms, until - now)));
    }
  }
}

}  // namespace qvmr
