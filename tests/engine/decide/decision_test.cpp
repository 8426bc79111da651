// Decisions: levels, grants, blocked patterns, shell analysis, rules, text filters, and the
// explanation each decision carries.
#include "engine/decide/decision.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/base/units.h"
#include "engine/policy/policy_loader.h"
#include "support/fake_env.h"

namespace qvmr {
namespace {

using testing::FakeEnv;
using ::testing::HasSubstr;

constexpr char kPolicy[] = R"(version: 1
commands:
  qvm-ls:
    options: ['--running', '--raw-list']
  qvm-prefs:
    options: ['-g|--get', '-s|--set', '-D|--default', '--hide-default']
  qvm-start:
    options: ['-q|--quiet']
  journalctl:
    options: ['--no-pager', '-n|--lines=', '-u|--unit=', '--cursor-file=']
  grep:
    options: ['-i', '-v', '-e|--regexp=', '-r|--recursive', '-f|--file=']
  echo:
    operands_only: true
  true: {}
classes:
  read-only:
    - 'qvm-ls [--running] [--raw-list]'
    - 'qvm-prefs <vm>'
    - 'qvm-prefs <vm> <prop>'
    - {argv: 'grep [-i] [-v] <text>', filter: true}
    - 'echo [<text>]...'
    - 'true'
  monitor:
    - 'journalctl --no-pager [-n <int>] [-u <word>]'
  manage:
    - 'qvm-start <vm>'
    - 'qvm-prefs <vm> {memory,maxmem} <int>'
blocked:
  - {pattern: 'rm\s+-rf\s+/', reason: 'wipes dom0'}
  - {pattern: 'qvm-remove', reason: 'removes a VM'}
vms:
  reader: {level: read-only}
  watcher: {level: monitor}
  manager: {level: manage, targets: ['*']}
  agent:
    level: read-only
    targets: [sandbox-1]
    allow: ['qvm-start <vm>']
    max_dev_mode: manage
  root-ish: {level: full}
  shut: {level: deny, allow: ['qvm-ls']}
  lonely: {level: manage}
  helper: {level: read-only, allow: ['qvm-start <vm>']}
  builder: {level: manage, targets: ['build-*']}
  named:
    level: manage
    targets: ['*', default-mgmt-dvm, fedora-40-dvm, vault, anon-whonix, whonix-gw-17, fedora-40,
              debian-12, disp-mgmt-work, sys-usb, dom0, named]
)";

class DecisionTest : public ::testing::Test {
 protected:
  DecisionTest() {
    env.AddFile("/p/policy.yaml", kPolicy);
    LoadOptions o;
    o.dirs = {"/p"};
    auto p = LoadPolicy(env, o);
    EXPECT_TRUE(p.ok()) << p.error().ToString();
    if (p.ok()) policy = std::move(*p);
  }
  Decision Eval(const std::string& vm, const std::string& text) {
    return Evaluate(policy, grants, DecisionRequest{vm, text}, now);
  }
  FakeEnv env;
  Policy policy;
  GrantSet grants;
  TimeMs now = *ParseTimeMs("2026-11-23T10:00:00Z");
};

TEST_F(DecisionTest, ReadOnlyAllowsQueriesAndNamesTheRule) {
  Decision d = Eval("reader", "qvm-ls --running");
  ASSERT_TRUE(d.allow) << d.message;
  EXPECT_EQ(d.level, Level::kReadOnly);
  EXPECT_EQ(d.executor, ExecutorKind::kArgv);
  ASSERT_EQ(d.commands.size(), 1u);
  EXPECT_EQ(d.commands[0].rule_text, "qvm-ls [--running] [--raw-list]");
  EXPECT_EQ(d.commands[0].rule_pos, "/p/policy.yaml:18");
  EXPECT_EQ(d.rule, "/p/policy.yaml:18");
  EXPECT_EQ(d.commands[0].origin, "read-only");
  ASSERT_EQ(d.plan.pipelines.size(), 1u);
  EXPECT_EQ(d.plan.pipelines[0].stages[0].argv, (std::vector<std::string>{"qvm-ls", "--running"}));
}

TEST_F(DecisionTest, WriteNeedsManageAndTheMessageSaysSo) {
  Decision d = Eval("reader", "qvm-prefs work memory 400");
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.reason_code, "no-rule");
  EXPECT_THAT(d.message, HasSubstr("needs level manage"));
  EXPECT_THAT(d.message, HasSubstr("/p/policy.yaml:28"));
  EXPECT_TRUE(Eval("manager", "qvm-prefs work memory 400").allow);
  EXPECT_FALSE(Eval("manager", "qvm-prefs work kernel 400").allow);
}

