// The walk of one request: validate → journal → decide → execute → answer. Each step is one call
// into the file that owns it; CONTRACT.md "Request validation" numbers the steps quoted below.
#include "daemon/pipeline.h"

#include <signal.h>

#include <algorithm>
#include <chrono>

#include "daemon/started_cell.h"
#include "daemon/test_hooks.h"
#include "engine/base/excerpt.h"
#include "engine/base/units.h"
#include "engine/decide/decision.h"
#include "engine/decide/decision_record.h"
#include "engine/decide/grants.h"
#include "engine/wire/freshness.h"
#include "engine/wire/validate.h"

namespace qvmr {

// One accepted request on its way to a worker.
struct RequestPipeline::Work {
  std::string vm;
  std::string cid;
  std::string body;
  AcceptedRequest request;
  MonotonicMs claim_mono = 0;
  TimeMs claim_wall = 0;
};

namespace {

std::string_view LogOutcome(Outcome o) {
  return OutcomeName(o);
}

LogCategory RefusalCategory(ReasonCode reason) {
  switch (reason) {
    case ReasonCode::kStale:
      return LogCategory::kStale;
    case ReasonCode::kNoToken:
    case ReasonCode::kNoKey:
    case ReasonCode::kBadMac:
    case ReasonCode::kV1NotAccepted:
    case ReasonCode::kJournalFull:
      return LogCategory::kAuthFail;
    default:
      return LogCategory::kReject;
  }
}

Meta BaseMeta(const PolicySnapshot& policy, TimeMs started) {
  Meta meta;
  meta.started = FormatTimeMs(started);
  meta.duration_ms = 0;
  if (policy.policy) meta.policy = policy.policy->revision;
  return meta;
}

// The one line a denied client sees on stderr: the code, what to do, and the rule's file:line.
std::string DeniedLine(const Decision& d) {
  std::string line = "qvm-remote: denied by dom0 policy (" + d.reason_code + "): " + d.message;
  if (!d.rule.empty()) line += " [" + d.rule + "]";
  return line;
}

}  // namespace

RequestPipeline::RequestPipeline(PipelineDeps deps) : d_(std::move(deps)) {
  // The boot id never changes while the daemon runs: read it once, not once per command.
  if (auto id = d_.env->ReadFile("/proc/sys/kernel/random/boot_id", 64); id) boot_id_ = *id;
}

std::size_t RequestPipeline::InFlight(const std::string& vm) const {
  std::lock_guard<std::mutex> lock(inflight_mu_);
  auto it = inflight_.find(vm);
  return it == inflight_.end() ? 0 : it->second;
}

bool RequestPipeline::WaitForInFlight(const std::string& vm, MonotonicMs timeout_ms) const {
  std::unique_lock<std::mutex> lock(inflight_mu_);
  return inflight_done_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    auto it = inflight_.find(vm);
    return it == inflight_.end() || it->second == 0;
  });
}

void RequestPipeline::AnswerNow(const std::string& vm, const std::string& cid, Outcome outcome,
                                std::string_view reason, const std::string& err_line,
                                std::optional<std::string_view> text) {
  Answer a =
      MakeAnswer(cid, outcome, reason, err_line, BaseMeta(d_.policy->Get(), d_.env->NowMs()));
  Audit(vm, a.files, text, nullptr, 0, 0);
  answers_.Put(vm, std::move(a));
}

