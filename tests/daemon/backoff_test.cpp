// Backoff and LogLimiter against a clock the test moves: delays double from 1 s to 60 s and reset
// on success; a fault class is logged once per interval and the rest summarised once.
#include "daemon/backoff.h"

#include "gtest/gtest.h"

namespace qvmr {
namespace {

class FakeClock {
 public:
  MonotonicClock clock() {
    return [this] { return now; };
  }
  MonotonicMs now = 1000000;
};

TEST(Backoff, AKeyThatNeverFailedIsReady) {
  FakeClock t;
  Backoff b(t.clock());
  EXPECT_TRUE(b.Ready("vm1"));
  EXPECT_EQ(b.WaitMs("vm1"), 0);
  EXPECT_EQ(b.Failures("vm1"), 0u);
}

TEST(Backoff, DelaysDoubleFromOneSecondAndStopAtSixty) {
  FakeClock t;
  Backoff b(t.clock());
  const MonotonicMs expected[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
  for (MonotonicMs want : expected) {
    EXPECT_EQ(b.Failure("vm1"), want);
    EXPECT_FALSE(b.Ready("vm1"));
    EXPECT_EQ(b.WaitMs("vm1"), want);
    t.now += want - 1;
    EXPECT_FALSE(b.Ready("vm1")) << "one ms before the delay of " << want << " ends";
    t.now += 1;
    EXPECT_TRUE(b.Ready("vm1"));
  }
  EXPECT_EQ(b.Failures("vm1"), 9u);
}

TEST(Backoff, SuccessResetsTheDelayToOneSecond) {
  FakeClock t;
  Backoff b(t.clock());
  b.Failure("vm1");
  b.Failure("vm1");
  b.Failure("vm1");
  b.Success("vm1");
  EXPECT_TRUE(b.Ready("vm1"));
  EXPECT_EQ(b.Failures("vm1"), 0u);
  EXPECT_EQ(b.Failure("vm1"), 1000);
}

TEST(Backoff, KeysAreIndependent) {
  FakeClock t;
  Backoff b(t.clock());
  b.Failure("vm1");
  b.Failure("vm1");
  EXPECT_FALSE(b.Ready("vm1"));
  EXPECT_TRUE(b.Ready("vm2"));
  EXPECT_EQ(b.Failure("vm2"), 1000);
}

TEST(Backoff, OptionsChangeTheFirstDelayAndTheCap) {
  FakeClock t;
  Backoff b(t.clock(), BackoffOptions{.initial_ms = 300, .max_ms = 1000});
  EXPECT_EQ(b.Failure("k"), 300);
  EXPECT_EQ(b.Failure("k"), 600);
  EXPECT_EQ(b.Failure("k"), 1000);
  EXPECT_EQ(b.Failure("k"), 1000);
}

TEST(Backoff, KeysPastTheBoundAreNotTrackedAndStayReady) {
  FakeClock t;
  Backoff b(t.clock(), BackoffOptions{.max_keys = 2});
  b.Failure("a");
  b.Failure("b");
  EXPECT_EQ(b.Failure("c"), 0);
  EXPECT_TRUE(b.Ready("c"));
  EXPECT_FALSE(b.Ready("a"));
}

TEST(LogLimiter, LogsTheFirstOccurrenceAndCountsTheRestOfTheInterval) {
  FakeClock t;
  LogLimiter l(t.clock());
  EXPECT_TRUE(l.ShouldLog("vm1 frame-cut-short"));
  for (int i = 0; i < 5; ++i) {
    t.now += 1000;
    EXPECT_FALSE(l.ShouldLog("vm1 frame-cut-short"));
  }
  EXPECT_TRUE(l.TakeSummaries().empty()) << "the interval has not passed";
}

TEST(LogLimiter, SummarisesOnceAfterTheIntervalThenLogsAgain) {
  FakeClock t;
  LogLimiter l(t.clock());
  EXPECT_TRUE(l.ShouldLog("x"));
  EXPECT_FALSE(l.ShouldLog("x"));
  EXPECT_FALSE(l.ShouldLog("x"));
  t.now += 60000;
  auto summaries = l.TakeSummaries();
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].first, "x");
  EXPECT_EQ(summaries[0].second, 2u);
  EXPECT_TRUE(l.TakeSummaries().empty()) << "a count is handed out once";
  EXPECT_TRUE(l.ShouldLog("x")) << "a new interval logs its first occurrence";
  EXPECT_FALSE(l.ShouldLog("x"));
}

TEST(LogLimiter, AnOccurrenceAfterTheIntervalIsLoggedAndTheOldCountStillOwed) {
  FakeClock t;
  LogLimiter l(t.clock());
  l.ShouldLog("x");
  l.ShouldLog("x");
  t.now += 61000;
  EXPECT_TRUE(l.ShouldLog("x"));
  auto summaries = l.TakeSummaries();
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].second, 1u);
}

TEST(LogLimiter, ClassesAreIndependent) {
  FakeClock t;
  LogLimiter l(t.clock());
  EXPECT_TRUE(l.ShouldLog("vm1 call-timeout"));
  EXPECT_TRUE(l.ShouldLog("vm2 call-timeout"));
  EXPECT_FALSE(l.ShouldLog("vm1 call-timeout"));
}

TEST(LogLimiter, AQuietClassIsForgottenAndNothingIsSummarisedForIt) {
  FakeClock t;
  LogLimiter l(t.clock());
  l.ShouldLog("x");
  t.now += 60000;
  EXPECT_TRUE(l.TakeSummaries().empty());
  t.now += 60000;
  EXPECT_TRUE(l.TakeSummaries().empty());
  EXPECT_TRUE(l.ShouldLog("x"));
}

TEST(LogLimiter, ClassesPastTheBoundShareOneOtherClass) {
  FakeClock t;
  LogLimiter l(t.clock(), LogLimiterOptions{.max_classes = 1});
  EXPECT_TRUE(l.ShouldLog("a"));
  EXPECT_TRUE(l.ShouldLog("b")) << "the first overflow is logged, as (other)";
  EXPECT_FALSE(l.ShouldLog("c"));
  t.now += 60000;
  auto summaries = l.TakeSummaries();
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].first, "(other)");
  EXPECT_EQ(summaries[0].second, 1u);
}

}  // namespace
}  // namespace qvmr
