// The VM state oracle: the strict parser of `qvm-ls --raw-data --fields NAME,STATE`, and the
// oracle over a scripted Processes (how often qvm-ls runs, the qvm-check fallback, what a failed
// or hanging qvm-ls yields).
#include "daemon/vm_state.h"

#include <sys/stat.h>

#include "gtest/gtest.h"
#include "tests/support/daemon_fake_processes.h"
#include "tests/support/daemon_temp_dir.h"

namespace qvmr {
namespace {

using testing::FakeProcesses;
using testing::TempDir;

FakeProcesses::Script Prints(std::string text) {
  FakeProcesses::Script s;
  s.stdout_text = std::move(text);
  return s;
}
FakeProcesses::Script Exits(int code) {
  FakeProcesses::Script s;
  s.exit = ExitState{false, code};
  return s;
}
FakeProcesses::Script Hangs() {
  FakeProcesses::Script s;
  s.runs_until_signaled = true;
  return s;
}

TEST(ParseVmStates, ReadsEveryNameAndState) {
  auto t = ParseVmStates("dom0|Running\nvm1|Running\nvm2|Halted\nwork-3|Paused\nx|Transient\n");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->states.size(), 5u);
  EXPECT_EQ(t->states.at("dom0"), VmState::kRunning);
  EXPECT_EQ(t->states.at("vm1"), VmState::kRunning);
  EXPECT_EQ(t->states.at("vm2"), VmState::kHalted);
  EXPECT_EQ(t->states.at("work-3"), VmState::kPaused);
  EXPECT_EQ(t->states.at("x"), VmState::kOther);
  EXPECT_EQ(t->ignored_lines, 0u);
}

TEST(ParseVmStates, IgnoresAndCountsLinesThatAreNotExactlyNameBarState) {
  struct Case {
    const char* line;
  } cases[] = {
      {"NAME|STATE|CLASS"},  // a third field: the state word has a bar in it
      {"vm3 |Running"},      // a space in the name
      {"vm3|Running "},      // a space after the state
      {"vm3|Run1ning"},      // a digit in the state
      {"3vm|Running"},       // a name that Qubes would refuse
      {"../etc|Running"},    // a path
      {"|Running"},          // no name
      {"vm3|"},              // no state
      {"vm3"},               // no bar
      {""},                  // an empty line
      {"vm3|Running\r"},     // a carriage return
      {"averyveryverylongvmnamethatisoverthirtyone|Running"},
  };
  for (const Case& c : cases) {
    auto t = ParseVmStates(std::string("dom0|Running\n") + c.line + "\n");
    ASSERT_TRUE(t.ok()) << c.line;
    EXPECT_EQ(t->states.size(), 1u) << c.line;
    EXPECT_EQ(t->ignored_lines, 1u) << c.line;
  }
}

TEST(ParseVmStates, DoesNotBelieveALastLineWithoutItsNewline) {
  auto t = ParseVmStates("dom0|Running\nvm1|Run");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->states.count("vm1"), 0u);
  EXPECT_EQ(t->ignored_lines, 1u);
}

TEST(ParseVmStates, ANameListedTwiceWithDifferentStatesIsOther) {
  auto t = ParseVmStates("vm1|Running\nvm1|Paused\nvm2|Halted\nvm2|Halted\n");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->states.at("vm1"), VmState::kOther);
  EXPECT_EQ(t->states.at("vm2"), VmState::kHalted);
}

TEST(ParseVmStates, RefusesOutputWithNoVmAtAll) {
  for (const char* text : {"", "\n", "garbage\n", "Traceback (most recent call last):\n"}) {
    auto t = ParseVmStates(text);
    ASSERT_FALSE(t.ok()) << text;
    EXPECT_EQ(t.error().code, "qvm-ls-empty");
  }
}

TEST(ParseVmStates, RefusesOutputOverItsBounds) {
  std::string big(kMaxQvmLsOutputBytes + 1, 'a');
  EXPECT_EQ(ParseVmStates(big).error().code, "qvm-ls-too-large");
  std::string many;
  for (std::size_t i = 0; i <= kMaxQvmLsVms; ++i) many += "v" + std::to_string(i) + "|Halted\n";
  ASSERT_LE(many.size(), kMaxQvmLsOutputBytes);
  EXPECT_EQ(ParseVmStates(many).error().code, "qvm-ls-too-large");
}

class VmStateOracleTest : public ::testing::Test {
 protected:
  VmStateOracleTest() {
    // The oracle finds its tools by a PATH lookup of executable files: make them exist.
    temp_.MakeDir("bin");
    for (const char* tool : {"qvm-ls", "qvm-check"}) {
      temp_.WriteFile(std::string("bin/") + tool, "#!/bin/sh\nexit 0\n", 0755);
    }
    ls_ = temp_.Sub("bin/qvm-ls");
    check_ = temp_.Sub("bin/qvm-check");
  }
  std::unique_ptr<VmStateOracle> Oracle(MonotonicMs max_age_ms = 5000) {
    auto o = VmStateOracle::Create(&processes_, VmStateOptions{.search_path = temp_.Sub("bin"),
                                                               .max_age_ms = max_age_ms,
                                                               .call_limit_ms = 300});
    EXPECT_TRUE(o.ok());
    return std::move(*o);
  }
  std::size_t SpawnsOf(const std::string& path) {
    std::size_t n = 0;
    for (const auto& s : processes_.spawns()) n += s.argv[0] == path;
    return n;
  }