SweepReport RequestPipeline::Sweep(const std::string& vm, bool recover, std::int64_t wait_ms,
                                   std::optional<MonotonicMs> hold_for_answers_ms) {
  SweepReport report;
  // Claims never exceed what dom0 admits for the VM now: its free share of the workers and its
  // admission tokens (--vm-rate). The rest wait in the VM's pending/, still withdrawable.
  std::size_t free_share = d_.scheduler->FreeShare(vm);
  if (free_share == 0 && !recover) free_share = d_.scheduler->WaitForFreeShare(vm, wait_ms);
  if (free_share == 0 && !recover) {
    report.reached = true;  // nothing asked of the VM: its requests wait in pending/
    return report;
  }
  ScriptParams params{
      .op = recover ? ScriptOp::kRecover : ScriptOp::kFetch,
      .max_claims = static_cast<std::uint32_t>(std::min<std::size_t>(AdmitClaims(vm), free_share)),
      .pairing_delay_ms = d_.pairing_delay_ms,
      .wait_ms = wait_ms};
  // A held fetch: the requests it claimed are validated, journaled and started while the call
  // waits, and what is answered within hold_for_answers_ms goes back in the same call.
  bool claimed_in_call = false;
  std::optional<DeliveryBatch> held;
  HeldDelivery then;
  if (hold_for_answers_ms) {
    then = [&](const FetchOutcome& claimed) -> std::optional<DeliveryBatch> {
      claimed_in_call = true;
      ClaimRecords(vm, claimed.records, report);
      if (*hold_for_answers_ms > 0) WaitForInFlight(vm, *hold_for_answers_ms);
      held = PrepareDelivery(vm);
      return held;
    };
  }
  FetchOutcome fetched = d_.transport->Fetch(vm, params, then);
  report.reached = fetched.status.ok();
  report.claimed = fetched.records.size();
  if (d_.admission) d_.admission->Take(vm, static_cast<std::uint32_t>(report.claimed));
  if (!fetched.status.ok() && ShouldLogFault(vm + " fetch " + fetched.status.error().code)) {
    d_.log->Write(
        LogCategory::kError, {.vm = vm, .reason = fetched.status.error().code},
        "fetch: " + fetched.status.error().message +
            (fetched.stderr_excerpt.empty() ? "" : "; stderr: " + fetched.stderr_excerpt));
  }
  if (fetched.trailer.removed > 0 && ShouldLogFault(vm + " removed-entries")) {
    d_.log->Write(LogCategory::kReject, {.vm = vm},
                  std::to_string(fetched.trailer.removed) + " bad entries removed from pending/");
  }
  if (!claimed_in_call) ClaimRecords(vm, fetched.records, report);
  if (held) {
    DeliveryOutcome not_sent;
    not_sent.status = MakeError("frame-cut-short", "the call ended before its delivery");
    report.held_delivery =
        FinishDelivery(vm, *held, fetched.delivery ? *fetched.delivery : not_sent);
  }
  return report;
}

