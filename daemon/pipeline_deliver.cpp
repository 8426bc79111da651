// RequestPipeline's delivery half (pipeline.h): answers out to the VM, in a deliver call or in
// the call of a held fetch, and acknowledgements back into the journal and the spool; and
// Abandon, for a VM that is gone.
#include "daemon/pipeline.h"
#include "daemon/test_hooks.h"

namespace qvmr {

DeliverReport RequestPipeline::Deliver(const std::string& vm) {
  std::optional<DeliveryBatch> batch = PrepareDelivery(vm);
  if (!batch) return DeliverReport{.waiting = answers_.Count(vm)};
  return FinishDelivery(vm, *batch, d_.transport->Deliver(vm, *batch));
}

std::optional<DeliveryBatch> RequestPipeline::PrepareDelivery(const std::string& vm) {
  std::vector<Answer> answers = answers_.Peek(vm, 32);
  auto removals = answers_.TakeRemovals(vm);
  if (answers.empty() && removals.empty()) return std::nullopt;
  DeliveryBatch batch;
  for (const Answer& a : answers) batch.results.push_back(a.files);
  batch.removals = std::move(removals);
  batch.audit_lines = VmAuditLines(answers);
  return batch;
}

DeliverReport RequestPipeline::FinishDelivery(const std::string& vm, const DeliveryBatch& batch,
                                              const DeliveryOutcome& delivered) {
  DeliverReport report;
  TestCrashPoint("before-ack");
  const TimeMs now = d_.env->NowMs();
  for (const Ack& ack : delivered.acks) {
    if (ack.kind == AckKind::kFailed) continue;  // kept; retried with the next delivery
    std::optional<Answer> done = answers_.Done(vm, ack.cid);
    if (!done) continue;
    ++report.delivered;
    if (done->journaled) {
      if (auto s = d_.journal->MarkDelivered(vm, ack.cid, now); !s) {
        d_.log->Write(LogCategory::kError, {.vm = vm, .id = ack.cid, .reason = "journal"},
                      s.error().message);
      }
    }
    if (done->spooled) d_.spool->Remove(vm, ack.cid);
  }
  if (!delivered.status.ok()) {
    report.reached = false;
    for (const auto& [dir, name] : batch.removals) answers_.AddRemoval(vm, dir, name);
    if (ShouldLogFault(vm + " deliver " + delivered.status.error().code))
      d_.log->Write(LogCategory::kError, {.vm = vm, .reason = delivered.status.error().code},
                    "deliver: " + delivered.status.error().message);
  }
  report.waiting = answers_.Count(vm);
  return report;
}

std::size_t RequestPipeline::Abandon(const std::string& vm, const std::string& why) {
  answers_.TakeRemovals(vm);
  std::size_t dropped = 0;
  const TimeMs now = d_.env->NowMs();
  for (;;) {
    std::vector<Answer> held = answers_.Peek(vm, 64);
    if (held.empty()) break;
    for (const Answer& a : held) {
      std::optional<Answer> done = answers_.Done(vm, a.files.cid);
      if (!done) continue;
      ++dropped;
      if (done->journaled) {
        if (auto s = d_.journal->MarkAbandoned(vm, done->files.cid, now, why); !s) {
          d_.log->Write(LogCategory::kError, {.vm = vm, .id = done->files.cid, .reason = "journal"},
                        s.error().message);
        }
      }
      if (done->spooled) d_.spool->Remove(vm, done->files.cid);
    }
  }
  return dropped;
}

// CONTRACT.md "Journal", on start: accepted → interrupted ("did not start"); started → leftovers
// killed where boot id and start time match, then interrupted; finished → delivered from the
// spool (or interrupted if the spool is gone); delivered and abandoned → nothing.

}  // namespace qvmr
