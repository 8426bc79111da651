// The loader: merging, masking, fail-closed cases, trust and positions (issue: foundation).
#include "engine/policy/policy_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/fake_env.h"

namespace qvmr {
namespace {

using testing::FakeEnv;
using ::testing::HasSubstr;

const char kShare[] = "/usr/share/qvm-remote/policies";
const char kEtc[] = "/etc/qubes/remote-policy.d";

constexpr char kCommands[] = R"(version: 1
commands:
  qvm-ls:
    options: ['--running', '-O|--fields=', '--raw-list']
  qvm-prefs:
    options: ['-g|--get', '-s|--set', '-D|--default', '--hide-default']
)";

class LoaderTest : public ::testing::Test {
 protected:
  LoaderTest() {
    env.AddDir(kShare);
    env.AddDir(kEtc);
    env.AddFile(std::string(kShare) + "/00-commands.yaml", kCommands);
  }
  Result<Policy> Load() {
    LoadOptions o;
    o.dirs = DefaultPolicyDirs();
    return LoadPolicy(env, o);
  }
  // Loads and expects an error; returns it.
  Error LoadError() {
    auto p = Load();
    EXPECT_FALSE(p.ok());
    return p.ok() ? Error{} : p.error();
  }
  FakeEnv env;
};

TEST_F(LoaderTest, LoadsMinimalPolicyWithBuiltInDefaults) {
  auto p = Load();
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->defaults.level.value, Level::kDeny);
  EXPECT_EQ(p->defaults.timeout_seconds.value, 300);
  EXPECT_EQ(p->defaults.max_output_bytes.value, 10u << 20);
  EXPECT_EQ(p->defaults.max_dev_duration_seconds.value, 7200);
  EXPECT_EQ(p->defaults.protected_vms.value,
            (std::vector<std::string>{"dom0", "sys-*", "disp-mgmt-*", "default-mgmt-dvm", "*-dvm",
                                      "vault", "anon-whonix", "whonix-*", "fedora-*", "debian-*"}));
  EXPECT_EQ(p->files.size(), 1u);
  EXPECT_EQ(p->commands.at("qvm-ls").global.options.size(), 3u);
}

TEST_F(LoaderTest, RulesKeepFileAndLine) {
  env.AddFile(std::string(kShare) + "/10-classes.yaml",
              "version: 1\nclasses:\n  read-only:\n    - qvm-ls\n    - 'qvm-prefs <vm>'\n");
  auto p = Load();
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  ASSERT_EQ(p->rules.size(), 2u);
  EXPECT_EQ(p->rules[0].pos.FileLine(), std::string(kShare) + "/10-classes.yaml:4");
  EXPECT_EQ(p->rules[1].pos.FileLine(), std::string(kShare) + "/10-classes.yaml:5");
  EXPECT_EQ(p->rules[1].origin, "read-only");
}

TEST_F(LoaderTest, FilesLoadInNameOrderAndLaterScalarWinsWithWarning) {
  env.AddFile(std::string(kShare) + "/20-b.yaml", "version: 1\ndefaults:\n  timeout: 60s\n");
  env.AddFile(std::string(kShare) + "/10-a.yaml", "version: 1\ndefaults:\n  timeout: 30s\n");
  auto p = Load();
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->defaults.timeout_seconds.value, 60);
  EXPECT_EQ(p->defaults.timeout_seconds.pos.FileLine(), std::string(kShare) + "/20-b.yaml:3");
  ASSERT_EQ(p->warnings.size(), 1u);
  EXPECT_THAT(p->warnings[0].message, HasSubstr("10-a.yaml:3"));
}

TEST_F(LoaderTest, EtcWinsOverShareForScalars) {
  env.AddFile(std::string(kShare) + "/30-defaults.yaml", "version: 1\ndefaults: {level: deny}\n");
  env.AddFile(std::string(kEtc) + "/local.yaml", "version: 1\ndefaults: {level: read-only}\n");
  auto p = Load();
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->defaults.level.value, Level::kReadOnly);
}