// Steps 1–12 for the records of one fetch, then each accepted request to the workers.
void RequestPipeline::ClaimRecords(const std::string& vm, const std::vector<FetchRecord>& records,
                                   SweepReport& report) {
  if (records.empty()) return;
  const MonotonicMs claim_mono = d_.processes->NowMonotonicMs();
  const TimeMs claim_wall = d_.env->NowMs();
  const PolicySnapshot policy = d_.policy->Get();
  // Read at verification time, so `revoke` takes effect on the very next request.
  auto key = d_.keys->Read(vm);
  std::optional<std::string_view> key_view;
  if (key && key->key) key_view = *key->key;
  std::optional<bool> accept_v1;  // nullopt in deny-all: step 9 is skipped
  if (policy.policy) {
    const VmPolicy* vp = policy.policy->FindVm(vm);
    accept_v1 = vp != nullptr && vp->accept_v1.value;
  }

  std::vector<AcceptedRow> rows;
  std::vector<Work> works;
  for (const FetchRecord& record : records) {
    const int version = CidVersion(record.shape);
    auto facts = d_.journal->Facts(vm, record.cid, version);
    if (!facts) {
      // Without the journal, steps 2, 10 and 11 cannot be judged: answer, never run.
      AnswerNow(vm, record.cid, Outcome::kError, ReasonCodeName(ReasonCode::kJournal),
                "qvm-remote: dom0 could not read its journal; nothing ran (see dom0's log)");
      d_.log->Write(LogCategory::kError, {.vm = vm, .id = record.cid, .reason = "journal"},
                    facts.error().message);
      ++report.answered;
      continue;
    }
    ValidationInput in;
    in.vm = vm;
    in.name = record.cid;
    in.kind = record.kind == FetchKind::kPaired ? RecordKind::kPaired : RecordKind::kNoToken;
    if (record.auth) in.auth = *record.auth;
    in.body_size = record.body_size;
    if (record.body) in.body = std::string_view(*record.body);
    in.key = key_view;
    in.accept_v1 = accept_v1;
    in.now = claim_wall;
    in.journal =
        JournalView{facts->seen,
                    facts->low_water_mark > 0 ? std::optional(facts->low_water_mark) : std::nullopt,
                    facts->rows, facts->cap};
    Validation v = ValidateRequest(in);  // steps 1–11
    switch (v.verdict) {
      case Verdict::kRemove:
        d_.log->Write(LogCategory::kReject, {.vm = vm}, v.err);
        break;
      case Verdict::kLeave:  // an .auth or the reference's .cmd: not a request, never removed
        break;
      case Verdict::kDuplicate:
        d_.log->Write(LogCategory::kReplay, {.vm = vm, .id = record.cid});
        // A delivered request's copy is removed from the queue; one still in progress is left
        // to its own run.
        if (facts->state == JournalState::kDelivered || facts->state == JournalState::kAbandoned) {
          answers_.AddRemoval(vm, QueueDir::kRunning, record.cid);
          answers_.AddRemoval(vm, QueueDir::kRunning, record.cid + ".auth");
        }
        break;
      case Verdict::kAnswer:
        if (ShouldLogRefusal(vm, ReasonCodeName(v.reason))) {
          d_.log->Write(RefusalCategory(v.reason), {.vm = vm,
                                                    .id = record.cid,
                                                    .outcome = LogOutcome(v.outcome),
                                                    .reason = ReasonCodeName(v.reason)});
        }
        AnswerNow(vm, record.cid, v.outcome, ReasonCodeName(v.reason), v.err,
                  record.body ? std::optional<std::string_view>(*record.body) : std::nullopt);
        ++report.answered;
        break;
      case Verdict::kAccept: {
        AcceptedRow row;
        row.vm = vm;
        row.cid = record.cid;
        row.version = v.request.version;
        row.ping = v.request.kind == RequestKind::kPing;
        row.cid_time_ms = v.request.cid_time;
        row.claim_time_ms = claim_wall;
        row.timeout_seconds = v.request.timeout_seconds.value_or(0);
        rows.push_back(row);
        works.push_back(
            Work{vm, record.cid, record.body.value_or(""), v.request, claim_mono, claim_wall});
        break;
      }
    }
  }
  if (rows.empty()) return;

  // Step 12: the commit point. Nothing accepted here ever runs twice.
  auto verdicts = d_.journal->AcceptBatch(rows);
  TestCrashPoint("after-accept");
  for (std::size_t i = 0; i < works.size(); ++i) {
    const Work& w = works[i];
    if (!verdicts) {
      AnswerNow(vm, w.cid, Outcome::kError, ReasonCodeName(ReasonCode::kJournal),
                "qvm-remote: dom0 could not record the request in its journal; nothing ran");
      d_.log->Write(LogCategory::kError, {.vm = vm, .id = w.cid, .reason = "journal"},
                    verdicts.error().message);
      ++report.answered;
      continue;
    }
    switch ((*verdicts)[i]) {
      case AcceptVerdict::kDuplicate:
        d_.log->Write(LogCategory::kReplay, {.vm = vm, .id = w.cid});
        continue;
      case AcceptVerdict::kStale:
        AnswerNow(vm, w.cid, Outcome::kAuth, ReasonCodeName(ReasonCode::kStale),
                  "qvm-remote: request too old for dom0's journal; check the VM's clock", w.body);
        ++report.answered;
        continue;
      case AcceptVerdict::kFull:
        AnswerNow(vm, w.cid, Outcome::kAuth, ReasonCodeName(ReasonCode::kJournalFull),
                  "qvm-remote: dom0's journal for this VM is full; ask the administrator", w.body);
        ++report.answered;
        continue;
      case AcceptVerdict::kAccepted:
        break;
    }
    ++report.accepted;
    d_.log->Write(LogCategory::kAuthOk, {.vm = vm, .id = w.cid});
    if (w.request.kind == RequestKind::kPing) {  // step 13: no decision, no execution
      Meta meta = BaseMeta(policy, claim_wall);
      if (!policy.policy) meta.policy = "deny-all";
      Answer a = MakeAnswer(w.cid, Outcome::kOk, "", "", meta);
      a.files.err.bytes.clear();
      Finish(w, std::move(a), "ok", 0, 0, 0, "", claim_wall);
      ++report.answered;
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(inflight_mu_);
      ++inflight_[vm];
    }
    d_.scheduler->Submit(vm, w.request.cid_time, [this, w] {
      Decide(w);
      {
        std::lock_guard<std::mutex> lock(inflight_mu_);
        --inflight_[w.vm];
      }
      inflight_done_.notify_all();
    });
  }
}

