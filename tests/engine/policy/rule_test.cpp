// Argv rules: compilation errors, placeholders, sets, optional and repeated items, exact operand
// counts, and <vm>/<self> scoping.
#include "engine/policy/rule.h"

#include <gtest/gtest.h>

namespace qvmr {
namespace {

OptionSet Set(std::initializer_list<const char*> specs) {
  OptionSet set;
  for (const char* s : specs) set.options.push_back(*ParseOptionSpec(s, {}));
  return set;
}

CommandTable Table(const char* name, std::initializer_list<const char*> specs) {
  CommandTable t;
  t.name = name;
  t.global = Set(specs);
  return t;
}

class RuleTest : public ::testing::Test {
 protected:
  RuleTest() {
    tables_["qvm-prefs"] = Table(
        "qvm-prefs", {"-g|--get", "-s|--set", "-D|--default", "--hide-default", "-q|--quiet"});
    tables_["journalctl"] = Table("journalctl", {"-n|--lines=", "-u|--unit=", "--no-pager",
                                                 "-b|--boot=?", "-r|--reverse", "--cursor-file="});
    tables_["qvm-start"] = Table("qvm-start", {"-q|--quiet", "--skip-if-running"});
    tables_["systemctl"] = Table("systemctl", {"-p|--property=", "--no-pager"});
    CommandTable xl = Table("xl", {"-v"});
    xl.global.permute = false;
    xl.verbs["dmesg"] = Set({"-c|--clear"});
    xl.verbs["list"] = Set({"-l|--long"});
    tables_["xl"] = xl;
    CommandTable echo;
    echo.name = "echo";
    echo.operands_only = true;
    tables_["echo"] = echo;
  }

  Rule Compile(const std::string& text, VmScope scope = VmScope::kAnyVm) {
    auto r = CompileRule(text, tables_.at(RuleProgram(text)), {"f.yaml", 1, 1}, 0);
    EXPECT_TRUE(r.ok()) << text << ": " << r.error().ToString();
    if (!r.ok()) return Rule{};
    r->vm_scope = scope;
    return *r;
  }
  Error CompileError(const std::string& text) {
    auto r = CompileRule(text, tables_.at(RuleProgram(text)), {"f.yaml", 1, 1}, 0);
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? Error{} : r.error();
  }
  bool Matches(const Rule& rule, std::vector<std::string> argv) {
    auto reading = ReadArgv(tables_.at(argv[0]), argv);
    if (!reading.ok) return false;
    return RuleMatches(rule, reading.parsed, ctx);
  }

