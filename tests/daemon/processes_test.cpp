// The POSIX Processes against real children: exec failures reported with their errno, the exact
// environment, waiting with a deadline, Peek not reaping, and a KillTree reaching the group.
#include "daemon/processes.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "gtest/gtest.h"
#include "tests/support/daemon_temp_dir.h"

namespace qvmr {
namespace {

using testing::ReadWholeFile;
using testing::TempDir;

class ProcessesTest : public ::testing::Test {
 protected:
  ProcessesTest() {
    null_ = open("/dev/null", O_RDWR | O_CLOEXEC);
    out_ = open(temp_.Sub("out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  }
  ~ProcessesTest() override {
    close(null_);
    close(out_);
  }

  SpawnSpec Spec(std::vector<std::string> argv) {
    SpawnSpec spec;
    spec.argv = std::move(argv);
    spec.env = {"A=1", "B=two words"};
    spec.stdin_fd = null_;
    spec.stdout_fd = out_;
    spec.stderr_fd = out_;
    return spec;
  }

  Processes& processes_ = *Processes::Posix();
  TempDir temp_;
  int null_ = -1;
  int out_ = -1;
};

TEST_F(ProcessesTest, StartedChildGetsExactlyTheGivenEnvironment) {
  SpawnResult spawned = processes_.Spawn(Spec({"/usr/bin/env"}));
  ASSERT_EQ(spawned.kind, SpawnResult::Kind::kStarted);
  ExitState exit = processes_.Release(spawned.child);
  EXPECT_FALSE(exit.signaled);
  EXPECT_EQ(exit.Status(), 0);
  EXPECT_EQ(ReadWholeFile(temp_.Sub("out")), "A=1\nB=two words\n");
}

TEST_F(ProcessesTest, MissingProgramIsReportedAsENOENTWithNothingLeftRunning) {
  SpawnResult spawned = processes_.Spawn(Spec({temp_.Sub("missing")}));
  EXPECT_EQ(spawned.kind, SpawnResult::Kind::kExecFailed);
  EXPECT_EQ(spawned.error_number, ENOENT);
}

TEST_F(ProcessesTest, NonExecutableFileIsReportedAsEACCES) {
  temp_.WriteFile("plain", "data\n", 0644);
  // As root, execve still refuses a file without any execute bit.
  SpawnResult spawned = processes_.Spawn(Spec({temp_.Sub("plain")}));
  EXPECT_EQ(spawned.kind, SpawnResult::Kind::kExecFailed);
  EXPECT_EQ(spawned.error_number, EACCES);
}

TEST_F(ProcessesTest, RelativeProgramIsRefusedBeforeForking) {
  SpawnResult spawned = processes_.Spawn(Spec({"echo"}));
  EXPECT_EQ(spawned.kind, SpawnResult::Kind::kSpawnFailed);
  EXPECT_EQ(spawned.error_number, EINVAL);
}

TEST_F(ProcessesTest, WaitUntilReturnsNothingAtTheDeadlineAndTheTreeKillReachesTheChild) {
  SpawnResult spawned = processes_.Spawn(Spec({"/usr/bin/sleep", "30"}));
  ASSERT_EQ(spawned.kind, SpawnResult::Kind::kStarted);
  EXPECT_FALSE(processes_.WaitUntil(spawned.child, processes_.NowMonotonicMs() + 50));
  EXPECT_FALSE(processes_.Peek(spawned.child));
  processes_.Signal(KillTree{{spawned.child.pid}}, SIGTERM);
  auto exit = processes_.WaitUntil(spawned.child, processes_.NowMonotonicMs() + 60000);
  ASSERT_TRUE(exit);
  EXPECT_TRUE(exit->signaled);
  EXPECT_EQ(exit->Status(), -SIGTERM);
  // Peek does not reap: the state is still there, and so is the pid.
  EXPECT_TRUE(processes_.Peek(spawned.child));
  EXPECT_EQ(kill(spawned.child.pid, 0), 0);
  EXPECT_EQ(processes_.Release(spawned.child).Status(), -SIGTERM);
  EXPECT_EQ(spawned.child.pidfd, -1);
}

TEST_F(ProcessesTest, ChildIsItsOwnSessionLeader) {
  SpawnResult spawned = processes_.Spawn(Spec({"/usr/bin/sleep", "30"}));
  ASSERT_EQ(spawned.kind, SpawnResult::Kind::kStarted);
  EXPECT_EQ(getsid(spawned.child.pid), spawned.child.pid);
  EXPECT_EQ(getpgid(spawned.child.pid), spawned.child.pid);
  processes_.Signal(KillTree{{spawned.child.pid}}, SIGKILL);
  EXPECT_EQ(processes_.Release(spawned.child).Status(), -SIGKILL);
}

TEST_F(ProcessesTest, ExitCodeIsReported) {
  SpawnResult spawned = processes_.Spawn(Spec({"/bin/sh", "-c", "exit 42"}));
  ASSERT_EQ(spawned.kind, SpawnResult::Kind::kStarted);
  EXPECT_EQ(processes_.Release(spawned.child).Status(), 42);
}

}  // namespace
}  // namespace qvmr