TEST_F(DecisionTest, LevelsAreCumulative) {
  EXPECT_FALSE(Eval("reader", "journalctl --no-pager -n 5").allow);
  EXPECT_TRUE(Eval("watcher", "journalctl --no-pager -n 5").allow);
  EXPECT_TRUE(Eval("watcher", "qvm-ls").allow);
  EXPECT_TRUE(Eval("manager", "journalctl --no-pager").allow);
  EXPECT_FALSE(Eval("watcher", "journalctl --no-pager --cursor-f=/x").allow);
}

TEST_F(DecisionTest, UnknownVmGetsDefaultLevelDeny) {
  Decision d = Eval("stranger", "qvm-ls");
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.reason_code, "level-deny");
  EXPECT_THAT(d.message, HasSubstr("defaults.level"));
}

TEST_F(DecisionTest, DenyLevelIgnoresAllowRules) {
  EXPECT_EQ(Eval("shut", "qvm-ls").reason_code, "level-deny");
}

TEST_F(DecisionTest, InvalidVmNameIsDenied) {
  EXPECT_EQ(Eval("../x", "qvm-ls").reason_code, "bad-vm");
}

TEST_F(DecisionTest, FullRunsAShellButBlockedStillApplies) {
  Decision d = Eval("root-ish", "for i in 1 2; do echo $i; done");
  ASSERT_TRUE(d.allow);
  EXPECT_EQ(d.executor, ExecutorKind::kShell);
  EXPECT_FALSE(d.has_plan);
  EXPECT_EQ(Eval("root-ish", "rm -rf /").reason_code, "blocked");
  // Quote tricks: the normalized simple command is `rm -rf /`.
  Decision quoted = Eval("root-ish", "'rm'' -rf /'");
  EXPECT_EQ(quoted.reason_code, "blocked");
  EXPECT_EQ(quoted.rule, "/p/policy.yaml:30");
  EXPECT_EQ(Eval("root-ish", "rm  -rf   /").reason_code, "blocked");
  EXPECT_EQ(Eval("root-ish", "echo a; qvm-remov''e x").reason_code, "blocked");
}

TEST_F(DecisionTest, BlockedAppliesBelowFullToo) {
  Decision d = Eval("reader", "echo qvm-remove");
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.reason_code, "blocked");
  EXPECT_THAT(d.message, HasSubstr("removes a VM"));
}

TEST_F(DecisionTest, ShellConstructsAreDeniedBelowFullWithTheirCode) {
  Decision d = Eval("reader", "qvm-ls $(echo x)");
  EXPECT_EQ(d.reason_code, "command-substitution");
  EXPECT_EQ(d.offset, 7u);
  EXPECT_EQ(Eval("reader", "qvm-ls > /tmp/x").reason_code, "redirection");
  EXPECT_EQ(Eval("reader", "qvm-ls &").reason_code, "background");
  EXPECT_EQ(Eval("reader", "env qvm-ls").reason_code, "wrapper");
}

