// `test [FILE...] [--coverage]`: runs the policy's `tests:` cases (and those of FILEs, loaded as
// extra policy files). Cases are evaluated at their `at`, else at a fixed instant, so a run does
// not depend on the clock; with no grants unless --grants-dir is given.
#include <iostream>
#include <set>

#include "engine/base/units.h"
#include "engine/decide/decision.h"
#include "tools/policy/policy_tool.h"

namespace qvmr::tool {
namespace {

constexpr std::string_view kFixedInstant = "2026-11-23T12:00:00Z";

std::string Quoted(const std::string& s) {
  return "'" + s + "'";
}

// Compares one case; returns the list of mismatches as "expected X, got Y" parts.
std::vector<std::pair<std::string, std::string>> Compare(const PolicyTest& t, const Decision& d) {
  std::vector<std::pair<std::string, std::string>> diffs;
  const std::string got = d.allow ? "allow" : "deny";
  const std::string want = t.expect_allow ? "allow" : "deny";
  if (got != want) diffs.push_back({want, got});
  if (t.rule) {
    std::string got_rule = d.commands.empty() ? std::string() : d.commands.front().rule_text;
    if (NormalizeSpace(*t.rule) != NormalizeSpace(got_rule)) {
      diffs.push_back({"rule " + Quoted(NormalizeSpace(*t.rule)),
                       got_rule.empty() ? "no rule" : "rule " + Quoted(NormalizeSpace(got_rule))});
    }
  }
  if (t.reason && *t.reason != d.reason_code) {
    diffs.push_back(
        {"reason " + *t.reason, d.reason_code.empty() ? "no reason" : "reason " + d.reason_code});
  }
  if (t.level && *t.level != d.level) {
    diffs.push_back(
        {"level " + std::string(LevelName(*t.level)), "level " + std::string(LevelName(d.level))});
  }
  return diffs;
}

std::string Explain(const Decision& d) {
  if (!d.allow) return d.reason_code + ": " + d.message;
  if (d.commands.empty()) return "executor " + std::string(ExecutorName(d.executor));
  return "by '" + d.commands.front().rule_text + "' at " + d.commands.front().rule_pos;
}

}  // namespace

int RunTests(Env& env, const CommonOptions& common, const TestOptions& options) {
  auto policy = LoadOrReport(env, common, options.files);
  if (!policy) return kExitUsage;
  GrantSet grants;
  if (options.use_grants) grants = LoadGrantsOrWarn(env, common.GrantsDirectory());
  const TimeMs fixed = *ParseTimeMs(kFixedInstant);

  std::size_t passed = 0, failed = 0;
  std::set<const Rule*> used;
  for (const PolicyTest& t : policy->tests) {
    TimeMs at = fixed;
    if (t.at) {
      auto parsed = ParseTimeMs(*t.at);
      if (!parsed) {  // the loader checks `at`; never trust that blindly
        std::cout << "FAIL " << t.pos.FileLine() << ": " << t.vm << " " << Quoted(t.cmd)
                  << ": bad at '" << *t.at << "'\n";
        ++failed;
        continue;
      }
      at = *parsed;
    }
    Decision d = Evaluate(*policy, grants, DecisionRequest{t.vm, t.cmd}, at);
    auto diffs = Compare(t, d);
    if (diffs.empty()) {
      ++passed;
      if (d.allow) {
        for (const CommandVerdict& c : d.commands) used.insert(c.rule);
      }
      continue;
    }
    ++failed;
    std::string want, got;
    for (const auto& [w, g] : diffs) {
      want += (want.empty() ? "" : " and ") + w;
      got += (got.empty() ? "" : " and ") + g;
    }
    std::cout << "FAIL " << t.pos.FileLine() << ": " << t.vm << " " << Quoted(t.cmd)
              << ": expected " << want << ", got " << got << " (" << Explain(d) << ")\n";
  }
  std::cout << passed << " passed, " << failed << " failed\n";

  bool coverage_ok = true;
  if (options.coverage) {
    std::vector<const Rule*> all;
    for (const Rule& r : policy->rules) all.push_back(&r);
    for (const auto& [name, vm] : policy->vms) {
      for (const Rule& r : vm.allow) all.push_back(&r);
    }
    std::size_t covered = 0;
    for (const Rule* r : all) {
      if (used.count(r)) {
        ++covered;
      } else {
        std::cout << "uncovered: " << r->pos.FileLine() << ": " << r->origin << ": " << r->text
                  << "\n";
      }
    }
    const std::size_t percent = all.empty() ? 100 : covered * 100 / all.size();
    std::cout << "coverage: " << covered << "/" << all.size() << " rules (" << percent << "%)\n";
    coverage_ok = covered == all.size();
  }
  return failed == 0 && coverage_ok ? kExitOk : kExitFail;
}

}  // namespace qvmr::tool
