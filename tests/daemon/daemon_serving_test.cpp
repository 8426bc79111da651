// A serving daemon (not --once) on the local world: what its per-VM loop does between answers.
// The real qvm-remote-dom0 of this build, stopped with SIGTERM; the test asserts what ends up in
// the VM's queue and what ran, never how soon (every wait is a generous bound).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/daemon_local_world.h"

namespace qvmr {
namespace {

using ::testing::HasSubstr;
using testing::kKeyWork;
using testing::LocalWorld;

// Polls `done` every 100 ms for up to 30 s.
template <typename Done>
bool WaitFor(Done done) {
  for (int i = 0; i < 300; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

TEST(DaemonServing, AReplayedCopyOfADeliveredRequestIsRemovedWithoutWaitingForAnotherAnswer) {
  LocalWorld w;
  int pid = w.StartBinary(w.BinaryArgs({"--vm", "work"}));
  ASSERT_GT(pid, 0);
  const std::string cid = w.NewCid();
  w.Submit("work", cid, "tick", kKeyWork);
  ASSERT_TRUE(WaitFor([&] { return w.Result("work", cid, "exit") != "<missing>"; }));
  ASSERT_EQ(w.Result("work", cid, "out"), "ticked\n");
  ASSERT_EQ(w.Ticks(), 1);

  // The same files again (the MAC is deterministic): a replay of a delivered request. The fetch
  // claims it into running/; it must be removed from there although no other answer is waiting
  // for this VM to carry the removal (the held fetch that claimed it carries it, or else the
  // loop's next delivery call, which is made for removals alone too).
  w.Submit("work", cid, "tick", kKeyWork);
  namespace fs = std::filesystem;
  const std::string q = w.Queue("work");
  EXPECT_TRUE(WaitFor([&] {
    return !fs::exists(q + "/pending/" + cid) && !fs::exists(q + "/running/" + cid) &&
           !fs::exists(q + "/running/" + cid + ".auth");
  })) << "the replayed copy stayed in the queue";
  EXPECT_EQ(w.Ticks(), 1) << "the replay ran";
  EXPECT_EQ(w.Result("work", cid, "out"), "ticked\n") << "the first answer changed";
  EXPECT_THAT(w.TextLogText(), HasSubstr("REPLAY vm=work id=" + cid));
  EXPECT_EQ(LocalWorld::StopBinary(pid), 0);
}

}  // namespace
}  // namespace qvmr