// Steps 14 and 15, on a worker.
void RequestPipeline::Decide(const Work& w) {
  const PolicySnapshot policy = d_.policy->Get();
  const TimeMs started = d_.env->NowMs();
  Meta meta = BaseMeta(policy, started);
  if (!policy.policy) {  // deny-all: every request is answered, none runs
    std::string where = policy.load_error->ToString();
    meta.decision = "deny";
    Answer a = MakeAnswer(w.cid, Outcome::kDenied, ReasonCodeName(ReasonCode::kPolicyError),
                          "qvm-remote: denied: dom0's policy does not load (" + where + ")", meta);
    if (ShouldLogRefusal(w.vm, "policy-error")) {
      d_.log->Write(LogCategory::kDenied,
                    {.vm = w.vm, .id = w.cid, .outcome = "denied", .reason = "policy-error"});
    }
    Finish(w, std::move(a), "denied", 126, 0, 0, "", started);
    return;
  }
  GrantSet grants = LoadGrants(*d_.env, d_.grants_dir);
  DecisionRequest request{w.vm, w.body};
  Decision decision = Evaluate(*policy.policy, grants, request, started);
  meta.decision = decision.allow ? "allow" : "deny";
  meta.level = std::string(LevelName(decision.level));
  meta.rule = decision.rule;
  meta.executor = std::string(ExecutorName(decision.executor));
  if (decision.grant) meta.grant = FormatTimeMs(decision.grant->expires_ms);
  if (!decision.allow) {
    meta.reason = decision.message;
    Answer a =
        MakeAnswer(w.cid, Outcome::kDenied, decision.reason_code, DeniedLine(decision), meta);
    if (ShouldLogRefusal(w.vm, decision.reason_code)) {  // a `deny` VM's flood: one a second
      d_.log->Write(LogCategory::kDenied, {.vm = w.vm,
                                           .id = w.cid,
                                           .outcome = "denied",
                                           .rule = decision.rule,
                                           .reason = decision.reason_code});
    }
    Finish(w, std::move(a), "denied", 126, 0, 0, "", started, &decision);
    return;
  }

  // Step 15: deadline = claim time + min(timeout, the policy's cap), on the monotonic clock.
  std::int64_t timeout = decision.timeout_seconds;
  if (w.request.timeout_seconds && *w.request.timeout_seconds < timeout) {
    timeout = *w.request.timeout_seconds;
  }
  const MonotonicMs deadline = w.claim_mono + timeout * 1000;
  if (d_.processes->NowMonotonicMs() >= deadline) {
    Answer a =
        MakeAnswer(w.cid, Outcome::kTimeout, "",
                   "qvm-remote: the deadline passed before a worker was free; nothing ran", meta);
    d_.log->Write(LogCategory::kTimeout, {.vm = w.vm, .id = w.cid, .outcome = "timeout"});
    Finish(w, std::move(a), "timeout", 124, 0, 0, "", started, &decision);
    return;
  }
  if (d_.dry_run) {
    meta.executor = "dry-run";
    Answer a = MakeAnswer(w.cid, Outcome::kOk, "", "", meta);
    a.files.err.bytes.clear();
    a.files.out.bytes = "qvm-remote: dry run: would run with the " + meta.executor +
                        " executor at level " + meta.level + " by rule " + decision.rule + "\n";
    // What would have run: the plan the executor would follow, as `check --json` prints it.
    if (decision.has_plan) a.files.out.bytes += "plan: " + DumpJson(PlanJson(decision.plan)) + "\n";
    d_.log->Write(LogCategory::kDry, {.vm = w.vm, .id = w.cid, .rule = decision.rule});
    Finish(w, std::move(a), "ok", 0, a.files.out.bytes.size(), 0, "", started, &decision);
    return;
  }
  Executor* const executor = decision.executor == ExecutorKind::kArgv    ? d_.argv_executor
                             : decision.executor == ExecutorKind::kShell ? d_.shell_executor
                                                                         : nullptr;
  if (executor == nullptr) {
    Answer a = MakeAnswer(w.cid, Outcome::kError, ReasonCodeName(ReasonCode::kNoShellExecutor),
                          "qvm-remote: this dom0 cannot yet run text without a plan (level full "
                          "needs the shell executor); nothing ran",
                          meta);
    d_.log->Write(LogCategory::kError,
                  {.vm = w.vm, .id = w.cid, .outcome = "error", .reason = "no-shell-executor"});
    Finish(w, std::move(a), "error", 255, 0, 0, "", started, &decision);
    return;
  }

  auto spool = d_.spool->Create(w.vm, w.cid, decision.max_output_bytes);
  if (!spool) {
    const bool quota = spool.error().code == "spool-quota";
    Answer a = MakeAnswer(w.cid, Outcome::kError, quota ? "spool-quota" : "spool",
                          quota ? "qvm-remote: this VM's results waiting in dom0 fill its spool "
                                  "quota; collect them first; nothing ran"
                                : "qvm-remote: dom0 could not create the output spool; nothing ran",
                          meta);
    d_.log->Write(LogCategory::kError, {.vm = w.vm, .id = w.cid, .reason = "spool"},
                  spool.error().message);
    Finish(w, std::move(a), "error", 255, 0, 0, "", started, &decision);
    return;
  }
  d_.log->Write(LogCategory::kExec, {.vm = w.vm, .id = w.cid, .rule = decision.rule});
  const std::shared_ptr<const ExecPath> exec_path = CurrentExecPath();  // SIGHUP may swap it
  ExecRequest exec;
  exec.vm = w.vm;
  exec.cid = w.cid;
  exec.deadline = deadline;
  exec.timeout_seconds = timeout;
  exec.exec_path = exec_path.get();
  exec.text = w.body;  // the shell executor runs it; the argv executor runs the plan
  exec.cancel = d_.stop_running;
  // `started` is journaled once the cell and its first process exist (the restart table kills
  // by what it records); if it cannot be, the executor kills the command.
  bool journal_failed = false;
  exec.on_started = [&](const StartedFacts& facts) {
    StartedInfo info{facts.containment_id, boot_id_, facts.leader_start_time, started};
    if (auto s = d_.journal->MarkStarted(w.vm, w.cid, info); !s) {
      journal_failed = true;
      return false;
    }
    TestCrashPoint("after-start");
    return true;
  };
  ExecResult result = executor->Run(decision, exec, *spool);
  if (journal_failed) {
    d_.spool->Remove(w.vm, w.cid);
    Answer a =
        MakeAnswer(w.cid, Outcome::kError, ReasonCodeName(ReasonCode::kJournal),
                   "qvm-remote: dom0 could not journal the start; the command was killed", meta);
    Finish(w, std::move(a), "error", 255, 0, 0, "", started, &decision);
    return;
  }
  if (result.outcome == Outcome::kInterrupted) {
    // Stopped by the shutdown: the row stays `started`; the next start answers `interrupted`.
    d_.log->Write(LogCategory::kInterrupted, {.vm = w.vm, .id = w.cid, .outcome = "interrupted"});
    return;
  }

  meta.duration_ms = result.duration_ms;
  meta.truncated = result.truncation;
  meta.exit_code = result.status;
  meta.outcome = result.outcome;
  Answer a;
  a.files.cid = w.cid;
  a.files.out.path = spool->stdout_path;
  a.files.err.path = spool->stderr_path;
  a.files.meta = EncodeMeta([&] {
    Meta m = meta;
    m.id = w.cid;
    return m;
  }());
  a.files.exit = std::to_string(result.status);
  a.spooled = true;
  LogCategory category = result.outcome == Outcome::kTimeout ? LogCategory::kTimeout
                         : result.outcome != Outcome::kOk    ? LogCategory::kError
                         : result.status == 0                ? LogCategory::kDone
                                                             : LogCategory::kDoneFail;
  d_.log->Write(
      category,
      {.vm = w.vm, .id = w.cid, .outcome = OutcomeName(result.outcome), .rule = decision.rule});
  if (!result.truncation.empty()) {
    d_.log->Write(LogCategory::kTrunc, {.vm = w.vm, .id = w.cid}, result.truncation);
  }
  Finish(w, std::move(a), std::string(OutcomeName(result.outcome)), result.status,
         result.stdout_bytes, result.stderr_bytes, result.truncation, started, &decision);
}