TEST_F(LoaderTest, ListsAppendAcrossFiles) {
  env.AddFile(std::string(kShare) + "/10-a.yaml",
              "version: 1\nclasses:\n  read-only: ['qvm-ls']\n"
              "vms:\n  work: {targets: [a1], allow: ['qvm-ls --running']}\n"
              "blocked: [{pattern: 'x', reason: 'r1'}]\n");
  env.AddFile(std::string(kEtc) + "/20-b.yaml",
              "version: 1\nclasses:\n  read-only: ['qvm-prefs <vm>']\n"
              "vms:\n  work: {targets: [a2], allow: ['qvm-ls --raw-list']}\n"
              "blocked: [{pattern: 'y', reason: 'r2'}]\n");
  auto p = Load();
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->rules.size(), 2u);
  EXPECT_EQ(*p->vms.at("work").targets, (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(p->vms.at("work").allow.size(), 2u);
  EXPECT_EQ(p->blocklist.patterns().size(), 2u);
  EXPECT_NE(*p->blocklist.FirstMatch("y"), nullptr);
}

TEST_F(LoaderTest, EtcFileMasksSameNamedShippedFile) {
  env.AddFile(std::string(kShare) + "/20-blocked.yaml",
              "version: 1\nblocked: [{pattern: 'qvm-ls', reason: 'shipped'}]\n");
  env.AddFile(std::string(kEtc) + "/20-blocked.yaml", "version: 1\n");
  auto p = Load();
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->blocklist.patterns().size(), 0u);
  ASSERT_EQ(p->files.size(), 2u);
  EXPECT_EQ(p->files[1], std::string(kEtc) + "/20-blocked.yaml");
}

TEST_F(LoaderTest, MaskingDoesNotReorderLaterDirectoryAfterEarlierFiles) {
  // The masking file loads in the later directory's turn, so its scalar wins over 99-z.
  env.AddFile(std::string(kShare) + "/10-a.yaml", "version: 1\ndefaults: {timeout: 10s}\n");
  env.AddFile(std::string(kShare) + "/99-z.yaml", "version: 1\ndefaults: {timeout: 99s}\n");
  env.AddFile(std::string(kEtc) + "/10-a.yaml", "version: 1\ndefaults: {timeout: 20s}\n");
  auto p = Load();
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->defaults.timeout_seconds.value, 20);
}

TEST_F(LoaderTest, MissingDirectoryContributesNothing) {
  LoadOptions o;
  o.dirs = {kShare, "/nonexistent"};
  EXPECT_TRUE(LoadPolicy(env, o).ok());
}

TEST_F(LoaderTest, IgnoresNonYamlAndHiddenFiles) {
  env.AddFile(std::string(kEtc) + "/notes.txt", "garbage: [");
  env.AddFile(std::string(kEtc) + "/.swap.yaml", "garbage: [");
  EXPECT_TRUE(Load().ok());
}

// ---- fail closed, with positions ----

TEST_F(LoaderTest, ObsoleteNumberAndBootLookaheadLoadFromYaml) {
  env.AddFile(std::string(kShare) + "/01-filters.yaml", R"(version: 1
commands:
  head:
    obsolete_number: '-n'
    options: ['-n|--lines=', '-q|--quiet']
  journalctl:
    options: ['-b|--boot=?(boot)']
)");
  auto p = Load();
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->commands.at("head").obsolete_number, "-n");
  EXPECT_EQ(p->commands.at("journalctl").global.options[0].lookahead, Lookahead::kBoot);
}

TEST_F(LoaderTest, ObsoleteNumberMustNameAnOptionTakingAValue) {
  for (const char* table : {"options: ['-q']\n    obsolete_number: '-q'",
                            "options: ['-n|--lines=']\n    obsolete_number: '-c'",
                            "options: ['-n|--lines=']\n    obsolete_number: [x]"}) {
    env.AddFile(std::string(kShare) + "/01-filters.yaml",
                std::string("version: 1\ncommands:\n  head:\n    ") + table + "\n");
    Error e = LoadError();
    EXPECT_THAT(e.message, HasSubstr("obsolete_number")) << table;
  }
}

