// Fuzzes whole decisions on the shipped policy plus its test VMs: any text from any of them must
// give a decision that explains itself, and an allow below `full` must carry a plan whose every
// simple command has the rule that allowed it at or below the effective level.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/decide/decision.h"
#include "engine/policy/policy_loader.h"

namespace {

const qvmr::Policy& ShippedPolicy() {
  static const qvmr::Policy* policy = [] {
    qvmr::LoadOptions options;
    options.dirs = {QVMR_SOURCE_DIR "/policies", QVMR_SOURCE_DIR "/tests/policy"};
    // The checkout's owner and modes are the CI machine's business, not this target's.
    options.check_trust = false;
    auto loaded = qvmr::LoadPolicy(*qvmr::Env::Posix(), options);
    if (!loaded.ok()) std::abort();
    return new qvmr::Policy(std::move(*loaded));
  }();
  return *policy;
}

std::size_t StageCount(const qvmr::Plan& plan) {
  std::size_t n = 0;
  for (const auto& p : plan.pipelines) n += p.stages.size();
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const char* const kVms[] = {"t-deny", "t-ro", "t-mon", "t-mgr", "t-mgr-any", "t-full"};
  if (size == 0) return 0;
  const qvmr::Policy& policy = ShippedPolicy();
  qvmr::GrantSet grants;
  qvmr::DecisionRequest request{kVms[data[0] % 6],
                                std::string(reinterpret_cast<const char*>(data) + 1, size - 1)};
  qvmr::Decision d = qvmr::Evaluate(policy, grants, request, 0);
  qvmr::Decision again = qvmr::Evaluate(policy, grants, request, 0);
  if (d.allow != again.allow || d.reason_code != again.reason_code) std::abort();
  if (!d.allow) {
    if (d.reason_code.empty() || d.message.empty()) std::abort();
    if (d.executor != qvmr::ExecutorKind::kNone) std::abort();
    return 0;
  }
  if (d.level == qvmr::Level::kDeny) std::abort();
  if (d.level == qvmr::Level::kFull) {
    if (d.executor != qvmr::ExecutorKind::kShell) std::abort();
    return 0;
  }
  if (d.executor != qvmr::ExecutorKind::kArgv || !d.has_plan) std::abort();
  if (d.commands.size() != StageCount(d.plan) || d.commands.empty()) std::abort();
  for (const auto& c : d.commands) {
    if (c.rule == nullptr || c.rule_pos.empty()) std::abort();
    bool own_rule = c.origin.rfind("vms.", 0) == 0;
    if (!own_rule && c.rule->level > d.level) std::abort();
  }
  return 0;
}
