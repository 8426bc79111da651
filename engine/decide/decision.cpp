#include "engine/decide/decision.h"

#include "engine/base/excerpt.h"
#include "engine/base/units.h"
#include "engine/base/vm_name.h"
#include "engine/policy/targets.h"

namespace qvmr {
namespace {

std::string LevelText(Level level) {
  return std::string(LevelName(level));
}

void Deny(Decision& d, std::string code, std::string message, std::size_t offset = 0) {
  d.allow = false;
  d.executor = ExecutorKind::kNone;
  d.reason_code = std::move(code);
  d.message = std::move(message);
  d.offset = offset;
}

struct RuleSearch {
  const Rule* rule = nullptr;
  std::string code;  // when no rule: no-rule, filter-position or an argv reading code
  std::string message;
};

RuleSearch FindRule(const Policy& policy, const VmPolicy* vm, const SimpleCommand& cmd,
                    const std::string& normalized, std::size_t stage, Level level,
                    const MatchContext& ctx) {
  RuleSearch out;
  const std::string& program = cmd.argv.front();
  auto table = policy.commands.find(program);
  if (table == policy.commands.end()) {
    out.code = "no-rule";
    out.message = "no rule allows '" + Excerpt(program) + "': the policy has no rules for it";
    return out;
  }
  ArgvReading reading = ReadArgv(table->second, cmd.argv);
  if (!reading.ok) {
    out.code = reading.error.code;
    out.message = reading.error.message + " (in '" + Excerpt(normalized) + "')";
    return out;
  }
  const Rule* misplaced_filter = nullptr;
  auto try_rule = [&](const Rule& rule) {
    if (!RuleMatches(rule, reading.parsed, ctx)) return false;
    if (rule.filter && stage == 0) {
      if (!misplaced_filter) misplaced_filter = &rule;
      return false;
    }
    out.rule = &rule;
    return true;
  };
  if (vm && level >= Level::kReadOnly) {
    for (const Rule& rule : vm->allow) {
      if (rule.program == program && try_rule(rule)) return out;
    }
  }
  MatchContext unscoped = ctx;
  unscoped.unscoped = true;
  static const std::vector<std::string> kNone;
  auto range = [&] {  // only for messages: no cost on the allow path
    return DescribeTargets(ctx.targets, ctx.protected_patterns ? *ctx.protected_patterns : kNone,
                           ctx.requester);
  };
  auto by_program = policy.rules_by_program.find(program);
  if (by_program != policy.rules_by_program.end()) {
    const std::size_t operands = reading.parsed.operands.size();
    const std::size_t options = reading.parsed.options.size();
    for (const RuleIndexEntry& entry : by_program->second) {
      if (entry.level <= level && entry.Admits(operands, options) && try_rule(*entry.rule)) {
        return out;
      }
    }
  }
  // A rule of a higher level: say which level would allow it. Unscoped: also a targeted rule
  // that matches only if `<vm>` named any VM (the targets would have to cover it as well).
  auto needs_level = [&](bool scoped) {
    if (by_program == policy.rules_by_program.end()) return false;
    const std::size_t operands = reading.parsed.operands.size();
    const std::size_t options = reading.parsed.options.size();
    for (const RuleIndexEntry& entry : by_program->second) {
      const Rule* rule = entry.rule;
      if (entry.level <= level || !entry.Admits(operands, options)) continue;
      if (!scoped && rule->vm_scope != VmScope::kTargeted) continue;
      if (!RuleMatches(*rule, reading.parsed, scoped ? ctx : unscoped)) continue;
      out.code = "no-rule";
      out.message = "'" + Excerpt(normalized) + "' needs level " + LevelText(rule->level) +
                    " (rule '" + rule->text + "' at " + rule->pos.FileLine() +
                    "); this VM has level " + LevelText(level);
      if (!scoped) out.message += ", and there <vm> names " + range();
      return true;
    }
    return false;
  };
  if (needs_level(/*scoped=*/true)) return out;
  // A rule that would match if `<vm>` ranged over every VM: say what it does range over, and
  // for a VM without targets, that it names none and where to add them.
  auto scope_hint = [&](const Rule& rule) {
    if (rule.vm_scope != VmScope::kTargeted || !RuleMatches(rule, reading.parsed, unscoped)) {
      return false;
    }
    if (!ctx.targets) {
      out.code = "no-targets";
      out.message =
          "'" + Excerpt(normalized) + "': <vm> in rule '" + rule.text + "' (" +
          rule.pos.FileLine() + ") names no VM: VM '" + std::string(ctx.requester) +
          "' has no targets; to let it act on other VMs, add `targets:` (names, or "
          "'*' for every VM that is not protected) to " +
          (vm ? "vms." + vm->name + " in " + vm->pos.file
              : "a vms." + std::string(ctx.requester) + " entry in /etc/qubes/remote-policy.d/");
      return true;
    }
    out.code = "no-rule";
    out.message = "'" + Excerpt(normalized) + "': <vm> in rule '" + rule.text + "' (" +
                  rule.pos.FileLine() + ") names only this VM's targets: " + range();
    return true;
  };
  if (vm && level >= Level::kReadOnly) {
    for (const Rule& rule : vm->allow) {
      if (rule.program == program && scope_hint(rule)) return out;
    }
  }
  if (by_program != policy.rules_by_program.end()) {
    for (const RuleIndexEntry& entry : by_program->second) {
      if (entry.level <= level && scope_hint(*entry.rule)) return out;
    }
  }
  if (needs_level(/*scoped=*/false)) return out;
  if (misplaced_filter) {
    out.code = "filter-position";
    out.message = "'" + Excerpt(program) +
                  "' may only filter the output of an earlier pipeline stage (rule at " +
                  misplaced_filter->pos.FileLine() + ")";
    return out;
  }
  out.code = "no-rule";
  out.message = "no rule allows '" + Excerpt(normalized) + "' at level " + LevelText(level);
  return out;
}

}  // namespace

std::string_view ExecutorName(ExecutorKind executor) {
  switch (executor) {
    case ExecutorKind::kArgv:
      return "argv";
    case ExecutorKind::kShell:
      return "shell";
    case ExecutorKind::kNone:
      break;
  }
  return "none";
}

Decision Evaluate(const Policy& policy, const GrantSet& grants, const DecisionRequest& request,
                  TimeMs now) {
  Decision d;
  if (!IsValidVmName(request.vm)) {
    Deny(d, "bad-vm", "'" + Excerpt(request.vm) + "' is not a valid VM name");
    return d;
  }
  const VmPolicy* vm = policy.FindVm(request.vm);
  d.base_level = policy.BaseLevel(request.vm);
  d.level = d.base_level;
  if (auto g = grants.by_vm.find(request.vm); g != grants.by_vm.end()) {
    if (auto granted = GrantedLevel(policy, g->second, now); granted && *granted > d.level) {
      d.level = *granted;
      d.grant = g->second;
    }
  }
  d.timeout_seconds = policy.TimeoutSeconds(request.vm);
  d.max_output_bytes = policy.MaxOutputBytes(request.vm);

  // True (and `d` a deny) if a blocked pattern matches `text`, or if the search failed: the one
  // check of every level must not read an RE2 failure as "not blocked".
  auto blocked = [&](std::string_view text, std::size_t offset) {
    auto match = policy.blocklist.FirstMatch(text);
    if (!match) {
      Deny(d, match.error().code, match.error().message, offset);
      return true;
    }
    if (*match == nullptr) return false;
    const BlockedPattern& b = **match;
    d.rule = b.pos.FileLine();
    Deny(d, "blocked", "blocked: " + b.reason + " (pattern at " + b.pos.FileLine() + ")", offset);
    return true;
  };
  if (blocked(request.text, 0)) return d;
  ShellResult shell = AnalyzeShell(request.text);
  std::vector<std::string> normalized_commands;  // plan order; reused for rules and verdicts
  if (shell.ok) {
    for (const Pipeline& p : shell.plan.pipelines) {
      for (const SimpleCommand& cmd : p.stages) {
        normalized_commands.push_back(NormalizedCommand(cmd));
        if (blocked(normalized_commands.back(), cmd.offset)) return d;
      }
    }
  }
  if (d.level == Level::kDeny) {
    Deny(d, "level-deny",
         "VM '" + request.vm + "' has level deny" +
             (vm ? std::string() : " (no policy entry names it; defaults.level is deny)"));
    return d;
  }
  if (d.level == Level::kFull) {
    d.allow = true;
    d.executor = ExecutorKind::kShell;
    d.has_plan = shell.ok;
    if (shell.ok) d.plan = std::move(shell.plan);
    return d;
  }
  if (!shell.ok) {
    Deny(d, shell.denial.code,
         shell.denial.message + " (byte " + std::to_string(shell.denial.offset) +
             "); below level full only plain commands, pipes, ;, && and || are allowed",
         shell.denial.offset);
    return d;
  }

  MatchContext ctx;
  ctx.requester = request.vm;
  ctx.targets = vm && vm->targets ? &*vm->targets : nullptr;
  ctx.protected_patterns = &policy.defaults.protected_vms.value;
  std::size_t command_index = 0;
  for (const Pipeline& p : shell.plan.pipelines) {
    for (std::size_t stage = 0; stage < p.stages.size(); ++stage) {
      const SimpleCommand& cmd = p.stages[stage];
      std::string& normalized = normalized_commands[command_index++];
      RuleSearch found = FindRule(policy, vm, cmd, normalized, stage, d.level, ctx);
      if (!found.rule) {
        d.commands.clear();
        Deny(d, found.code, found.message, cmd.offset);
        return d;
      }
      d.commands.push_back({std::move(normalized), found.rule, found.rule->text,
                            found.rule->pos.FileLine(), found.rule->origin});
    }
  }
  d.allow = true;
  d.executor = ExecutorKind::kArgv;
  d.has_plan = true;
  d.plan = std::move(shell.plan);
  d.rule = d.commands.empty() ? std::string() : d.commands.front().rule_pos;
  return d;
}

std::string ExplainDecision(const Decision& d, const DecisionRequest& request) {
  std::string out = "decision: " + std::string(d.allow ? "allow" : "deny") + "\n";
  out += "vm: " + request.vm + "\nlevel: " + LevelText(d.level);
  if (d.grant) {
    out += " (base " + LevelText(d.base_level) + ", raised by a dev-mode grant until " +
           FormatTimeMs(d.grant->expires_ms) + ", by " + d.grant->by + ")";
  }
  out += "\n";
  if (d.allow) {
    out += "executor: " + std::string(ExecutorName(d.executor)) + "\n";
    if (d.executor == ExecutorKind::kShell) {
      out += "  level full: the text runs in a shell; only the blocked patterns applied\n";
    }
    for (std::size_t i = 0; i < d.commands.size(); ++i) {
      const CommandVerdict& c = d.commands[i];
      out += "command " + std::to_string(i + 1) + ": " + Excerpt(c.normalized) + "\n";
      out += "  allowed by: " + c.rule_text + "\n  at: " + c.rule_pos + " (" + c.origin + ")\n";
    }
    out += "timeout: " + FormatDuration(d.timeout_seconds) +
           "\nmax_output: " + std::to_string(d.max_output_bytes) + " bytes\n";
  } else {
    out += "reason: " + d.reason_code + "\nmessage: " + d.message + "\n";
    if (!d.rule.empty()) out += "at: " + d.rule + "\n";
    if (d.offset > 0) out += "byte: " + std::to_string(d.offset) + "\n";
  }
  return out;
}

}  // namespace qvmr