TEST_F(LoaderTest, YamlSyntaxErrorHasLineAndColumn) {
  env.AddFile(std::string(kEtc) + "/bad.yaml", "version: 1\nvms:\n  work: [a, b\n");
  Error e = LoadError();
  EXPECT_EQ(e.code, "yaml-syntax");
  EXPECT_EQ(e.pos.file, std::string(kEtc) + "/bad.yaml");
  EXPECT_GT(e.pos.line, 0);
  EXPECT_GT(e.pos.column, 0);
}

TEST_F(LoaderTest, UnknownTopLevelKey) {
  env.AddFile(std::string(kEtc) + "/bad.yaml", "version: 1\nvms: {}\npolicy: x\n");
  Error e = LoadError();
  EXPECT_EQ(e.code, "unknown-key");
  EXPECT_EQ(e.pos.line, 3);
  EXPECT_EQ(e.pos.column, 1);
  EXPECT_EQ(e.ToString().rfind(std::string(kEtc) + "/bad.yaml:3:1: error: unknown key 'policy'", 0),
            0u)
      << e.ToString();
}

TEST_F(LoaderTest, UnknownVmKey) {
  env.AddFile(std::string(kEtc) + "/bad.yaml", "version: 1\nvms:\n  work:\n    levle: manage\n");
  Error e = LoadError();
  EXPECT_EQ(e.code, "unknown-key");
  EXPECT_EQ(e.pos.line, 4);
  EXPECT_EQ(e.pos.column, 5);
}

TEST_F(LoaderTest, DuplicateKey) {
  env.AddFile(std::string(kEtc) + "/bad.yaml",
              "version: 1\nvms:\n  work: {level: manage}\n  work: {level: full}\n");
  Error e = LoadError();
  EXPECT_EQ(e.code, "duplicate-key");
  EXPECT_EQ(e.pos.line, 4);
  EXPECT_EQ(e.pos.column, 3);
}

TEST_F(LoaderTest, DuplicateKeyInNestedMap) {
  env.AddFile(std::string(kEtc) + "/bad.yaml",
              "version: 1\nvms:\n  work:\n    level: read-only\n    level: full\n");
  EXPECT_EQ(LoadError().code, "duplicate-key");
}

TEST_F(LoaderTest, BadRe2) {
  env.AddFile(std::string(kEtc) + "/bad.yaml",
              "version: 1\nblocked:\n  - {pattern: 'rm (-rf', reason: x}\n");
  Error e = LoadError();
  EXPECT_EQ(e.code, "bad-regex");
  EXPECT_EQ(e.pos.line, 3);
}

TEST_F(LoaderTest, BadLevelDurationSizeVmName) {
  struct Case {
    const char* yaml;
    const char* code;
    int line;
  } cases[] = {
      {"version: 1\ndefaults: {level: admin}\n", "bad-level", 2},
      {"version: 1\ndefaults:\n  timeout: 5x\n", "bad-duration", 3},
      {"version: 1\ndefaults:\n  timeout: 0s\n", "bad-duration", 3},
      {"version: 1\ndefaults:\n  timeout: 2d\n", "bad-duration", 3},
      {"version: 1\ndefaults:\n  max_output: 10MB\n", "bad-size", 3},
      {"version: 1\nvms:\n  1bad: {}\n", "bad-vm-name", 3},
      {"version: 1\nvms:\n  w:\n    targets: ['a b']\n", "bad-vm-name", 4},
      {"version: 1\nvms:\n  w:\n    accept_v1: yes\n", "wrong-type", 4},
      {"version: 1\nvms:\n  w:\n    transport: ssh\n", "bad-transport", 4},
  };
  for (const auto& c : cases) {
    env.AddFile(std::string(kEtc) + "/bad.yaml", c.yaml);
    Error e = LoadError();
    EXPECT_EQ(e.code, c.code) << c.yaml;
    EXPECT_EQ(e.pos.line, c.line) << c.yaml;
  }
}