  std::map<std::string, CommandTable> tables_;
  std::vector<std::string> targets_{"sandbox-1", "sandbox-2"};
  std::vector<std::string> protected_{"dom0", "sys-*"};
  MatchContext ctx{"agent", nullptr, &protected_};
};

TEST_F(RuleTest, ExactOperandCounts) {
  Rule read = Compile("qvm-prefs <vm> <prop>");
  EXPECT_TRUE(Matches(read, {"qvm-prefs", "work", "netvm"}));
  EXPECT_FALSE(Matches(read, {"qvm-prefs", "work", "netvm", "sys-net"}));
  EXPECT_FALSE(Matches(read, {"qvm-prefs", "work"}));
  // The empty string is an argument: a write.
  EXPECT_FALSE(Matches(read, {"qvm-prefs", "work", "netvm", ""}));
}

TEST_F(RuleTest, OptionsMustBeInTheRule) {
  Rule read = Compile("qvm-prefs <vm> <prop>");
  // -g is "ignored for compatibility": `qvm-prefs -g work netvm x` is still a write.
  EXPECT_FALSE(Matches(read, {"qvm-prefs", "-g", "work", "netvm"}));
  EXPECT_FALSE(Matches(read, {"qvm-prefs", "--default", "work", "netvm"}));
  EXPECT_FALSE(Matches(read, {"qvm-prefs", "--def", "work", "netvm"}));
  Rule with_hide = Compile("qvm-prefs [--hide-default] <vm>");
  EXPECT_TRUE(Matches(with_hide, {"qvm-prefs", "work"}));
  EXPECT_TRUE(Matches(with_hide, {"qvm-prefs", "--hide-default", "work"}));
  EXPECT_TRUE(Matches(with_hide, {"qvm-prefs", "work", "--hide"}));  // abbreviation, permuted
  EXPECT_FALSE(Matches(with_hide, {"qvm-prefs", "--hide-default", "--hide-default", "work"}));
}

TEST_F(RuleTest, RequiredOptionAndValuePatterns) {
  Rule r = Compile("journalctl --no-pager [-n <int>] [-u <word>]... [-r]");
  EXPECT_FALSE(Matches(r, {"journalctl"}));  // --no-pager is required
  EXPECT_TRUE(Matches(r, {"journalctl", "--no-pager"}));
  EXPECT_TRUE(Matches(r, {"journalctl", "--no-pager", "-n", "50"}));
  EXPECT_TRUE(Matches(r, {"journalctl", "--no-pager", "--lines=50"}));
  EXPECT_TRUE(Matches(r, {"journalctl", "--no-pag", "-rn50"}));
  EXPECT_FALSE(Matches(r, {"journalctl", "--no-pager", "-n", "all"}));
  EXPECT_TRUE(Matches(r, {"journalctl", "--no-pager", "-u", "a.service", "-u", "b"}));
  EXPECT_FALSE(Matches(r, {"journalctl", "--no-pager", "-u", "/etc/shadow"}));
  EXPECT_FALSE(Matches(r, {"journalctl", "--no-pager", "-n", "1", "-n", "2"}));
  EXPECT_FALSE(Matches(r, {"journalctl", "--no-pager", "--cursor-f=/x"}));
}

TEST_F(RuleTest, OptionalValueOptions) {
  Rule bare = Compile("journalctl --no-pager [-b]");
  Rule valued = Compile("journalctl --no-pager [--boot=<int>]");
  EXPECT_TRUE(Matches(bare, {"journalctl", "--no-pager", "-b"}));
  EXPECT_FALSE(Matches(bare, {"journalctl", "--no-pager", "-b1"}));
  EXPECT_TRUE(Matches(valued, {"journalctl", "--no-pager", "-b1"}));
  EXPECT_FALSE(Matches(valued, {"journalctl", "--no-pager", "-b"}));
}

TEST_F(RuleTest, SetsAndLiterals) {
  Rule r = Compile("qvm-prefs <vm> {memory,maxmem,vcpus} <int>");
  EXPECT_TRUE(Matches(r, {"qvm-prefs", "work", "maxmem", "4000"}));
  EXPECT_FALSE(Matches(r, {"qvm-prefs", "work", "kernel", "4000"}));
  EXPECT_FALSE(Matches(r, {"qvm-prefs", "work", "memory", "-1"}));
  Rule quoted = Compile("echo 'hello world'");
  EXPECT_TRUE(Matches(quoted, {"echo", "hello world"}));
  EXPECT_FALSE(Matches(quoted, {"echo", "hello", "world"}));
}

TEST_F(RuleTest, RepeatedAndOptionalOperands) {
  Rule some = Compile("qvm-start [-q] <vm>...");
  EXPECT_FALSE(Matches(some, {"qvm-start"}));
  EXPECT_TRUE(Matches(some, {"qvm-start", "a", "b", "c"}));
  Rule any = Compile("echo [<text>]...");
  EXPECT_TRUE(Matches(any, {"echo"}));
  EXPECT_TRUE(Matches(any, {"echo", "-n", "a b", "$HOME"}));
  EXPECT_FALSE(Matches(any, {"echo", std::string("a\x01", 2)}));
  Rule opt = Compile("qvm-prefs <vm> [<prop>]");
  EXPECT_TRUE(Matches(opt, {"qvm-prefs", "work"}));
  EXPECT_TRUE(Matches(opt, {"qvm-prefs", "work", "label"}));
  EXPECT_FALSE(Matches(opt, {"qvm-prefs", "work", "label", "red"}));
}

TEST_F(RuleTest, OperandSequencesWithSeveralRepeats) {
  Rule r = Compile("echo [x]... y [x]... {x,z}");
  EXPECT_TRUE(Matches(r, {"echo", "y", "z"}));
  EXPECT_TRUE(Matches(r, {"echo", "x", "x", "y", "x", "x"}));
  EXPECT_FALSE(Matches(r, {"echo", "x", "x", "y"}));
  EXPECT_FALSE(Matches(r, {"echo", "x", "y", "x", "y", "x"}));
  Rule bounded = Compile("echo [x] x");
  EXPECT_TRUE(Matches(bounded, {"echo", "x", "x"}));
  EXPECT_FALSE(Matches(bounded, {"echo", "x", "x", "x"}));
  // Many repeated items against many VM-supplied words: a backtracking matcher would take
  // ~200^6 steps here; the linear-per-item matcher answers at once.
  Rule many = Compile("echo [x]... [x]... [x]... [x]... [x]... [x]... y");
  std::vector<std::string> argv{"echo"};
  argv.insert(argv.end(), 200, "x");
  argv.push_back("z");
  EXPECT_FALSE(Matches(many, argv));
  argv.back() = "y";
  EXPECT_TRUE(Matches(many, argv));
}

TEST_F(RuleTest, DerivedPrechecks) {
  Rule r = Compile("qvm-prefs [--hide-default] <vm> {memory,maxmem} [<int>]...");
  EXPECT_EQ(r.min_operands, 2u);
  EXPECT_EQ(r.max_operands, SIZE_MAX);
  EXPECT_EQ(r.required_options, 0u);
  EXPECT_FALSE(r.repeats_options);
  EXPECT_EQ(r.fixed_literal_operand, 1u);
  EXPECT_TRUE(Matches(r, {"qvm-prefs", "work", "maxmem", "1", "2"}));
  EXPECT_FALSE(Matches(r, {"qvm-prefs", "work", "kernel", "1"}));
  EXPECT_FALSE(Matches(r, {"qvm-prefs", "work"}));
  Rule optional_first = Compile("qvm-prefs [<vm>] memory");
  EXPECT_EQ(optional_first.fixed_literal_operand, SIZE_MAX);  // its position is not fixed
  EXPECT_TRUE(Matches(optional_first, {"qvm-prefs", "memory"}));
  EXPECT_TRUE(Matches(optional_first, {"qvm-prefs", "work", "memory"}));
  Rule required = Compile("journalctl --no-pager [-u <word>]... [-r]");
  EXPECT_EQ(required.required_options, 1u);
  EXPECT_TRUE(required.repeats_options);
  EXPECT_TRUE(Matches(required, {"journalctl", "--no-pager", "-u", "a", "-u", "b", "-u", "c"}));
  EXPECT_FALSE(Matches(required, {"journalctl", "-r"}));
}

TEST_F(RuleTest, VerbRules) {
  Rule r = Compile("xl dmesg");
  EXPECT_TRUE(Matches(r, {"xl", "dmesg"}));
  EXPECT_TRUE(Matches(r, {"xl", "dmesg"}));
  EXPECT_FALSE(Matches(r, {"xl", "dmesg", "-c"}));
  EXPECT_FALSE(Matches(r, {"xl", "list"}));
  EXPECT_FALSE(Matches(r, {"xl", "-v", "dmesg"}));
  Rule verbose = Compile("xl [-v] list [-l]");
  EXPECT_TRUE(Matches(verbose, {"xl", "-v", "list", "--long"}));
  // A global option written after a permuting verb is the same global option.
  Rule after = Compile("xl list [-v]");
  EXPECT_TRUE(Matches(after, {"xl", "-v", "list"}));
  EXPECT_TRUE(Matches(after, {"xl", "list", "-v"}));
}

TEST_F(RuleTest, VmPlaceholderInReadOnlyRulesIsAnyVm) {
  Rule r = Compile("qvm-prefs <vm>", VmScope::kAnyVm);
  EXPECT_TRUE(Matches(r, {"qvm-prefs", "dom0"}));
  EXPECT_TRUE(Matches(r, {"qvm-prefs", "agent"}));
  EXPECT_FALSE(Matches(r, {"qvm-prefs", "not a vm"}));
  EXPECT_FALSE(Matches(r, {"qvm-prefs", "-work"}));
}

TEST_F(RuleTest, VmPlaceholderInTargetedRulesWithoutTargetsNamesNoVm) {
  Rule r = Compile("qvm-start <vm>", VmScope::kTargeted);
  ASSERT_EQ(ctx.targets, nullptr);
  for (const char* vm : {"work", "sysx", "dom0", "sys-net", "agent"}) {
    EXPECT_FALSE(Matches(r, {"qvm-start", vm})) << vm;
  }
}

TEST_F(RuleTest, VmPlaceholderWithStarTargetsSkipsProtectedAndSelf) {
  Rule r = Compile("qvm-start <vm>", VmScope::kTargeted);
  std::vector<std::string> every{"*"};
  ctx.targets = &every;
  EXPECT_TRUE(Matches(r, {"qvm-start", "work"}));
  EXPECT_FALSE(Matches(r, {"qvm-start", "dom0"}));
  EXPECT_FALSE(Matches(r, {"qvm-start", "sys-net"}));
  EXPECT_FALSE(Matches(r, {"qvm-start", "agent"}));  // never the requester itself
  EXPECT_TRUE(Matches(r, {"qvm-start", "sysx"}));
}

TEST_F(RuleTest, VmPlaceholderWithTargetsRangesOverTargetsOnly) {
  Rule r = Compile("qvm-start <vm>", VmScope::kTargeted);
  ctx.targets = &targets_;
  EXPECT_TRUE(Matches(r, {"qvm-start", "sandbox-1"}));
  EXPECT_FALSE(Matches(r, {"qvm-start", "work"}));
  std::vector<std::string> self_target{"agent"};
  ctx.targets = &self_target;
  EXPECT_FALSE(Matches(r, {"qvm-start", "agent"}));
}

TEST_F(RuleTest, UnscopedContextLetsVmNameAnyVmForExplanations) {
  Rule r = Compile("qvm-start <vm>", VmScope::kTargeted);
  ctx.unscoped = true;
  EXPECT_TRUE(Matches(r, {"qvm-start", "dom0"}));
  EXPECT_FALSE(Matches(r, {"qvm-start", "not a vm"}));
}

TEST_F(RuleTest, SelfAndAnyVm) {
  Rule self = Compile("qvm-prefs <self> <prop>");
  EXPECT_TRUE(Matches(self, {"qvm-prefs", "agent", "label"}));
  EXPECT_FALSE(Matches(self, {"qvm-prefs", "work", "label"}));
  std::vector<std::string> every{"*"};
  ctx.targets = &every;
  Rule netvm = Compile("qvm-prefs <vm> netvm <any-vm>", VmScope::kTargeted);
  EXPECT_TRUE(Matches(netvm, {"qvm-prefs", "work", "netvm", "sys-firewall"}));
  EXPECT_FALSE(Matches(netvm, {"qvm-prefs", "sys-net", "netvm", "sys-firewall"}));
}

TEST_F(RuleTest, PlaceholderValueClasses) {
  std::vector<std::string> none;
  auto m = [&](ValuePattern::Kind k, std::string_view v) {
    ValuePattern p;
    p.kind = k;
    return ValueMatches(p, v, VmScope::kAnyVm, ctx);
  };
  using K = ValuePattern::Kind;
  EXPECT_TRUE(m(K::kInt, "0"));
  EXPECT_FALSE(m(K::kInt, ""));
  EXPECT_FALSE(m(K::kInt, "1e3"));
  EXPECT_FALSE(m(K::kInt, "1234567890123456789"));
  EXPECT_TRUE(m(K::kProp, "default_dispvm"));
  EXPECT_FALSE(m(K::kProp, "Netvm"));
  EXPECT_FALSE(m(K::kProp, "_x"));
  EXPECT_TRUE(m(K::kWord, "sshd.service"));
  EXPECT_TRUE(m(K::kWord, "user@1000.service"));
  EXPECT_FALSE(m(K::kWord, "-x"));
  EXPECT_FALSE(m(K::kWord, "../etc"));
  EXPECT_FALSE(m(K::kWord, "a/b"));
  EXPECT_FALSE(m(K::kWord, "a b"));
  EXPECT_TRUE(m(K::kText, ""));
  EXPECT_TRUE(m(K::kText, "any thing / at all"));
  EXPECT_FALSE(m(K::kText, "tab\there"));
  EXPECT_FALSE(m(K::kText, std::string(4097, 'a')));
  EXPECT_FALSE(m(K::kAnyVm, "a234567890123456789012345678901x"));  // 32 chars
}

TEST_F(RuleTest, UnitPatternIsAWordWithTheToolsGlobButNeverStartsWithOne) {
  auto m = [&](std::string_view v) {
    ValuePattern p;
    p.kind = ValuePattern::Kind::kUnit;
    return ValueMatches(p, v, VmScope::kAnyVm, ctx);
  };
  for (const char* ok :
       {"qubesd", "qubes-*", "qubes-vm@*", "qubes*", "dev-disk-by\\x2duuid-1.device",
        "sys-[nf]*.service", "qubes-?.timer", "user@1000.service"}) {
    EXPECT_TRUE(m(ok)) << ok;
  }
  for (const char* bad : {"", "*", "*.service", "?x", "[a]x", "-u", "--all", "a/b", "../x", "a b",
                          "a;b", "a$b", "a\tb"}) {
    EXPECT_FALSE(m(bad)) << bad;
  }
  EXPECT_FALSE(m(std::string(256, 'a')));
  Rule r = Compile("journalctl --no-pager [--unit <unit>]...");
  EXPECT_TRUE(Matches(r, {"journalctl", "--no-pager", "-u", "qubes-*"}));
  EXPECT_FALSE(Matches(r, {"journalctl", "--no-pager", "-u", "*"}));
}

TEST_F(RuleTest, BootPlaceholderTakesJournalctlsBootOffsetsAndIdsButNotAll) {
  auto m = [&](std::string_view v) {
    ValuePattern p;
    p.kind = ValuePattern::Kind::kBoot;
    return ValueMatches(p, v, VmScope::kAnyVm, ctx);
  };
  for (const char* ok : {"0", "-1", "+2", "1", "0123456789abcdef0123456789ABCDEF",
                         "0123456789abcdef0123456789abcdef-1"}) {
    EXPECT_TRUE(m(ok)) << ok;
  }
  for (const char* bad : {"", "-", "+", "--1", "1x", "all", "ALL", " 1", "-1234567890", "x",
                          "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef1",
                          "0123456789abcdef0123456789abcdefx"}) {
    EXPECT_FALSE(m(bad)) << bad;
  }
}

TEST_F(RuleTest, NetWordHoldsHostsNetworksAndPortsButNeverAKeyValue) {
  auto m = [&](std::string_view v) {
    ValuePattern p;
    p.kind = ValuePattern::Kind::kNet;
    return ValueMatches(p, v, VmScope::kAnyVm, ctx);
  };
  for (const char* ok :
       {"10.0.0.0/8", "fd00::/8", "::1", "www.example.com", "1200-1400", "tcp", "443", "host_1"}) {
    EXPECT_TRUE(m(ok)) << ok;
  }
  for (const char* bad :
       {"", "action=accept", "dsthost=x", "-x", "/etc", "a b", "a,b", "*", ".x", "a;b"}) {
    EXPECT_FALSE(m(bad)) << bad;
  }
  EXPECT_FALSE(m(std::string(256, 'a')));
}

TEST_F(RuleTest, ListSetMatchesCommaJoinedMembersOnly) {
  Rule r = Compile("systemctl --property {ActiveState,SubState,Id}+... show");
  EXPECT_TRUE(Matches(r, {"systemctl", "show", "-p", "ActiveState"}));
  EXPECT_TRUE(Matches(r, {"systemctl", "show", "-p", "ActiveState,SubState,Id"}));
  EXPECT_TRUE(Matches(r, {"systemctl", "show", "-p", "Id", "--property=SubState,Id"}));
  EXPECT_FALSE(Matches(r, {"systemctl", "show", "-p", "ActiveState,Environment"}));
  EXPECT_FALSE(Matches(r, {"systemctl", "show", "-p", "Environment,ActiveState"}));
  EXPECT_FALSE(Matches(r, {"systemctl", "show", "-p", "ActiveState,"}));
  EXPECT_FALSE(Matches(r, {"systemctl", "show", "-p", ",Id"}));
  EXPECT_FALSE(Matches(r, {"systemctl", "show", "-p", "ActiveState,,Id"}));
  EXPECT_FALSE(Matches(r, {"systemctl", "show", "-p", ""}));
  // A plain set still takes exactly one member.
  Rule plain = Compile("systemctl --property {ActiveState,SubState}... show");
  EXPECT_FALSE(Matches(plain, {"systemctl", "show", "-p", "ActiveState,SubState"}));
  EXPECT_EQ(r.options[0].value->ToString(), "{ActiveState,SubState,Id}+");
}

TEST_F(RuleTest, CompileErrors) {
  EXPECT_EQ(CompileError("qvm-prefs --bogus <vm>").pos.column, 11);
  EXPECT_EQ(CompileError("qvm-prefs --hide <vm>").code, "bad-rule");  // abbreviations not in rules
  EXPECT_EQ(CompileError("journalctl -n").code, "bad-rule");          // needs a value
  EXPECT_EQ(CompileError("journalctl --no-pager=1").code, "bad-rule");
  EXPECT_EQ(CompileError("qvm-prefs <bogus>").code, "bad-rule");
  EXPECT_EQ(CompileError("qvm-prefs [<vm>").code, "bad-rule");
  EXPECT_EQ(CompileError("qvm-prefs <vm>]").code, "bad-rule");
  EXPECT_EQ(CompileError("qvm-prefs 'unterminated").code, "bad-rule");
  EXPECT_EQ(CompileError("qvm-prefs a<vm>").code, "bad-rule");
  EXPECT_EQ(CompileError("qvm-prefs {a,,b}").code, "bad-rule");
  EXPECT_EQ(CompileError("qvm-prefs {a,b+}+").code, "bad-rule");
  EXPECT_EQ(CompileError("qvm-prefs {}+").code, "bad-rule");
  EXPECT_EQ(CompileError("xl").code, "bad-rule");     // must name a verb
  EXPECT_EQ(CompileError("xl dm").code, "bad-rule");  // verbs in full
  tables_["xl"].verbs["dmesg"].permute = false;
  EXPECT_EQ(CompileError("xl dmesg -v").code, "bad-rule");  // -v is global, not dmesg's
}

}  // namespace
}  // namespace qvmr
