#include "client/args.h"

#include <gtest/gtest.h>

namespace qvmr::client {
namespace {

struct ArgsCase {
  std::vector<std::string> args;
  std::uint32_t timeout;
  Verb verb;
  std::vector<std::string> rest;
};

TEST(ParseArgs, OptionsStopAtTheFirstWordAndEveryTimeoutSpellingWorks) {
  const ArgsCase cases[] = {
      {{"ls", "-l"}, 300, Verb::kCommand, {"ls", "-l"}},
      {{"-t", "5", "ls", "-t", "9"}, 5, Verb::kCommand, {"ls", "-t", "9"}},
      {{"-t7", "ls"}, 7, Verb::kCommand, {"ls"}},
      {{"--timeout", "8", "ls"}, 8, Verb::kCommand, {"ls"}},
      {{"--timeout=86400", "ls"}, 86400, Verb::kCommand, {"ls"}},
      {{"-q", "-v", "ping"}, 300, Verb::kPing, {"ping"}},
      {{"--", "ping"}, 300, Verb::kCommand, {"ping"}},
      {{"--", "key", "gen"}, 300, Verb::kCommand, {"key", "gen"}},
      {{"key", "gen", "--force"}, 300, Verb::kKey, {"key", "gen", "--force"}},
      {{"status"}, 300, Verb::kStatus, {"status"}},
      {{"queue"}, 300, Verb::kQueue, {"queue"}},
      {{"log", "5"}, 300, Verb::kLog, {"log", "5"}},
      {{"history"}, 300, Verb::kHistory, {"history"}},
      {{}, 300, Verb::kScript, {}},
      {{"-q"}, 300, Verb::kScript, {}},
      {{"ls", "--help"}, 300, Verb::kCommand, {"ls", "--help"}},
  };
  for (const auto& c : cases) {
    auto inv = ParseArgs(c.args);
    ASSERT_TRUE(inv.ok()) << c.args.size();
    EXPECT_EQ(inv->timeout_seconds, c.timeout);
    EXPECT_EQ(VerbOf(*inv), c.verb);
    EXPECT_EQ(inv->rest, c.rest);
  }
}

TEST(ParseArgs, RefusesBadTimeoutsAndUnknownOptionsInTheReferencesWords) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"-x"}, "unknown option: -x"},
      {{"-t"}, "-t requires a value"},
      {{"-t", "abc"}, "-t requires an integer, got: abc"},
      {{"-t", "0"}, "-t must be a positive integer"},
      {{"-t", "-5"}, "-t must be a positive integer"},
      {{"--timeout=5s"}, "-t requires an integer, got: 5s"},
      {{"-t", "86401"}, "-t must be at most 86400 seconds (a day)"},
  };
  for (const auto& [args, message] : cases) {
    auto inv = ParseArgs(args);
    ASSERT_FALSE(inv.ok()) << message;
    EXPECT_EQ(inv.error().code, "usage");
    EXPECT_EQ(inv.error().message, message);
  }
}

TEST(ParseArgs, HelpAndVersionWinOverWhatFollows) {
  EXPECT_EQ(VerbOf(*ParseArgs({"-h", "-x"})), Verb::kHelp);
  EXPECT_EQ(VerbOf(*ParseArgs({"-q", "--version"})), Verb::kVersion);
  EXPECT_TRUE(ParseArgs({"--json", "ls"})->json);
}

TEST(CommandText, JoinsWordsWithSpacesAndEndsWithANewlineAsTheReference) {
  EXPECT_EQ(CommandText({"ls", "-l", "a b"}), "ls -l a b\n");
  EXPECT_EQ(CommandText({""}), "\n");
}

TEST(CountArg, ReadsNOrDashNAndFallsBackOnAnythingElse) {
  EXPECT_EQ(CountArg({}, 20), 20u);
  EXPECT_EQ(CountArg({"5"}, 20), 5u);
  EXPECT_EQ(CountArg({"-n", "7"}, 20), 7u);
  EXPECT_EQ(CountArg({"x"}, 10), 10u);
  EXPECT_EQ(CountArg({"-5"}, 10), 10u);
}

}  // namespace
}  // namespace qvmr::client
