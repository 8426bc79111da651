// `check VM 'CMD'`: one decision, as the daemon would make it, printed three ways.
#include <iostream>

#include "engine/base/units.h"
#include "engine/decide/decision.h"
#include "engine/decide/decision_record.h"
#include "tools/policy/policy_tool.h"

namespace qvmr::tool {

int RunCheck(Env& env, const CommonOptions& common, const CheckOptions& options) {
  TimeMs now = 0;
  if (options.at.empty()) {
    now = env.NowMs();
  } else if (auto t = ParseTimeMs(options.at)) {
    now = *t;
  } else {
    std::cerr << "qvm-remote-policy: --at: '" << options.at
              << "' is not an ISO 8601 UTC time such as 2026-11-23T10:00:00Z\n";
    return kExitUsage;
  }
  auto policy = LoadOrReport(env, common);
  if (!policy) return kExitUsage;
  GrantSet grants = LoadGrantsOrWarn(env, common.GrantsDirectory());

  DecisionRequest request{options.vm, options.cmd};
  Decision d = Evaluate(*policy, grants, request, now);
  if (options.json) {
    nlohmann::json j = DecisionRecord(d, request);
    j["at"] = FormatTimeMs(now);
    std::cout << DumpJson(j) << "\n";
  } else if (options.explain) {
    std::cout << ExplainDecision(d, request);
  } else if (d.allow) {
    std::cout << "allow\n";
  } else {
    std::cout << "deny: " << d.reason_code << ": " << d.message << "\n";
  }
  return d.allow ? kExitOk : kExitFail;
}

}  // namespace qvmr::tool