TEST_F(DecisionTest, PipelinesNeedEveryStageAllowed) {
  Decision d = Eval("reader", "qvm-ls --raw-list | grep -i work && echo found");
  ASSERT_TRUE(d.allow) << d.message;
  ASSERT_EQ(d.commands.size(), 3u);
  EXPECT_EQ(d.commands[1].origin, "read-only");
  EXPECT_EQ(d.plan.connectors[1], Connector::kAnd);
  EXPECT_FALSE(Eval("reader", "qvm-ls | qvm-prefs work memory 1").allow);
}

TEST_F(DecisionTest, FiltersOnlyAfterTheFirstStageAndWithoutFiles) {
  Decision first = Eval("reader", "grep root");
  EXPECT_FALSE(first.allow);
  EXPECT_EQ(first.reason_code, "filter-position");
  // A file operand is a second operand: no rule matches.
  EXPECT_EQ(Eval("reader", "qvm-ls | grep x /etc/shadow").reason_code, "no-rule");
  EXPECT_EQ(Eval("reader", "qvm-ls | grep -r x").reason_code, "no-rule");
  EXPECT_EQ(Eval("reader", "qvm-ls | grep --fil=/x y").reason_code, "no-rule");
}

TEST_F(DecisionTest, ArgvReadingErrorsAreReasonCodes) {
  EXPECT_EQ(Eval("reader", "qvm-ls --bogus").reason_code, "unknown-option");
  EXPECT_EQ(Eval("watcher", "journalctl --no-pager -n").reason_code, "missing-value");
  EXPECT_EQ(Eval("reader", "ls -l").reason_code, "no-rule");
}

TEST_F(DecisionTest, TargetsBoundTheVmPlaceholder) {
  EXPECT_TRUE(Eval("agent", "qvm-start sandbox-1").allow);
  Decision other = Eval("agent", "qvm-start work");
  EXPECT_FALSE(other.allow);
  EXPECT_THAT(other.message, HasSubstr("only this VM's targets: sandbox-1; never agent itself"));
  EXPECT_THAT(Eval("manager", "qvm-start sys-net").message,
              HasSubstr("any VM matching '*' that is not protected (dom0, sys-*, disp-mgmt-*"));
  EXPECT_FALSE(Eval("agent", "qvm-start agent").allow);
  // The manage class's <vm> does not widen an agent with targets even at manage.
  EXPECT_FALSE(Eval("manager", "qvm-start sys-net").allow);
  EXPECT_FALSE(Eval("manager", "qvm-start dom0").allow);
  EXPECT_FALSE(Eval("manager", "qvm-start manager").allow);
  EXPECT_TRUE(Eval("manager", "qvm-start work").allow);
  Decision via_allow = Eval("agent", "qvm-start sandbox-1");
  EXPECT_EQ(via_allow.commands[0].origin, "vms.agent.allow");
}

TEST_F(DecisionTest, GrantRaisesLevelUntilTheMillisecond) {
  Grant g = *MakeGrant(policy, "agent", 1800, std::nullopt, now, "admin");
  grants.by_vm["agent"] = g;
  now = g.expires_ms - 1;
  Decision during = Eval("agent", "qvm-prefs sandbox-1 memory 400");
  ASSERT_TRUE(during.allow) << during.message;
  EXPECT_EQ(during.level, Level::kManage);
  EXPECT_EQ(during.base_level, Level::kReadOnly);
  ASSERT_TRUE(during.grant.has_value());
  EXPECT_THAT(ExplainDecision(during, {"agent", "x"}), HasSubstr("dev-mode grant"));
  now = g.expires_ms + 1;
  Decision after = Eval("agent", "qvm-prefs sandbox-1 memory 400");
  EXPECT_FALSE(after.allow);
  EXPECT_FALSE(after.grant.has_value());
  EXPECT_EQ(after.level, Level::kReadOnly);
}

TEST_F(DecisionTest, BlockedBeatsGrants) {
  grants.by_vm["agent"] = *MakeGrant(policy, "agent", 60, std::nullopt, now, "admin");
  EXPECT_EQ(Eval("agent", "qvm-remove sandbox-1").reason_code, "blocked");
}

