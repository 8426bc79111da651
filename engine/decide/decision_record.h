// The decision record: a Decision as one JSON object, the same bytes wherever it appears —
// `qvm-remote-policy check --json` prints it, and the daemon's audit line (CONTRACT.md "Logs and
// audit") embeds it. One definition, so the two can never drift apart.
//
// Fields: decision ("allow"|"deny"), vm, cmd (the text as received), level, base_level,
// executor, reason_code, message, rule, offset, grant (object or null), commands (per simple
// command: command, rule, at, origin), plan (object or null), timeout_seconds, max_output_bytes.
// Adding a field is compatible; renaming or removing one changes the audit schema ("v") and the
// tool's output, both documented in docs/policy-reference.md.
//
// `cmd` is the VM's text whole: the audit line bounds it itself (an excerpt plus SHA-256 and
// length). Thread safety: pure functions; safe for concurrent use. Lifetime: the JSON owns copies.
#ifndef QVMR_ENGINE_DECIDE_DECISION_RECORD_H_
#define QVMR_ENGINE_DECIDE_DECISION_RECORD_H_

#include <nlohmann/json.hpp>

#include <string>

#include "engine/decide/decision.h"
#include "engine/decide/grants.h"
#include "engine/shell/shell.h"

namespace qvmr {

nlohmann::json DecisionRecord(const Decision& decision, const DecisionRequest& request);
// {vm, level, expires, created, by, file}; times RFC 3339 UTC with milliseconds.
nlohmann::json GrantJson(const Grant& grant);
// {pipelines: [{connector, stages: [{argv, redirects, offset}]}], connectors}.
nlohmann::json PlanJson(const Plan& plan);

// One line of JSON (indent < 0) or an indented document. Invalid UTF-8 (command text is the VM's
// bytes) is replaced by U+FFFD, never thrown: this never fails.
std::string DumpJson(const nlohmann::json& value, int indent = -1);

}  // namespace qvmr

#endif  // QVMR_ENGINE_DECIDE_DECISION_RECORD_H_
