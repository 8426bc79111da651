// Reading argvs against option tables the way getopt_long and argparse do.
#include "engine/policy/option_table.h"

#include <gtest/gtest.h>

namespace qvmr {
namespace {

OptionSet Set(std::initializer_list<const char*> specs, bool permute = true) {
  OptionSet set;
  set.permute = permute;
  for (const char* s : specs) set.options.push_back(*ParseOptionSpec(s, {}));
  return set;
}

CommandTable Journalctl() {
  CommandTable t;
  t.name = "journalctl";
  t.global =
      Set({"-n|--lines=", "-u|--unit=", "--no-pager", "--cursor=", "--cursor-file=", "-f|--follow",
           "-r|--reverse", "--color=?", "-b|--boot=?"});
  return t;
}

CommandTable Xl() {
  CommandTable t;
  t.name = "xl";
  t.global = Set({"-v", "-N", "-f="}, /*permute=*/false);
  t.abbreviate_verbs = true;
  t.verbs["list"] = Set({"-l|--long"});
  t.verbs["dmesg"] = Set({"-c|--clear"});
  t.verbs["destroy"] = Set({"-f"});
  t.verbs["debug-keys"] = Set({});
  t.verbs["info"] = Set({"-n|--numa"});
  return t;
}

std::string Canon(const CommandTable& t, const ParsedOption& o) {
  const OptionSet& s = o.in_verb ? t.verbs.at("dmesg") : t.global;
  return s.options[o.index].canonical + (o.value ? "=" + *o.value : "");
}

TEST(OptionSpecTest, Parses) {
  auto s = ParseOptionSpec("-n|--lines=", {});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->names, (std::vector<std::string>{"-n", "--lines"}));
  EXPECT_EQ(s->arg, OptionArg::kRequired);
  EXPECT_EQ(s->canonical, "--lines");
  EXPECT_EQ(ParseOptionSpec("--color=?", {})->arg, OptionArg::kOptional);
  EXPECT_EQ(ParseOptionSpec("-c", {})->canonical, "-c");
  for (const char* bad : {"", "n", "-", "--", "-ab", "--x y", "-n|", "---x", "-n|lines"}) {
    EXPECT_FALSE(ParseOptionSpec(bad, {}).ok()) << bad;
  }
}

TEST(OptionSpecTest, BootLookaheadSpecIsAnOptionalValue) {
  auto s = ParseOptionSpec("-b|--boot=?(boot)", {});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->arg, OptionArg::kOptional);
  EXPECT_EQ(s->lookahead, Lookahead::kBoot);
  EXPECT_EQ(ParseOptionSpec("--color=?", {})->lookahead, Lookahead::kNone);
  for (const char* bad : {"-b=?(bogus)", "-b=(boot)", "-b(boot)", "-b=?(boot"}) {
    EXPECT_FALSE(ParseOptionSpec(bad, {}).ok()) << bad;
  }
}

TEST(OptionSpecTest, TextRoundTrips) {
  for (const char* text :
       {"-n|--lines=", "--color=?", "-c", "-D|--unset|--default|--delete", "-b|--boot=?(boot)"}) {
    EXPECT_EQ(OptionSpecText(*ParseOptionSpec(text, {})), text);
  }
}

TEST(ReadArgvTest, EqualsAndSeparateValueAreTheSame) {
  CommandTable t = Journalctl();
  for (auto argv : std::vector<std::vector<std::string>>{{"journalctl", "--lines=5"},
                                                         {"journalctl", "--lines", "5"},
                                                         {"journalctl", "-n5"},
                                                         {"journalctl", "-n", "5"},
                                                         {"journalctl", "--li=5"},
                                                         {"journalctl", "--li", "5"}}) {
    auto r = ReadArgv(t, argv);
    ASSERT_TRUE(r.ok) << argv[1] << r.error.message;
    ASSERT_EQ(r.parsed.options.size(), 1u);
    EXPECT_EQ(Canon(t, r.parsed.options[0]), "--lines=5") << argv[1];
  }
}

CommandTable JournalctlWithBootLookahead() {
  CommandTable t = Journalctl();
  for (auto& o : t.global.options) {
    if (o.canonical == "--boot") o.lookahead = Lookahead::kBoot;
  }
  return t;
}

std::string Joined(const CommandTable& t, const ParsedArgv& p) {
  std::string out;
  for (const auto& o : p.options) out += "[" + Canon(t, o) + "]";
  for (const auto& w : p.operands) out += " " + w;
  return out;
}