TEST_F(DecisionTest, ExplanationNamesRuleAndPosition) {
  Decision d = Eval("reader", "qvm-prefs work netvm");
  std::string text = ExplainDecision(d, {"reader", "qvm-prefs work netvm"});
  EXPECT_THAT(text, HasSubstr("decision: allow"));
  EXPECT_THAT(text, HasSubstr("qvm-prefs <vm> <prop>"));
  EXPECT_THAT(text, HasSubstr("/p/policy.yaml:20"));
  Decision denied = Eval("reader", "qvm-ls `id`");
  EXPECT_THAT(ExplainDecision(denied, {"reader", "qvm-ls `id`"}),
              HasSubstr("reason: command-substitution"));
}

TEST_F(DecisionTest, TimeoutAndOutputCapsComeFromPolicy) {
  Decision d = Eval("reader", "qvm-ls");
  EXPECT_EQ(d.timeout_seconds, 300);
  EXPECT_EQ(d.max_output_bytes, 10u << 20);
}

}  // namespace
}  // namespace qvmr

namespace qvmr {
namespace {

// Denial messages quote what the VM sent: bounded, one line, no control bytes.
TEST_F(DecisionTest, MessagesQuoteVmTextBoundedOnOneLine) {
  const std::string long_option = "--" + std::string(60000, 'x');
  for (const std::string& text : std::vector<std::string>{
           "qvm-ls '" + long_option + "'", std::string("qvm-ls '--a\nb\x1b[31m'"),
           "'env\n" + std::string(5000, 'e') + "' x", "X='a\tb' qvm-ls",
           "find / -exec" + std::string(3000, 'f')}) {
    Decision d = Eval("reader", text);
    ASSERT_FALSE(d.allow) << text.substr(0, 40);
    EXPECT_LT(d.message.size(), 600u) << d.message.substr(0, 200);
    EXPECT_EQ(d.message.find('\n'), std::string::npos) << d.message;
    EXPECT_EQ(d.message.find('\t'), std::string::npos) << d.message;
    EXPECT_EQ(d.message.find('\x1b'), std::string::npos) << d.message;
  }
  EXPECT_THAT(Eval("reader", "qvm-ls '--a\nb'").message, HasSubstr("'--a\\x0ab'"));
}

}  // namespace
}  // namespace qvmr

namespace qvmr {
namespace {

bool OutOfMemorySearch(const RE2::Set&, std::string_view, std::vector<int>* hits,
                       RE2::Set::ErrorInfo* error) {
  hits->clear();
  error->kind = RE2::Set::kOutOfMemory;
  return false;
}

// `blocked` is the one check of every level: an RE2 search that could not finish denies with
// `limit` — at full (where nothing else checks the text) and below it — and never reads as a miss.
TEST_F(DecisionTest, ABlockedSearchRe2CouldNotFinishDeniesAtEveryLevel) {
  BlocklistOptions options;
  options.search = &OutOfMemorySearch;
  auto failing = Blocklist::Compile(policy.blocklist.patterns(), options);
  ASSERT_TRUE(failing.ok());
  policy.blocklist = std::move(*failing);
  for (const char* vm : {"root-ish", "reader", "manager"}) {
    Decision d = Eval(vm, "qvm-ls");
    EXPECT_FALSE(d.allow) << vm;
    EXPECT_EQ(d.reason_code, "limit") << vm;
    EXPECT_EQ(d.executor, ExecutorKind::kNone) << vm;
    EXPECT_THAT(d.message, HasSubstr("RE2 ran out of memory")) << vm;
  }
  grants.by_vm["agent"] = *MakeGrant(policy, "agent", 60, std::nullopt, now, "admin");
  EXPECT_EQ(Eval("agent", "qvm-start sandbox-1").reason_code, "limit");
}

}  // namespace
}  // namespace qvmr