TEST_F(LoaderTest, TargetsAndProtectedTakeNamesAndStarPatternsOnly) {
  // Each entry is at line 4, column 18 (`    targets: [x, ENTRY]`).
  const char* cases[] = {
      "'sys-?'",
      "'[ab]*'",
      "'-x*'",
      "'a+b'",
      "'*/x'",
      "''",
      "'.*'",
      "'a b*'",
      "'*x\\y'",
      "'1vm'",
      "'abcdefghijklmnopqrstuvwxyz0123456*'",
  };
  for (const char* entry : cases) {
    env.AddFile(std::string(kEtc) + "/bad.yaml",
                std::string("version: 1\nvms:\n  w:\n    targets: [x, ") + entry + "]\n");
    Error e = LoadError();
    EXPECT_EQ(e.code, "bad-vm-name") << entry;
    EXPECT_EQ(e.pos.ToString(), std::string(kEtc) + "/bad.yaml:4:18") << entry;
  }
  env.AddFile(std::string(kEtc) + "/bad.yaml",
              "version: 1\ndefaults:\n  protected: [dom0, 'sys-[a]']\n");
  Error e = LoadError();
  EXPECT_EQ(e.code, "bad-vm-name");
  EXPECT_EQ(e.pos.ToString(), std::string(kEtc) + "/bad.yaml:3:21");
  EXPECT_THAT(e.message,
              HasSubstr("defaults.protected: 'sys-[a]' is not a valid VM name or pattern"));

  env.AddFile(std::string(kEtc) + "/bad.yaml",
              "version: 1\nvms:\n  w:\n    targets: ['*', 'build-*', work, '*-x-*']\n");
  auto p = Load();
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(*p->vms.at("w").targets, (std::vector<std::string>{"*", "build-*", "work", "*-x-*"}));
  ASSERT_EQ(p->vms.at("w").target_item_pos.size(), 4u);
  EXPECT_EQ(p->vms.at("w").target_item_pos[2].ToString(), std::string(kEtc) + "/bad.yaml:4:31");
}

TEST_F(LoaderTest, VersionRequiredInEveryFile) {
  env.AddFile(std::string(kEtc) + "/a.yaml", "vms: {}\n");
  EXPECT_EQ(LoadError().code, "missing-version");
  env.AddFile(std::string(kEtc) + "/a.yaml", "version: 2\n");
  EXPECT_EQ(LoadError().code, "bad-version");
  env.AddFile(std::string(kEtc) + "/a.yaml", "");
  EXPECT_EQ(LoadError().code, "missing-version");
}

TEST_F(LoaderTest, RuleErrorsPointIntoTheRuleText) {
  // 'qvm-ls --bogus' : the quote is at column 7, the option at 7 + 1 + 7 = 15.
  env.AddFile(std::string(kEtc) + "/a.yaml",
              "version: 1\nclasses:\n  read-only: ['qvm-ls --bogus']\n");
  Error e = LoadError();
  EXPECT_EQ(e.code, "bad-rule");
  EXPECT_EQ(e.pos.line, 3);
  EXPECT_EQ(e.pos.column, 23);
  EXPECT_THAT(e.message, HasSubstr("--bogus"));
}

TEST_F(LoaderTest, RuleForProgramWithoutOptionTable) {
  env.AddFile(std::string(kEtc) + "/a.yaml", "version: 1\nclasses:\n  read-only: ['ls -l']\n");
  Error e = LoadError();
  EXPECT_EQ(e.code, "no-option-table");
  EXPECT_EQ(e.pos.line, 3);
}

TEST_F(LoaderTest, BadOptionSpec) {
  env.AddFile(std::string(kEtc) + "/a.yaml",
              "version: 1\ncommands:\n  x:\n    options: ['-n|lines=']\n");
  Error e = LoadError();
  EXPECT_EQ(e.code, "bad-option-spec");
  EXPECT_EQ(e.pos.line, 4);
}

TEST_F(LoaderTest, DuplicateOptionAcrossFiles) {
  env.AddFile(std::string(kEtc) + "/a.yaml",
              "version: 1\ncommands:\n  qvm-ls:\n    options: ['--running']\n");
  EXPECT_EQ(LoadError().code, "duplicate-option");
}

