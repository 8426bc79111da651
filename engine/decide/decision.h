// The decision: given the loaded policy, the grants, a request and the time, whether and how the
// command may run — and why, in terms a person can act on. Pure: no clock, no files.
//
// Order of checks (docs/policy-reference.md "Decisions"): effective level (base level raised by
// an unexpired grant, capped by max_dev_mode); `blocked` over the raw text and each simple
// command's normalized form (every level, dev-mode included; a search RE2 cannot finish denies);
// `deny` level; `full` → shell executor; below `full` → shell analysis, then a rule for every
// simple command.
//
// Cost: one shell analysis pass, one RE2 set pass per simple command, and for each simple command
// one argv reading plus a scan of the rules for its program only. No allocation proportional to
// the policy's size.
//
// Thread safety: Evaluate is pure; any number of threads may evaluate against one Policy and one
// GrantSet at once (both are only read). Lifetime: a Decision points into the Policy it was made
// with (CommandVerdict::rule is a `const Rule*`; the plan's text is copied), so keep the
// `shared_ptr<const Policy>` alive as long as the Decision. Failure: none — every input gets a
// Decision; anything the engine cannot prove is a deny with a reason code. The decision record
// (JSON for `check --json` and the audit line) is engine/decide/decision_record.h.
#ifndef QVMR_ENGINE_DECIDE_DECISION_H_
#define QVMR_ENGINE_DECIDE_DECISION_H_

#include <optional>
#include <string>
#include <vector>

#include "engine/base/env.h"
#include "engine/base/level.h"
#include "engine/decide/grants.h"
#include "engine/policy/policy.h"
#include "engine/shell/shell.h"

namespace qvmr {

struct DecisionRequest {
  std::string vm;    // the requesting VM (already authenticated)
  std::string text;  // the command text as received
};

enum class ExecutorKind { kNone, kArgv, kShell };
std::string_view ExecutorName(ExecutorKind executor);

// Why one simple command was allowed.
struct CommandVerdict {
  std::string normalized;  // argv joined by spaces
  const Rule* rule = nullptr;
  std::string rule_text;
  std::string rule_pos;  // "file:line"
  std::string origin;    // class name or "vms.<vm>.allow"
};

struct Decision {
  bool allow = false;
  Level level = Level::kDeny;       // effective level
  Level base_level = Level::kDeny;  // before any grant
  std::optional<Grant> grant;       // the grant that raised the level, if one did
  ExecutorKind executor = ExecutorKind::kNone;
  bool has_plan = false;
  Plan plan;
  std::vector<CommandVerdict> commands;  // allow below full: one per simple command, plan order

  // For a deny: a stable code, a message, and where (rule or pattern file:line, byte offset).
  std::string reason_code;
  std::string message;
  std::string rule;        // allow: first command's rule file:line; deny: blocked pattern's
  std::size_t offset = 0;  // byte offset of the refused construct or command

  std::int64_t timeout_seconds = 0;
  std::uint64_t max_output_bytes = 0;
};

// Stable deny codes beyond the shell's (engine/shell.h) and the argv reader's
// (engine/option_table.h): blocked, limit (the blocked search could not finish: RE2 out of
// memory), level-deny, no-rule, no-targets (`<vm>` in a manage or own allow rule, for a VM
// without `targets`), filter-position, bad-vm.
Decision Evaluate(const Policy& policy, const GrantSet& grants, const DecisionRequest& request,
                  TimeMs now);

// Multi-line human explanation of a decision (`check --explain`).
std::string ExplainDecision(const Decision& decision, const DecisionRequest& request);

}  // namespace qvmr

#endif  // QVMR_ENGINE_DECIDE_DECISION_H_