TEST(ReadArgvTest, BootTakesTheNextWordWhenJournalctlWould) {
  CommandTable t = JournalctlWithBootLookahead();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"journalctl", "-b", "-1"}, "[--boot=-1]"},
      {{"journalctl", "--boot", "-1"}, "[--boot=-1]"},
      {{"journalctl", "--boot=-1"}, "[--boot=-1]"},
      {{"journalctl", "-b-1"}, "[--boot=-1]"},
      {{"journalctl", "-rb", "1"}, "[--reverse][--boot=1]"},
      {{"journalctl", "-b", "all"}, "[--boot=all]"},
      {{"journalctl", "-b"}, "[--boot]"},
      {{"journalctl", "-b", "-r"}, "[--boot][--reverse]"},
      {{"journalctl", "-b", "_PID=1"}, "[--boot] _PID=1"},
      {{"journalctl", "-b", "--", "-1"}, "[--boot] -1"},
      {{"journalctl", "-b", "-1", "-n", "5"}, "[--boot=-1][--lines=5]"},
  };
  for (const auto& [argv, want] : cases) {
    auto r = ReadArgv(t, argv);
    ASSERT_TRUE(r.ok) << want << ": " << r.error.message;
    EXPECT_EQ(Joined(t, r.parsed), want);
  }
  // Without the look-ahead (--color=?), the next word is never taken.
  auto r = ReadArgv(t, {"journalctl", "--color", "1"});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(Joined(t, r.parsed), "[--color] 1");
  EXPECT_EQ(ReadArgv(Journalctl(), {"journalctl", "-b", "-1"}).error.code, "unknown-option");
}

TEST(ReadArgvTest, ObsoleteNumberIsTheNamedOptionOnlyAsTheFirstWord) {
  CommandTable t;
  t.name = "head";
  t.global = Set({"-c|--bytes=", "-n|--lines=", "-q|--quiet"});
  t.obsolete_number = "-n";
  auto r = ReadArgv(t, {"head", "-20"});
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_EQ(Joined(t, r.parsed), "[--lines=20]");
  r = ReadArgv(t, {"head", "-5", "-q"});
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_EQ(Joined(t, r.parsed), "[--lines=5][--quiet]");
  for (auto argv : std::vector<std::vector<std::string>>{{"head", "-20c"},
                                                         {"head", "-q", "-20"},
                                                         {"head", "-2x"},
                                                         {"head", "-12345678901234567890"}}) {
    EXPECT_EQ(ReadArgv(t, argv).error.code, "unknown-option") << argv.back();
  }
  r = ReadArgv(t, {"head", "--", "-20"});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(Joined(t, r.parsed), " -20");
  t.obsolete_number.clear();
  EXPECT_EQ(ReadArgv(t, {"head", "-20"}).error.code, "unknown-option");
}

TEST(ReadArgvTest, BundledShortFlags) {
  CommandTable t = Journalctl();
  auto r = ReadArgv(t, {"journalctl", "-rfn5"});
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.parsed.options.size(), 3u);
  EXPECT_EQ(Canon(t, r.parsed.options[0]), "--reverse");
  EXPECT_EQ(Canon(t, r.parsed.options[1]), "--follow");
  EXPECT_EQ(Canon(t, r.parsed.options[2]), "--lines=5");
  // A value-taking option in the middle of a bundle takes the rest as its value.
  r = ReadArgv(t, {"journalctl", "-nrf"});
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.parsed.options.size(), 1u);
  EXPECT_EQ(Canon(t, r.parsed.options[0]), "--lines=rf");
}

TEST(ReadArgvTest, LongAbbreviations) {
  CommandTable t = Journalctl();
  // --cursor is exact even though --cursor-file shares the prefix: exact wins.
  auto r = ReadArgv(t, {"journalctl", "--cursor=x"});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(Canon(t, r.parsed.options[0]), "--cursor=x");
  // --cursor-f resolves uniquely to --cursor-file (the hazard: an arbitrary file write).
  r = ReadArgv(t, {"journalctl", "--cursor-f=/x"});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(Canon(t, r.parsed.options[0]), "--cursor-file=/x");
  // --cur is a prefix of two different options.
  r = ReadArgv(t, {"journalctl", "--cur=x"});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.code, "ambiguous-option");
  r = ReadArgv(t, {"journalctl", "--nope"});
  EXPECT_EQ(r.error.code, "unknown-option");
  r = ReadArgv(t, {"journalctl", "-z"});
  EXPECT_EQ(r.error.code, "unknown-option");
}

TEST(ReadArgvTest, AliasesOfOneOptionAreNotAmbiguous) {
  CommandTable t;
  t.name = "x";
  t.global = Set({"--verbose|--verbosity"});
  auto r = ReadArgv(t, {"x", "--verb"});
  EXPECT_TRUE(r.ok) << r.error.message;
}

