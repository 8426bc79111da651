// Tests for engine/wire/meta.h: round trips, escaping, the reference's .meta, strict refusals.
#include "engine/wire/meta.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "engine/base/limits.h"

namespace qvmr {
namespace {

using ::testing::HasSubstr;

Meta Full() {
  Meta m;
  m.id = "20261123-004500-123-0123456789abcdef";
  m.started = "2026-11-23T00:45:00.120Z";
  m.duration_ms = 42;
  m.exit_code = -9;
  m.outcome = Outcome::kDenied;
  m.decision = "deny";
  m.level = "read-only";
  m.rule = "/etc/qubes/remote-policy.d/50-work.yaml:12";
  m.reason_code = "no-rule";
  m.reason = "no rule allows 'rm -rf /'\n100% sure \xc3\xa9 \x1b[31m";
  m.executor = "";
  m.truncated = "stdout,stderr";
  m.grant = "2026-11-23T01:00:00.000Z";
  m.policy = std::string(64, 'a');
  return m;
}

TEST(Meta, EveryFieldSurvivesARoundTrip) {
  Meta m = Full();
  auto back = DecodeMeta(EncodeMeta(m));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, m);
}

TEST(Meta, EncodesTheReferencesKeysFirstThenOursOneLineEach) {
  std::string text = EncodeMeta(Full());
  EXPECT_EQ(text.rfind("id=20261123-004500-123-0123456789abcdef\nstarted=", 0), 0u);
  EXPECT_THAT(text, HasSubstr("\nduration_ms=42\nexit_code=-9\noutcome=denied\ndecision=deny\n"));
  EXPECT_THAT(text, HasSubstr("\nreason=no rule allows 'rm -rf /'%0A100%25 sure %C3%A9 %1B[31m\n"));
  EXPECT_THAT(text, HasSubstr("\npolicy=" + std::string(64, 'a') + "\n"));
}

TEST(Meta, EscapedTextIsPrintableAscii) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  std::string escaped = PercentEscape(all);
  for (unsigned char c : escaped) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << int(c);
  auto back = PercentUnescape(escaped);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, all);
}

TEST(Meta, ReadsTheReferenceDaemonsMetaWithNoOutcome) {
  auto m = DecodeMeta(
      "id=20260218-135855-12345-deadbeef\nstarted=2026-02-18T13:58:55\nduration_ms=12\n"
      "exit_code=0\n");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->id, "20260218-135855-12345-deadbeef");
  EXPECT_EQ(m->exit_code, 0);
  EXPECT_EQ(m->outcome, std::nullopt);
}

TEST(Meta, KeepsUnknownKeysInOrder) {
  auto m = DecodeMeta("id=x\nzeta=1\nalpha=%25\n");
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->unknown.size(), 2u);
  EXPECT_EQ(m->unknown[0], (std::pair<std::string, std::string>{"zeta", "1"}));
  EXPECT_EQ(m->unknown[1], (std::pair<std::string, std::string>{"alpha", "%"}));
  EXPECT_EQ(*DecodeMeta(EncodeMeta(*m)), *m);
}

struct BadMeta {
  const char* name;
  std::string text;
};
void PrintTo(const BadMeta& b, std::ostream* os) {
  *os << b.name;
}
class MetaRefuses : public ::testing::TestWithParam<BadMeta> {};
TEST_P(MetaRefuses, AsMalformedMeta) {
  auto m = DecodeMeta(GetParam().text);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, "malformed-meta");
}
INSTANTIATE_TEST_SUITE_P(
    Strict, MetaRefuses,
    ::testing::Values(
        BadMeta{"Empty", ""}, BadMeta{"NoFinalNewline", "id=x"},
        BadMeta{"LineWithoutEquals", "id=x\nfoo\n"}, BadMeta{"EmptyKey", "=x\n"},
        BadMeta{"UpperCaseKey", "ID=x\n"}, BadMeta{"RepeatedKey", "id=x\nid=y\n"},
        BadMeta{"TruncatedEscape", "reason=100%\n"}, BadMeta{"OneHexDigitEscape", "reason=%4\n"},
        BadMeta{"NonHexEscape", "reason=%zz\n"}, BadMeta{"RawControlByte", "reason=a\tb\n"},
        BadMeta{"RawNonAscii", "reason=\xc3\xa9\n"}, BadMeta{"CarriageReturn", "id=x\r\n"},
        BadMeta{"NonNumericExitCode", "exit_code=1x\n"},
        BadMeta{"LeadingZeroDuration", "duration_ms=01\n"},
        BadMeta{"UnknownOutcome", "outcome=maybe\n"},
        BadMeta{"TooLarge", "reason=" + std::string(limits::kMaxMetaBytes, 'a') + "\n"}),
    [](const ::testing::TestParamInfo<BadMeta>& info) { return std::string(info.param.name); });

TEST(Meta, RefusesMoreUnknownKeysThanTheBound) {
  std::string text;
  for (std::size_t i = 0; i <= kMaxMetaUnknownKeys; ++i) text += "k" + std::to_string(i) + "=v\n";
  EXPECT_FALSE(DecodeMeta(text).ok());
}

}  // namespace
}  // namespace qvmr
