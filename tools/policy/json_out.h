// JSON forms of engine values for `check --json` and `dump --json`.
#ifndef QVMR_TOOLS_POLICY_JSON_OUT_H_
#define QVMR_TOOLS_POLICY_JSON_OUT_H_

#include <nlohmann/json.hpp>

#include <string>

#include "engine/decide/decision.h"
#include "engine/decide/grants.h"
#include "engine/policy/rule.h"
#include "engine/shell/shell.h"

namespace qvmr::tool {

nlohmann::json GrantJson(const Grant& grant);
nlohmann::json PlanJson(const Plan& plan);
nlohmann::json DecisionJson(const Decision& decision, const DecisionRequest& request);
nlohmann::json RuleJson(const Rule& rule);
nlohmann::json PosJson(const SourcePos& pos);  // null for no position

// One line of JSON; invalid UTF-8 (command text is the VM's bytes) is replaced, never thrown.
std::string DumpJson(const nlohmann::json& value, int indent = -1);

}  // namespace qvmr::tool

#endif  // QVMR_TOOLS_POLICY_JSON_OUT_H_
