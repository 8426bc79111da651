// Crash points (CONTRACT.md "Commands", test hooks): the real qvm-remote-dom0 of this build is
// run with QVMR_TEST_CRASH_AT and _exits there; a second run restarts from the journal. Whatever
// the point, every request is answered exactly once and nothing runs twice.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "daemon/test_hooks.h"
#include "support/daemon_local_world.h"

namespace qvmr {
namespace {

using ::testing::HasSubstr;
using testing::kKeyWork;
using testing::LocalWorld;

struct CrashCase {
  const char* point;
  const char* outcome;  // of the request after the restart
  int ticks;            // how often it ran in all
};

class DaemonCrash : public ::testing::TestWithParam<CrashCase> {};

TEST_P(DaemonCrash, EveryRequestIsAnsweredExactlyOnceAndNothingRunsTwiceAfterARestart) {
  if (!TestHooksEnabled()) GTEST_SKIP() << "needs -DQVMR_TEST_HOOKS=ON (crash points)";
  const CrashCase& c = GetParam();
  LocalWorld w;
  std::string cid = w.NewCid();
  w.Submit("work", cid, "tick", kKeyWork);
  std::string auth = testing::ReadWholeFile(w.Queue("work") + "/pending/" + cid + ".auth");
  ASSERT_EQ(w.RunBinary(w.BinaryArgs({"--once", "--vm", "work"}),
                        {std::string("QVMR_TEST_CRASH_AT=") + c.point}),
            kTestCrashExitStatus);

  ASSERT_EQ(w.RunBinary(w.BinaryArgs({"--once", "--vm", "work"})), 0);
  EXPECT_EQ(w.MetaValue("work", cid, "outcome"), c.outcome);
  EXPECT_EQ(w.Ticks(), c.ticks);
  if (std::string(c.outcome) == "ok") {
    EXPECT_EQ(w.Result("work", cid, "out"), "ticked\n");
  } else {
    EXPECT_THAT(w.Result("work", cid, "err"), HasSubstr("restarted"));
  }
  // The answer is final: a third run changes nothing, and the request offered again is a replay.
  std::string meta = w.Result("work", cid, "meta");
  ASSERT_EQ(w.RunBinary(w.BinaryArgs({"--once", "--vm", "work"})), 0);
  EXPECT_EQ(w.Result("work", cid, "meta"), meta);
  for (const char* ext : {"out", "err", "meta", "exit"}) {
    std::filesystem::remove(w.Queue("work") + "/results/" + cid + "." + ext);
  }
  w.tmp().WriteFile("vms/work/.qvm-remote/queue/pending/" + cid + ".auth", auth, 0644);
  w.tmp().WriteFile("vms/work/.qvm-remote/queue/pending/" + cid, "tick", 0644);
  ASSERT_EQ(w.RunBinary(w.BinaryArgs({"--once", "--vm", "work"})), 0);
  EXPECT_EQ(w.Result("work", cid, "exit"), "<missing>");
  EXPECT_EQ(w.Ticks(), c.ticks);
}

INSTANTIATE_TEST_SUITE_P(Points, DaemonCrash,
                         ::testing::Values(CrashCase{"after-accept", "interrupted", 0},
                                           CrashCase{"after-start", "interrupted", 0},
                                           CrashCase{"after-finish", "ok", 1},
                                           CrashCase{"before-ack", "ok", 1}),
                         [](const auto& info) {
                           std::string name = info.param.point;
                           for (char& ch : name) ch = ch == '-' ? '_' : ch;
                           return name;
                         });

TEST(DaemonCrashHooks, TheVersionLineSaysTheBinaryHasTestHooks) {
  if (!TestHooksEnabled()) GTEST_SKIP() << "a build without hooks";
  LocalWorld w;
  std::string out = w.tmp().Sub("version");
  // Through sh only to capture stdout into a file the test reads.
  ASSERT_EQ(w.RunBinary({"/bin/sh", "-c",
                         std::string(QVMR_BIN_DIR) + "/qvm-remote-dom0 --version > " + out}),
            0);
  EXPECT_THAT(testing::ReadWholeFile(out), HasSubstr("test hooks"));
}

TEST(DaemonCrashHooks, AShorterPairingDelayAnswersABodyWithoutItsTokenNoToken) {
  if (!TestHooksEnabled()) GTEST_SKIP() << "needs -DQVMR_TEST_HOOKS=ON (the pairing delay)";
  LocalWorld w;
  std::string cid = w.NewCid();
  w.tmp().WriteFile("vms/work/.qvm-remote/queue/pending/" + cid, "tick", 0644);
  // Older than the (shortened) delay by the time the script judges it.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ASSERT_EQ(w.RunBinary(w.BinaryArgs({"--once", "--vm", "work"}), {"QVMR_TEST_PAIRING_DELAY_MS=0"}),
            0);
  EXPECT_EQ(w.MetaValue("work", cid, "outcome"), "auth");
  EXPECT_EQ(w.MetaValue("work", cid, "reason_code"), "no-token");
  EXPECT_EQ(w.Ticks(), 0);
}

}  // namespace
}  // namespace qvmr