  TempDir temp_;
  FakeProcesses processes_;
  std::string ls_, check_;
};

TEST_F(VmStateOracleTest, AsksQvmLsOnceForEveryVmWithinTheMaximumAge) {
  processes_.On(ls_, Prints("dom0|Running\nvm1|Running\nvm2|Halted\nvm3|Paused\n"));
  auto o = Oracle();
  EXPECT_EQ(o->Get("vm1"), VmState::kRunning);
  EXPECT_EQ(o->Get("vm2"), VmState::kHalted);
  EXPECT_EQ(o->Get("vm3"), VmState::kPaused);
  EXPECT_EQ(o->Get("vm4"), VmState::kMissing);
  EXPECT_EQ(o->qvm_ls_calls(), 1u);
  ASSERT_EQ(processes_.spawns().size(), 1u);
  const SpawnSpec spec = processes_.spawns()[0];
  EXPECT_EQ(spec.argv, (std::vector<std::string>{ls_, "--raw-data", "--fields", "NAME,STATE"}));
  EXPECT_EQ(spec.env, (std::vector<std::string>{"PATH=" + temp_.Sub("bin"), "LANG=C"}));
  EXPECT_EQ(processes_.unreleased(), 0u);
}

TEST_F(VmStateOracleTest, RefreshesAtOnceWhenAsked) {
  processes_.On(ls_, Prints("vm1|Running\n"));
  auto o = Oracle();
  EXPECT_EQ(o->Get("vm1"), VmState::kRunning);
  processes_.On(ls_, Prints("vm1|Paused\n"));
  EXPECT_EQ(o->Get("vm1"), VmState::kRunning) << "still fresh";
  o->RequestRefresh();
  EXPECT_EQ(o->Get("vm1"), VmState::kPaused);
  EXPECT_EQ(o->qvm_ls_calls(), 2u);
}

TEST_F(VmStateOracleTest, RefreshesAnOldTable) {
  processes_.On(ls_, Prints("vm1|Running\n"));
  auto o = Oracle(/*max_age_ms=*/0);
  o->Get("vm1");
  o->Get("vm1");
  EXPECT_EQ(o->qvm_ls_calls(), 2u);
}

TEST_F(VmStateOracleTest, FallsBackToQvmCheckWhenQvmLsFails) {
  processes_.On(ls_, Exits(1));
  auto o = Oracle();
  // The fake answers both --running and --paused the same way: exit 0 to both = paused.
  processes_.On(check_, Exits(0));
  EXPECT_EQ(o->Get("vm1"), VmState::kPaused);
  EXPECT_FALSE(o->last_status().ok());
  EXPECT_EQ(o->last_status().error().code, "qvm-ls-failed");
  EXPECT_EQ(o->qvm_check_calls(), 2u);
  bool saw_running = false, saw_paused = false;
  for (const auto& s : processes_.spawns()) {
    if (s.argv == std::vector<std::string>{check_, "--quiet", "--running", "vm1"})
      saw_running = true;
    if (s.argv == std::vector<std::string>{check_, "--quiet", "--paused", "vm1"}) saw_paused = true;
  }
  EXPECT_TRUE(saw_running && saw_paused);
  EXPECT_EQ(o->Get("vm1"), VmState::kPaused);
  EXPECT_EQ(o->qvm_check_calls(), 2u) << "the fallback's answer is cached too";
}

TEST_F(VmStateOracleTest, FallbackSaysHaltedWhenNotRunning) {
  processes_.On(ls_, Prints("not a table\n"));
  processes_.On(check_, Exits(1));
  auto o = Oracle();
  EXPECT_EQ(o->Get("vm1"), VmState::kHalted);
  EXPECT_EQ(o->last_status().error().code, "qvm-ls-empty");
}

TEST_F(VmStateOracleTest, AHangingQvmLsIsKilledAtItsLimitAndTheStateIsUnknown) {
  processes_.On(ls_, Hangs());
  processes_.On(check_, Hangs());
  auto o = Oracle();
  EXPECT_EQ(o->Get("vm1"), VmState::kUnknown);
  EXPECT_EQ(o->last_status().error().code, "qvm-ls-failed");
  EXPECT_EQ(processes_.signals().size(), 2u) << "qvm-ls and the first qvm-check were killed";
  EXPECT_EQ(processes_.unreleased(), 0u);
}

TEST_F(VmStateOracleTest, ATableFromAGoodRefreshIsDroppedWhenTheNextFails) {
  processes_.On(ls_, Prints("vm1|Running\n"));
  auto o = Oracle();
  EXPECT_EQ(o->Get("vm1"), VmState::kRunning);
  processes_.On(ls_, Exits(1));
  processes_.On(check_, Exits(1));
  o->RequestRefresh();
  EXPECT_EQ(o->Get("vm1"), VmState::kHalted) << "from qvm-check, not the old table";
}

TEST(VmStateOracleCreate, FailsWhenQvmLsIsNotOnThePath) {
  TempDir temp;
  temp.MakeDir("empty");
  FakeProcesses processes;
  auto o = VmStateOracle::Create(&processes, VmStateOptions{.search_path = temp.Sub("empty")});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().code, "no-qvm-ls");
}

}  // namespace
}  // namespace qvmr
