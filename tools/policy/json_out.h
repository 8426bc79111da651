// JSON forms of engine values for `dump --json`. The decision record (`check --json`), grants,
// plans and DumpJson are the engine's: engine/decide/decision_record.h.
#ifndef QVMR_TOOLS_POLICY_JSON_OUT_H_
#define QVMR_TOOLS_POLICY_JSON_OUT_H_

#include <nlohmann/json.hpp>

#include <string>

#include "engine/decide/decision_record.h"
#include "engine/policy/rule.h"
#include "engine/shell/shell.h"

namespace qvmr::tool {

nlohmann::json RuleJson(const Rule& rule);
nlohmann::json PosJson(const SourcePos& pos);  // null for no position

}  // namespace qvmr::tool

#endif  // QVMR_TOOLS_POLICY_JSON_OUT_H_
