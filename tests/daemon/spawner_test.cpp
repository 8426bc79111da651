// The spawner: every fork happens on one long-lived thread, so a child's PR_SET_PDEATHSIG does
// not fire when the worker that asked for it goes away.
#include "daemon/spawner.h"

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <set>
#include <thread>
#include <vector>

#include "daemon/processes.h"
#include "gtest/gtest.h"

namespace qvmr {
namespace {

TEST(SpawnerTest, RunsEveryCallersStepOnTheSameThreadThatIsNoneOfTheCallers) {
  std::mutex mu;
  std::set<std::thread::id> step_threads;
  std::set<std::thread::id> callers;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 10; ++k) {
        Spawner::Instance().Run([&] {
          std::lock_guard<std::mutex> lock(mu);
          step_threads.insert(std::this_thread::get_id());
        });
      }
      std::lock_guard<std::mutex> lock(mu);
      callers.insert(std::this_thread::get_id());
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(step_threads.size(), 1u);
  EXPECT_EQ(callers.count(*step_threads.begin()), 0u);
  EXPECT_NE(*step_threads.begin(), std::this_thread::get_id());
}

TEST(SpawnerTest, AChildOutlivesTheWorkerThreadThatStartedIt) {
  const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  ASSERT_GE(null_fd, 0);
  SpawnResult spawned;
  std::thread worker([&] {
    SpawnSpec spec;
    spec.argv = {"/bin/sleep", "30"};
    spec.stdin_fd = spec.stdout_fd = spec.stderr_fd = null_fd;
    spawned = Processes::Posix()->Spawn(spec);
  });
  worker.join();  // the thread that asked is gone; PR_SET_PDEATHSIG would fire now if it forked
  ASSERT_EQ(spawned.kind, SpawnResult::Kind::kStarted);
  Processes* processes = Processes::Posix();
  EXPECT_FALSE(processes->WaitUntil(spawned.child, processes->NowMonotonicMs() + 300).has_value())
      << "the child died with the worker thread";
  kill(spawned.child.pid, SIGKILL);
  ExitState exit = processes->Release(spawned.child);
  EXPECT_TRUE(exit.signaled);
  EXPECT_EQ(exit.code, SIGKILL);
  close(null_fd);
}

}  // namespace
}  // namespace qvmr
