// Tests for engine/wire/exit_status.h: the client's exit status for every outcome.
#include "engine/wire/exit_status.h"

#include <gtest/gtest.h>

namespace qvmr {
namespace {

struct Case {
  const char* name;
  std::optional<Outcome> outcome;
  const char* exit_text;
  int expected;
};
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class ClientExit : public ::testing::TestWithParam<Case> {};
TEST_P(ClientExit, MapsTheAnswerToContractsStatus) {
  EXPECT_EQ(ClientExitStatus(GetParam().outcome, GetParam().exit_text), GetParam().expected);
}
INSTANTIATE_TEST_SUITE_P(
    Contract, ClientExit,
    ::testing::Values(Case{"OkPassesTheRemoteStatus", Outcome::kOk, "3", 3},
                      Case{"OkZero", Outcome::kOk, "0", 0},
                      Case{"OkRemote255", Outcome::kOk, "255", 255},
                      Case{"RemoteExit126IsNotADenial", Outcome::kOk, "126", 126},
                      Case{"SignalNIs128PlusN", Outcome::kOk, "-9", 137},
                      Case{"SignalWithNewline", Outcome::kOk, "-15\n", 143},
                      Case{"ReferenceDaemonHasNoOutcome", std::nullopt, "7", 7},
                      Case{"UnreadableExitIsOwnFailure", Outcome::kOk, "", 255},
                      Case{"ExitAbove255IsOwnFailure", Outcome::kOk, "256", 255},
                      Case{"DeniedIs126", Outcome::kDenied, "126", 126},
                      Case{"DeniedIgnoresExitText", Outcome::kDenied, "0", 126},
                      Case{"TimeoutIs124", Outcome::kTimeout, "124", 124},
                      Case{"AuthIs255", Outcome::kAuth, "255", 255},
                      Case{"MalformedIs255", Outcome::kMalformed, "255", 255},
                      Case{"InterruptedIs255", Outcome::kInterrupted, "255", 255},
                      Case{"ErrorIs255", Outcome::kError, "255", 255}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

TEST(ExitFile, ParsesStatusesAndSignalsStrictly) {
  EXPECT_EQ(ParseExitFile("0")->status, 0);
  EXPECT_EQ(ParseExitFile("255\n")->status, 255);
  EXPECT_EQ(ParseExitFile("-9")->signal, 9);
  EXPECT_FALSE(ParseExitFile("-0").has_value());
  EXPECT_FALSE(ParseExitFile("-128").has_value());
  EXPECT_FALSE(ParseExitFile("007").has_value());
  EXPECT_FALSE(ParseExitFile("+1").has_value());
  EXPECT_FALSE(ParseExitFile("1\n\n").has_value());
  EXPECT_FALSE(ParseExitFile(" 1").has_value());
}

}  // namespace
}  // namespace qvmr