void RequestPipeline::Finish(const Work& w, Answer answer, const std::string& outcome, int status,
                             std::uint64_t out_bytes, std::uint64_t err_bytes,
                             const std::string& truncated, TimeMs started_ms,
                             const Decision* decision) {
  (void)started_ms;
  FinishedInfo info;
  info.status = status;
  info.outcome = outcome;
  info.stdout_bytes = out_bytes;
  info.stderr_bytes = err_bytes;
  info.truncated = truncated;
  info.spool = answer.spooled ? answer.files.out.path + "\n" + answer.files.err.path : "";
  info.meta = answer.files.meta;
  info.finished_ms = d_.env->NowMs();
  if (auto s = d_.journal->MarkFinished(w.vm, w.cid, info); !s) {
    d_.log->Write(LogCategory::kError, {.vm = w.vm, .id = w.cid, .reason = "journal"},
                  s.error().message);
  }
  TestCrashPoint("after-finish");
  answer.journaled = true;
  Audit(w.vm, answer.files, w.body.empty() ? std::nullopt : std::optional<std::string_view>(w.body),
        decision, out_bytes, err_bytes);
  answers_.Put(w.vm, std::move(answer));
}

bool RequestPipeline::ShouldLogFault(const std::string& fault_class) const {
  return d_.faults == nullptr || d_.faults->ShouldLog(fault_class);
}

