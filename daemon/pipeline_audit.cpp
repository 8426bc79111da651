// The pipeline's audit and budget hooks (CONTRACT.md "Logs and audit"), apart from the walk of a
// request in pipeline.cpp: the dom0 audit line of every answer, the VM-side audit.log lines
// delivered with the results (in the same call, never a separate one: the reference appended them
// in a second call and raced the client reading results), admission, the text log's limiter, and
// the exec path SIGHUP swaps.
#include <charconv>

#include "daemon/pipeline.h"
#include "engine/decide/decision_record.h"
#include "engine/wire/meta.h"

namespace qvmr {

void RequestPipeline::Audit(const std::string& vm, const DeliveryItem& files,
                            std::optional<std::string_view> text, const Decision* decision,
                            std::uint64_t out_bytes, std::uint64_t err_bytes) {
  if (d_.audit == nullptr) return;
  // The answer's own .meta is the source: the audit says what the VM was told.
  auto meta = DecodeMeta(files.meta);
  AuditEntry e;
  e.time_ms = d_.env->NowMs();
  e.vm = vm;
  e.cid = files.cid;
  if (meta) {
    e.outcome = meta->outcome ? std::string(OutcomeName(*meta->outcome)) : "";
    e.reason_code = meta->reason_code;
    e.policy = meta->policy;
    e.duration_ms = meta->duration_ms;
    e.truncated = meta->truncated;
  }
  if (e.policy.empty() || e.policy == "deny-all") {
    // Refusals' and deny-all's .meta carry no revision: the state the request met is now's.
    PolicySnapshot snap = d_.policy->Get();
    e.policy = snap.policy ? snap.policy->revision : "deny-all";
  }
  if (decision)
    e.decision = DecisionRecord(*decision, DecisionRequest{vm, std::string(text.value_or(""))});
  e.text = text;
  std::int64_t exit = 0;
  if (std::from_chars(files.exit.data(), files.exit.data() + files.exit.size(), exit).ec ==
      std::errc()) {
    e.exit = exit;
  }
  e.stdout_bytes = out_bytes;
  e.stderr_bytes = err_bytes;
  d_.audit->Record(e);
}

std::vector<std::string> RequestPipeline::VmAuditLines(const std::vector<Answer>& answers) const {
  std::vector<std::string> lines;
  const TimeMs now = d_.env->NowMs();
  for (const Answer& a : answers) {
    auto meta = DecodeMeta(a.files.meta);
    std::int64_t duration = meta && meta->duration_ms ? *meta->duration_ms : 0;
    lines.push_back(VmAuditLine(now, a.files.cid, a.files.exit, duration));
  }
  return lines;
}

std::uint32_t RequestPipeline::AdmitClaims(const std::string& vm) {
  if (d_.audit) d_.audit->Flush();
  if (d_.refusal_limiter) {
    for (const auto& [what, count] : d_.refusal_limiter->TakeSummaries()) {
      d_.log->Write(LogCategory::kReject, {},
                    what + ": " + std::to_string(count) + " more times (not logged one by one)");
    }
  }
  if (d_.admission == nullptr) return d_.max_claims;
  return std::min(d_.max_claims, d_.admission->Available(vm));
}

bool RequestPipeline::ShouldLogRefusal(const std::string& vm, std::string_view reason) {
  if (d_.refusal_limiter == nullptr) return true;
  return d_.refusal_limiter->ShouldLog("vm=" + vm + " reason=" + std::string(reason));
}

void RequestPipeline::SetExecPath(ExecPath exec_path) {
  auto next = std::make_shared<const ExecPath>(std::move(exec_path));
  std::lock_guard<std::mutex> lock(exec_path_mu_);
  exec_path_override_ = std::move(next);
}

std::shared_ptr<const ExecPath> RequestPipeline::CurrentExecPath() const {
  std::lock_guard<std::mutex> lock(exec_path_mu_);
  if (exec_path_override_) return exec_path_override_;
  // d_.exec_path lives as long as the pipeline: a non-owning pointer to it.
  return std::shared_ptr<const ExecPath>(std::shared_ptr<const ExecPath>(), &d_.exec_path);
}

}  // namespace qvmr