TEST_F(LoaderTest, WrongTypes) {
  env.AddFile(std::string(kEtc) + "/a.yaml", "version: 1\nclasses:\n  read-only: qvm-ls\n");
  EXPECT_EQ(LoadError().code, "wrong-type");
  env.AddFile(std::string(kEtc) + "/a.yaml", "version: 1\nclasses:\n  full: [qvm-ls]\n");
  EXPECT_EQ(LoadError().code, "unknown-key");
  env.AddFile(std::string(kEtc) + "/a.yaml", "version: 1\ntests:\n  - {vm: w, cmd: x}\n");
  EXPECT_EQ(LoadError().code, "wrong-type");
}

// ---- trust ----

TEST_F(LoaderTest, GroupWritableFileIsRefused) {
  env.AddFile(std::string(kEtc) + "/a.yaml", "version: 1\n", 0664);
  Error e = LoadError();
  EXPECT_EQ(e.code, "untrusted");
  EXPECT_THAT(e.message, HasSubstr("0664"));
  EXPECT_THAT(e.message, HasSubstr("a.yaml"));
}

TEST_F(LoaderTest, FileOwnedByAnotherUserIsRefused) {
  env.AddFile(std::string(kEtc) + "/a.yaml", "version: 1\n", 0644, 1000);
  Error e = LoadError();
  EXPECT_EQ(e.code, "untrusted");
  EXPECT_THAT(e.message, HasSubstr("uid 1000"));
}

TEST_F(LoaderTest, FileOwnedByEffectiveUserIsAccepted) {
  env.euid = 1000;
  env.AddFile(std::string(kEtc) + "/a.yaml", "version: 1\n", 0644, 1000);
  EXPECT_TRUE(Load().ok());
}

TEST_F(LoaderTest, WritableParentDirectoryIsRefused) {
  env.Find("/etc/qubes")->mode = 0777;
  env.AddFile(std::string(kEtc) + "/a.yaml", "version: 1\n");
  Error e = LoadError();
  EXPECT_EQ(e.code, "untrusted");
  EXPECT_THAT(e.message, HasSubstr("/etc/qubes has mode 0777"));
}

TEST_F(LoaderTest, StickyRootDirectoryIsAccepted) {
  env.AddDir("/tmp", 01777);
  env.AddFile("/tmp/p/a.yaml", "version: 1\n");
  LoadOptions o;
  o.dirs = {"/tmp/p"};
  EXPECT_TRUE(LoadPolicy(env, o).ok());
}

TEST_F(LoaderTest, TrustIsCheckedAfterResolvingSymlinks) {
  env.AddFile("/home/user/evil.yaml", "version: 1\ndefaults: {level: full}\n", 0644, 1000);
  env.AddSymlink(std::string(kEtc) + "/evil.yaml", "/home/user/evil.yaml");
  Error e = LoadError();
  EXPECT_EQ(e.code, "untrusted");
  EXPECT_THAT(e.message, HasSubstr("/home/user"));
}

TEST_F(LoaderTest, OversizedFileIsRefused) {
  env.AddFile(std::string(kEtc) + "/big.yaml", "version: 1\n" + std::string(5 << 20, '#'));
  EXPECT_EQ(LoadError().code, "too-large");
}

TEST_F(LoaderTest, TestsAreLoadedWithPositions) {
  env.AddFile(std::string(kEtc) + "/t.yaml",
              "version: 1\ntests:\n  - {vm: work, cmd: qvm-ls, expect: deny, reason: level-deny}\n"
              "  - {vm: work, cmd: qvm-ls, expect: allow, rule: qvm-ls, level: read-only, "
              "at: '2026-11-23T10:00:00Z'}\n");
  auto p = Load();
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  ASSERT_EQ(p->tests.size(), 2u);
  EXPECT_FALSE(p->tests[0].expect_allow);
  EXPECT_EQ(*p->tests[0].reason, "level-deny");
  EXPECT_EQ(p->tests[1].pos.line, 4);
  EXPECT_EQ(*p->tests[1].level, Level::kReadOnly);
}

TEST_F(LoaderTest, TestWithBadTimeIsRefused) {
  env.AddFile(std::string(kEtc) + "/t.yaml",
              "version: 1\ntests:\n  - {vm: w, cmd: x, expect: deny, at: '2026-11-23 10:00'}\n");
  EXPECT_EQ(LoadError().code, "bad-time");
}

}  // namespace
}  // namespace qvmr