TEST(ReadArgvTest, ValueErrors) {
  CommandTable t = Journalctl();
  EXPECT_EQ(ReadArgv(t, {"journalctl", "--lines"}).error.code, "missing-value");
  EXPECT_EQ(ReadArgv(t, {"journalctl", "-n"}).error.code, "missing-value");
  EXPECT_EQ(ReadArgv(t, {"journalctl", "--no-pager=1"}).error.code, "unexpected-value");
  EXPECT_EQ(ReadArgv(t, {"journalctl", "-n=5"}).error.code, "ambiguous-value");
}

TEST(ReadArgvTest, OptionalValuesOnlyAttached) {
  CommandTable t = Journalctl();
  auto r = ReadArgv(t, {"journalctl", "--color", "never"});
  ASSERT_TRUE(r.ok);
  EXPECT_FALSE(r.parsed.options[0].value.has_value());
  EXPECT_EQ(r.parsed.operands, (std::vector<std::string>{"never"}));
  r = ReadArgv(t, {"journalctl", "--color=never"});
  EXPECT_EQ(*r.parsed.options[0].value, "never");
  r = ReadArgv(t, {"journalctl", "-b-1"});
  EXPECT_EQ(*r.parsed.options[0].value, "-1");
}

TEST(ReadArgvTest, DoubleDashEndsOptionsAndPermutation) {
  CommandTable t = Journalctl();
  auto r = ReadArgv(t, {"journalctl", "a", "--no-pager", "--", "-n", "--x"});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.parsed.options.size(), 1u);
  EXPECT_EQ(r.parsed.operands, (std::vector<std::string>{"a", "-n", "--x"}));
}

TEST(ReadArgvTest, SingleDashIsAnOperand) {
  auto r = ReadArgv(Journalctl(), {"journalctl", "-"});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.parsed.operands, (std::vector<std::string>{"-"}));
}

TEST(ReadArgvTest, GlobalOptionsBeforeVerb) {
  CommandTable t = Xl();
  auto r = ReadArgv(t, {"xl", "-v", "dmesg", "-c"});
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_EQ(r.parsed.verb, "dmesg");
  ASSERT_EQ(r.parsed.options.size(), 2u);
  EXPECT_FALSE(r.parsed.options[0].in_verb);
  EXPECT_TRUE(r.parsed.options[1].in_verb);
  EXPECT_EQ(Canon(t, r.parsed.options[1]), "--clear");
  // A permuting verb keeps the global options valid after it (systemctl status x --no-pager)...
  r = ReadArgv(t, {"xl", "dmesg", "-v"});
  ASSERT_TRUE(r.ok);
  EXPECT_FALSE(r.parsed.options[0].in_verb);
  // ...the verb's own option of the same name wins...
  t.verbs["destroy"] = Set({"-v|--vanish"});
  r = ReadArgv(t, {"xl", "destroy", "-v"});
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.parsed.options[0].in_verb);
  // ...a long prefix of options in both tables is ambiguous...
  t.global.options.push_back(*ParseOptionSpec("--vast", {}));
  EXPECT_EQ(ReadArgv(t, {"xl", "destroy", "--va"}).error.code, "ambiguous-option");
  // ...and a verb that does not permute keeps them out.
  t.verbs["dmesg"].permute = false;
  EXPECT_EQ(ReadArgv(t, {"xl", "dmesg", "-v"}).error.code, "unknown-option");
}

TEST(ReadArgvTest, VerbAbbreviations) {
  CommandTable t = Xl();
  EXPECT_EQ(ReadArgv(t, {"xl", "des", "work"}).parsed.verb, "destroy");
  EXPECT_EQ(ReadArgv(t, {"xl", "dm"}).parsed.verb, "dmesg");
  EXPECT_EQ(ReadArgv(t, {"xl", "d"}).error.code, "ambiguous-verb");
  EXPECT_EQ(ReadArgv(t, {"xl", "frobnicate"}).error.code, "unknown-verb");
  EXPECT_EQ(ReadArgv(t, {"xl"}).error.code, "missing-verb");
  EXPECT_EQ(ReadArgv(t, {"xl", "-v"}).error.code, "missing-verb");
  t.abbreviate_verbs = false;
  EXPECT_EQ(ReadArgv(t, {"xl", "des", "work"}).error.code, "unknown-verb");
}

TEST(ReadArgvTest, NonPermutingStopsAtFirstOperand) {
  CommandTable t;
  t.name = "p";
  t.global = Set({"-a"}, /*permute=*/false);
  auto r = ReadArgv(t, {"p", "x", "-a"});
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.parsed.options.empty());
  EXPECT_EQ(r.parsed.operands, (std::vector<std::string>{"x", "-a"}));
}

TEST(ReadArgvTest, OperandsOnly) {
  CommandTable t;
  t.name = "echo";
  t.operands_only = true;
  auto r = ReadArgv(t, {"echo", "-n", "--", "x"});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.parsed.operands, (std::vector<std::string>{"-n", "--", "x"}));
}

}  // namespace
}  // namespace qvmr
