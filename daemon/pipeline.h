// The walk of one request through dom0, CONTRACT.md "Request validation" steps 1–15:
//
//   Sweep(vm):   fetch a batch (one script call) → validate each request (engine/wire/validate.h)
//                → journal the accepted ones (one commit per batch: step 12) → answer pings and
//                refusals → hand the rest to the workers
//   worker:      decide with the policy and grants of that moment (step 14) → execute (step 15)
//                → journal finished → answer
//   Deliver(vm): one script call writes the waiting answers into the VM; each acknowledged one is
//                journaled delivered and its spool removed (pipeline_deliver.cpp). A held sweep
//                does the same in the call that claimed the requests, once they finished.
//   Recover():   before the first sweep, the restart table of CONTRACT.md "Journal"
//
// Every request that reaches validation is answered exactly once — except step 1 (not a request
// name) and step 2 (a cid already journaled: never answered, never run again) — and no answer is
// ever written over an existing `.exit` (the fixed script refuses to, and acknowledges `exists`).
//
// Thread safety: Sweep and Deliver for one VM must not run at once (one thread per VM); different
// VMs may. Workers run on the scheduler given.
#ifndef QVMR_DAEMON_PIPELINE_H_
#define QVMR_DAEMON_PIPELINE_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "daemon/admission.h"
#include "daemon/answers.h"
#include "daemon/audit_log.h"
#include "daemon/backoff.h"
#include "daemon/exec_path.h"
#include "daemon/executor.h"
#include "daemon/journal.h"
#include "daemon/key_store.h"
#include "daemon/policy_state.h"
#include "daemon/processes.h"
#include "daemon/scheduler.h"
#include "daemon/spool.h"
#include "daemon/text_log.h"
#include "daemon/transport.h"
#include "engine/base/env.h"
#include "engine/decide/decision.h"

namespace qvmr {

struct PipelineDeps {
  Env* env = nullptr;
  Processes* processes = nullptr;
  Transport* transport = nullptr;
  Journal* journal = nullptr;
  KeyStore* keys = nullptr;
  PolicyState* policy = nullptr;
  Executor* argv_executor = nullptr;
  Executor* shell_executor = nullptr;  // `full`; nullptr: such requests are answered an error
  SpoolDir* spool = nullptr;
  TextLog* log = nullptr;
  Scheduler* scheduler = nullptr;
  // When set, a failed call is logged once per interval per "<vm> <fetch|deliver> <code>" (and
  // removed queue entries per "<vm> removed-entries"), not on every sweep.
  LogLimiter* faults = nullptr;
  std::string grants_dir;
  ExecPath exec_path;
  bool dry_run = false;
  // Per fetch call, at most; each fetch claims no more than the VM's free share of the workers
  // (Scheduler::FreeShare), so what dom0 cannot start yet stays withdrawable in pending/.
  std::uint32_t max_claims = 16;
  std::int64_t pairing_delay_ms = limits::kPairingDelayMs;
  // Set by the daemon's shutdown: running commands are stopped and left `started` in the journal,
  // to be answered `interrupted` by the next start's restart table. Null: never.
  const std::atomic<bool>* stop_running = nullptr;
  // Optional (null = none): the audit trail, admission per VM (a sweep claims at most the VM's
  // tokens), and the limiter of repeated refusal lines in the text log (pipeline_audit.cpp).
  AuditLog* audit = nullptr;
  Admission* admission = nullptr;
  LogLimiter* refusal_limiter = nullptr;
};

struct DeliverReport {
  bool reached = true;
  std::size_t delivered = 0;  // acknowledged ok or exists
  std::size_t waiting = 0;    // answers still held for the VM
};

struct SweepReport {
  bool reached = false;  // the script's end marker came back
  std::size_t claimed = 0;
  std::size_t accepted = 0;
  std::size_t answered = 0;  // refusals and pings answered at once
  // A held fetch delivered in its own call (Sweep's hold_for_answers_ms): how that went.
  std::optional<DeliverReport> held_delivery;
};

class RequestPipeline {
 public:
  // Every pointer in `deps` must outlive the RequestPipeline.
  explicit RequestPipeline(PipelineDeps deps);

  // The restart table; call once before the first sweep. Fails only when the journal cannot be
  // read (the daemon then exits 1 rather than risk running something twice).
  Status Recover();