Status RequestPipeline::Recover() {
  auto rows = d_.journal->Unfinished();
  if (!rows) return rows.error();
  const PolicySnapshot policy = d_.policy->Get();
  const TimeMs now = d_.env->NowMs();
  for (const JournalRow& row : *rows) {
    const std::string& vm = row.accepted.vm;
    const std::string& cid = row.accepted.cid;
    Work w{vm, cid, "", {}, 0, now};
    if (row.state == JournalState::kFinished && row.finished) {
      Answer a;
      a.files.cid = cid;
      a.files.meta = row.finished->meta;
      a.files.exit = std::to_string(row.finished->status);
      a.journaled = true;
      const std::string& spool = row.finished->spool;
      if (!spool.empty()) {
        std::size_t nl = spool.find('\n');
        a.files.out.path = spool.substr(0, nl);
        a.files.err.path = nl == std::string::npos ? "" : spool.substr(nl + 1);
        a.spooled = true;
        auto out = d_.env->Stat(a.files.out.path);
        auto err = d_.env->Stat(a.files.err.path);
        if (!out || !out->exists || !err || !err->exists) {
          // The spool is gone: the result cannot be delivered as it was.
          Answer lost = MakeAnswer(cid, Outcome::kInterrupted, "",
                                   "qvm-remote: dom0 restarted and lost this request's output "
                                   "(it had finished with status " +
                                       std::to_string(row.finished->status) + ")",
                                   BaseMeta(policy, now));
          lost.journaled = true;
          answers_.Put(vm, std::move(lost));
          continue;
        }
      }
      answers_.Put(vm, std::move(a));
      continue;
    }
    std::string why = "qvm-remote: dom0 restarted before this request started; it did not run";
    if (row.state == JournalState::kStarted) {
      why = "qvm-remote: dom0 restarted while this request ran; it was stopped";
      const StartedInfo* s = row.started ? &*row.started : nullptr;
      if (s && !s->containment_id.empty() && !boot_id_.empty() && boot_id_ == s->boot_id) {
        // This boot: whatever is left of the command dies, where it is provably ours
        // (started_cell.h: a cgroup path of this instance, or a leader whose start time matches).
        (void)KillStartedLeftovers(s->containment_id, s->leader_start_time);
      }
    }
    d_.log->Write(LogCategory::kInterrupted, {.vm = vm, .id = cid, .outcome = "interrupted"});
    Finish(w, MakeAnswer(cid, Outcome::kInterrupted, "", why, BaseMeta(policy, now)), "interrupted",
           255, 0, 0, "", now);
  }
  return Ok{};
}

}  // namespace qvmr