namespace qvmr {
namespace {

// Without `targets`, `<vm>` in a manage rule or an own allow rule names no VM: `no-targets`,
// and the message says which file to edit. Read-only rules still take any VM name.
TEST_F(DecisionTest, WithoutTargetsVmNamesNoVmAndTheDenialSaysWhereToAddThem) {
  Decision d = Eval("lonely", "qvm-start work");
  EXPECT_FALSE(d.allow);
  EXPECT_EQ(d.reason_code, "no-targets");
  EXPECT_THAT(d.message, HasSubstr("VM 'lonely' has no targets"));
  EXPECT_THAT(d.message, HasSubstr("to vms.lonely in /p/policy.yaml"));
  EXPECT_THAT(d.message, HasSubstr("rule 'qvm-start <vm>' (/p/policy.yaml:"));
  EXPECT_EQ(Eval("lonely", "qvm-prefs work memory 400").reason_code, "no-targets");
  EXPECT_TRUE(Eval("lonely", "qvm-prefs work").allow);  // read-only: <vm> is any VM
  EXPECT_TRUE(Eval("lonely", "qvm-prefs dom0 netvm").allow);
  Decision own = Eval("helper", "qvm-start work");
  EXPECT_EQ(own.reason_code, "no-targets");
  EXPECT_THAT(own.message, HasSubstr("to vms.helper in /p/policy.yaml"));
}

TEST_F(DecisionTest, AHigherLevelRuleSaysTheLevelAndThatVmNamesNothingWithoutTargets) {
  Decision d = Eval("reader", "qvm-start work");
  EXPECT_EQ(d.reason_code, "no-rule");
  EXPECT_THAT(d.message, HasSubstr("needs level manage"));
  EXPECT_THAT(d.message, HasSubstr("there <vm> names no VM (no targets)"));
}

// `targets: ['*']` opts in to every VM except the protected ones and the requester; each
// default protected pattern refuses, and an explicitly named target is allowed all the same.
TEST_F(DecisionTest, StarTargetsSkipEveryDefaultProtectedVmButExplicitNamesWin) {
  for (const char* vm :
       {"default-mgmt-dvm", "fedora-40-dvm", "vault", "anon-whonix", "whonix-gw-17", "fedora-40",
        "debian-12", "disp-mgmt-work", "sys-usb", "dom0"}) {
    const std::string cmd = std::string("qvm-start ") + vm;
    Decision refused = Eval("manager", cmd);
    EXPECT_FALSE(refused.allow) << vm;
    EXPECT_EQ(refused.reason_code, "no-rule") << vm;
    EXPECT_THAT(refused.message, HasSubstr("that is not protected")) << vm;
    Decision named = Eval("named", cmd);
    EXPECT_TRUE(named.allow) << vm << ": " << named.message;
  }
  EXPECT_FALSE(Eval("manager", "qvm-start manager").allow);  // the requester itself
  EXPECT_FALSE(Eval("named", "qvm-start named").allow);      // even when targets lists it
  EXPECT_TRUE(Eval("manager", "qvm-start work").allow);
  EXPECT_TRUE(Eval("named", "qvm-start work").allow);
  // Not protected: names that only resemble the patterns.
  EXPECT_TRUE(Eval("manager", "qvm-start my-sys-net").allow);
  EXPECT_TRUE(Eval("manager", "qvm-start dvm-work").allow);
  EXPECT_TRUE(Eval("manager", "qvm-start vaulted").allow);
}

TEST_F(DecisionTest, PatternTargetsCoverTheirMatchesMinusTheProtectedOnes) {
  EXPECT_TRUE(Eval("builder", "qvm-start build-1").allow);
  EXPECT_TRUE(Eval("builder", "qvm-prefs build-x memory 400").allow);
  Decision other = Eval("builder", "qvm-start work");
  EXPECT_EQ(other.reason_code, "no-rule");
  EXPECT_THAT(other.message, HasSubstr("any VM matching 'build-*' that is not protected"));
  EXPECT_FALSE(Eval("builder", "qvm-start build-dvm").allow);  // also `*-dvm`: protected
}

}  // namespace
}  // namespace qvmr