  // `recover`: use the script's recover operation (re-offers running/ entries never journaled):
  // the first sweep after a start and after a failed call. `wait_ms`: how long the script may wait
  // in the VM for something to become ready. When the VM's whole share of the workers is taken,
  // no fetch is made: Sweep waits up to `wait_ms` for a worker of the VM to free up and, if none
  // does, returns reached with nothing claimed.
  // `hold_for_answers_ms`: a held fetch (fixed_script.h). When the call claims something, it is
  // kept open while the claimed requests are validated, journaled and started; Sweep waits up
  // to that long for them to finish, and whatever is answered by then (these answers, refusals,
  // older ones still held) is delivered in the same call: a quick command costs one call.
  // nullopt: the call ends at the fetch batch.
  SweepReport Sweep(const std::string& vm, bool recover, std::int64_t wait_ms,
                    std::optional<MonotonicMs> hold_for_answers_ms = std::nullopt);
  // One deliver call with up to 32 of the VM's answers and its pending removals (none: no call).
  DeliverReport Deliver(const std::string& vm);

  // The VM is gone (VmState kMissing): every answer held for it is dropped, its journal row
  // marked abandoned with `why` (a finished row; others keep their state) and its spool files
  // removed. Returns how many answers were dropped. Answers of work still running are dropped
  // by a later call.
  std::size_t Abandon(const std::string& vm, const std::string& why);

  std::size_t Waiting(const std::string& vm) const { return answers_.Count(vm); }
  std::size_t InFlight(const std::string& vm) const;
  // Waits up to `timeout_ms` for the VM's claimed work to finish (its answers are then in the
  // box, ready for Deliver); returns whether nothing of the VM is in flight. A held fetch waits
  // with it. Thread-safe.
  bool WaitForInFlight(const std::string& vm, MonotonicMs timeout_ms) const;

  // Replaces the exec path for requests that start from now on (SIGHUP re-reads remote.conf);
  // a command already running keeps the one it started with. Thread-safe.
  void SetExecPath(ExecPath exec_path);

 private:
  struct Work;
  void ClaimRecords(const std::string& vm, const std::vector<FetchRecord>& records,
                    SweepReport& report);
  void Decide(const Work& work);
  // pipeline_deliver.cpp: the batch of what waits for the VM (nullopt: nothing), and the
  // acknowledgements of a delivery (journal, spool; what was not acknowledged stays).
  std::optional<DeliveryBatch> PrepareDelivery(const std::string& vm);
  DeliverReport FinishDelivery(const std::string& vm, const DeliveryBatch& batch,
                               const DeliveryOutcome& delivered);
  void Finish(const Work& work, Answer answer, const std::string& outcome, int status,
              std::uint64_t out_bytes, std::uint64_t err_bytes, const std::string& truncated,
              TimeMs started_ms, const Decision* decision = nullptr);
  void AnswerNow(const std::string& vm, const std::string& cid, Outcome outcome,
                 std::string_view reason, const std::string& err_line,
                 std::optional<std::string_view> text = std::nullopt);
  // pipeline_audit.cpp: the audit line of an answer (its .meta says outcome, reason and policy),
  // the VM-side audit.log lines of a delivery, and the budgets' part of a sweep.
  void Audit(const std::string& vm, const DeliveryItem& files, std::optional<std::string_view> text,
             const Decision* decision, std::uint64_t out_bytes, std::uint64_t err_bytes);
  std::vector<std::string> VmAuditLines(const std::vector<Answer>& answers) const;
  std::shared_ptr<const ExecPath> CurrentExecPath() const;
  std::uint32_t AdmitClaims(const std::string& vm);
  bool ShouldLogRefusal(const std::string& vm, std::string_view reason);

  // False when d_.faults says this fault class was logged within its interval.
  bool ShouldLogFault(const std::string& fault_class) const;

  PipelineDeps d_;
  std::string boot_id_;  // /proc/sys/kernel/random/boot_id, read at construction ("" unreadable)
  AnswerBox answers_;
  mutable std::mutex inflight_mu_;
  mutable std::condition_variable inflight_done_;  // a request of some VM left inflight_
  std::map<std::string, std::size_t> inflight_;
  mutable std::mutex exec_path_mu_;
  std::shared_ptr<const ExecPath> exec_path_override_;  // null: d_.exec_path
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_PIPELINE_H_
