// The Scheduler alone: the per-VM share, round-robin over VMs, cid-time order within a VM, and
// admission (FreeShare). Jobs block on a gate the test opens, so nothing depends on timing.
#include "daemon/scheduler.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

namespace qvmr {
namespace {

// Jobs wait here until Open(); each records its name when it starts.
class Gate {
 public:
  std::function<void()> Job(std::string name) {
    return [this, name] {
      std::unique_lock<std::mutex> lock(mu_);
      started_.push_back(name);
      cv_.notify_all();
      cv_.wait(lock, [this] { return open_; });
    };
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void WaitStarted(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return started_.size() >= n; });
  }
  std::vector<std::string> Started() {
    std::lock_guard<std::mutex> lock(mu_);
    return started_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> started_;
  bool open_ = false;
};

TEST(Scheduler, ShareIsHalfTheWorkersButAtLeastOne) {
  EXPECT_EQ(Scheduler(1).share(), 1u);
  EXPECT_EQ(Scheduler(2).share(), 1u);
  EXPECT_EQ(Scheduler(5).share(), 2u);
  EXPECT_EQ(Scheduler(8).share(), 4u);
}

TEST(Scheduler, OneVmNeverRunsMoreThanItsShareAndAnotherVmGetsTheFreeWorkers) {
  Scheduler s(4);
  Gate gate;
  for (int i = 0; i < 4; ++i) s.Submit("flood", i, gate.Job("flood" + std::to_string(i)));
  gate.WaitStarted(2);
  EXPECT_EQ(s.Running(), 2u);
  EXPECT_EQ(s.FreeShare("flood"), 0u);
  s.Submit("quiet", 0, gate.Job("quiet"));
  gate.WaitStarted(3);  // a third worker takes the other VM's job while flood waits
  std::vector<std::string> started = gate.Started();
  EXPECT_EQ(started.back(), "quiet");
  EXPECT_EQ(s.Running(), 3u);
  gate.Open();
  s.WaitIdle();
  EXPECT_EQ(gate.Started().size(), 5u);
}

TEST(Scheduler, RunsOneVmsJobsInCidTimeOrderNotSubmissionOrder) {
  Scheduler s(1);
  Gate block;
  s.Submit("x", 0, block.Job("first"));
  block.WaitStarted(1);
  std::vector<std::string> order;
  std::mutex mu;
  for (int t : {30, 10, 20}) {
    s.Submit("vm", t, [&, t] {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(std::to_string(t));
    });
  }
  block.Open();
  s.WaitIdle();
  EXPECT_EQ(order, (std::vector<std::string>{"10", "20", "30"}));
}

TEST(Scheduler, FreeWorkersTakeVmsInTurnRatherThanArrivalOrder) {
  Scheduler s(1);  // one worker, held until every job is queued
  Gate block;
  s.Submit("blocker", 0, block.Job("blocker"));
  block.WaitStarted(1);
  std::vector<std::string> order;
  std::mutex mu;
  auto record = [&](std::string name) {
    return [&, name] {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(name);
    };
  };
  // a's three arrive before b's three; the worker alternates between them.
  for (int i = 0; i < 3; ++i) s.Submit("a", i, record("a"));
  for (int i = 0; i < 3; ++i) s.Submit("b", i, record("b"));
  block.Open();
  s.WaitIdle();
  ASSERT_EQ(order.size(), 6u);
  for (std::size_t i = 1; i < order.size(); ++i) EXPECT_NE(order[i], order[i - 1]) << i;
}

TEST(Scheduler, FreeShareCountsQueuedAndRunningJobsOfThatVmOnly) {
  Scheduler s(4);
  Gate gate;
  EXPECT_EQ(s.FreeShare("vm"), 2u);
  s.Submit("vm", 0, gate.Job("one"));
  gate.WaitStarted(1);
  EXPECT_EQ(s.FreeShare("vm"), 1u);
  EXPECT_EQ(s.FreeShare("other"), 2u);
  EXPECT_EQ(s.WaitForFreeShare("vm", 0), 1u);
  gate.Open();
  s.WaitIdle();
  EXPECT_EQ(s.FreeShare("vm"), 2u);
}

TEST(Scheduler, DropQueuedForgetsJobsNotStartedAndKeepsTheRunningOnes) {
  Scheduler s(1);
  Gate gate;
  bool ran = false;
  s.Submit("vm", 0, gate.Job("running"));
  gate.WaitStarted(1);
  s.Submit("vm", 1, [&] { ran = true; });
  EXPECT_EQ(s.DropQueued(), 1u);
  EXPECT_FALSE(s.WaitIdleFor(0));
  gate.Open();
  EXPECT_TRUE(s.WaitIdleFor(10'000));
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace qvmr
