#include "client/answer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "client/queue.h"
#include "engine/wire/token.h"

namespace qvmr::client {
namespace {

Answer Answered(std::string exit_text, std::string meta_text) {
  Answer a;
  a.exit_text = std::move(exit_text);
  if (!meta_text.empty()) {
    auto m = DecodeMeta(meta_text);
    EXPECT_TRUE(m.ok()) << meta_text;
    if (m) a.meta = *m;
  }
  return a;
}

TEST(ExitStatusOf, FollowsTheMetaOutcomeThenTheExitFile) {
  const struct {
    const char* exit_text;
    const char* meta;
    int status;
  } cases[] = {
      {"0", "outcome=ok\n", 0},
      {"3", "outcome=ok\n", 3},
      {"-9", "outcome=ok\n", 137},
      {"126", "outcome=ok\n", 126},  // the command's own 126, not a denial
      {"126", "outcome=denied\n", 126},
      {"255", "outcome=auth\n", 255},
      {"255", "outcome=malformed\n", 255},
      {"124", "outcome=timeout\n", 124},
      {"255", "outcome=interrupted\n", 255},
      {"255", "outcome=error\n", 255},
      {"0", "outcome=denied\n", 126},  // the outcome decides, not a contradicting .exit
      {"7", "", 7},                    // a reference daemon: no .meta outcome
      {"", "", 255},                   // an empty .exit is a failure, never the reference's 1
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ExitStatusOf(Answered(c.exit_text, c.meta)), c.status) << c.exit_text << c.meta;
  }
}

TEST(AnswerJson, SendsNonUtf8StreamsAsBase64AndNamesTheSignal) {
  Answer a = Answered("-9", "outcome=ok\ntruncated=stdout,stderr\n");
  a.out = std::string("\xff\xfe", 2);
  a.err = "fine\n";
  auto j = nlohmann::json::parse(AnswerJson(&a, 137));
  EXPECT_EQ(j["exit"], 137);
  EXPECT_EQ(j["signal"], 9);
  EXPECT_EQ(j["stdout_b64"], "//4=");
  EXPECT_FALSE(j.contains("stdout"));
  EXPECT_EQ(j["stderr"], "fine\n");
  EXPECT_EQ(j["truncated"], nlohmann::json::array({"stdout", "stderr"}));
  EXPECT_TRUE(j["decision"].is_object());
}

TEST(AnswerJson, NoAnswerHasOutcomeNoAnswerAndANullDecision) {
  auto j = nlohmann::json::parse(AnswerJson(nullptr, 255));
  EXPECT_EQ(j, nlohmann::json::parse(R"({"exit":255,"outcome":"no-answer","stdout":"",
      "stderr":"","truncated":[],"decision":null})"));
}

TEST(AnswerJson, ADecisionReasonThatIsNotUtf8NeverThrows) {
  Answer a = Answered("126", "outcome=denied\nreason=bad%FFbyte\n");
  auto j = nlohmann::json::parse(AnswerJson(&a, 126));
  EXPECT_EQ(j["outcome"], "denied");
  EXPECT_FALSE(j.contains("signal"));
  EXPECT_EQ(j["decision"]["reason"],
            "bad\xEF\xBF\xBD"
            "byte");
}

TEST(IsValidUtf8, RefusesOverlongsSurrogatesAndTruncation) {
  EXPECT_TRUE(IsValidUtf8("plain \xC3\xA9 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // cut short
}

TEST(Base64, MatchesRfc4648Vectors) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
}

TEST(FormatCid, IsUtcPidAnd16LowercaseHexOfTheV2Shape) {
  const std::array<std::uint8_t, 8> random{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0xa0, 0xff};
  const std::string cid = FormatCid(1795003200, 4242, random);  // 2026-11-18T12:00:00Z
  EXPECT_EQ(cid, "20261118-120000-4242-deadbeef0001a0ff");
  EXPECT_EQ(ClassifyCid(cid), CidShape::kV2);
  auto fresh = NewCid();
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(ClassifyCid(*fresh), CidShape::kV2);
  EXPECT_NE(*fresh, *NewCid());
}

}  // namespace
}  // namespace qvmr::client
