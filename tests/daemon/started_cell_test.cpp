// started_cell.h and the spawn gate (SpawnSpec::before_exec) that makes the journal's `started`
// row durable before the command's first program execs.
#include "daemon/started_cell.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "daemon/processes.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_temp_dir.h"

namespace qvmr {
namespace {

using testing::TempDir;

pid_t SleepInItsOwnGroup() {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    ::execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::usleep(100 * 1000);  // past setsid
  return pid;
}

TEST(StartedCell, ReadsField22EvenWhenTheCommandNameHoldsParenthesesAndSpaces) {
  TempDir proc;
  proc.MakeDir("42");
  // comm "a) 1 2 3": a parser splitting at the first ')' would read the wrong field.
  std::string stat = "42 (a) 1 2 3) S";
  for (int field = 4; field <= 21; ++field) stat += " " + std::to_string(field);
  stat += " 987654 23 24\n";
  proc.WriteFile("42/stat", stat, 0644);
  EXPECT_EQ(ProcessStartTime(42, proc.path()), 987654u);
  EXPECT_EQ(ProcessStartTime(43, proc.path()), std::nullopt);
}

TEST(StartedCell, NamesTheCellByItsKind) {
  EXPECT_EQ(StartedContainmentId(ContainmentKind::kNone, nullptr, 77), "pgid:77");
  EXPECT_EQ(StartedContainmentId(ContainmentKind::kHybrid, nullptr, 77), "pgid:77");
}

TEST(StartedCell, KillsAProcessGroupWhoseLeaderHasTheJournaledStartTime) {
  pid_t pid = SleepInItsOwnGroup();
  auto start = ProcessStartTime(pid);
  ASSERT_TRUE(start);
  EXPECT_EQ(KillStartedLeftovers("pgid:" + std::to_string(pid), *start), LeftoverKill::kKilled);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
}

TEST(StartedCell, LeavesAloneAPidWhoseStartTimeDiffersOrIsUnknown) {
  pid_t pid = SleepInItsOwnGroup();
  auto start = ProcessStartTime(pid);
  ASSERT_TRUE(start);
  EXPECT_EQ(KillStartedLeftovers("pgid:" + std::to_string(pid), *start + 1),
            LeftoverKill::kNotOurs);
  EXPECT_EQ(KillStartedLeftovers(std::to_string(pid), 0), LeftoverKill::kNotOurs);
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), 0);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

TEST(StartedCell, IgnoresMalformedIdsAndNeverSignalsInitOrEveryone) {
  for (const char* id : {"", "pgid:", "pgid:1", "pgid:0", "pgid:-5", "pidns:x", "cgroup:"}) {
    EXPECT_EQ(KillStartedLeftovers(id, 1), LeftoverKill::kUnrecognised) << id;
  }
}

TEST(SpawnGate, TheChildDoesNotExecUntilBeforeExecReturnedTrue) {
  TempDir tmp;
  const std::string mark = tmp.Sub("ran");
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  SpawnSpec spec;
  spec.argv = {"/usr/bin/touch", mark};
  spec.stdin_fd = spec.stdout_fd = spec.stderr_fd = devnull;
  bool ran_before = true;
  std::uint64_t start_time = 0;
  spec.before_exec = [&](pid_t pid) {
    ::usleep(50 * 1000);  // had the child exec'd, touch would have run by now
    ran_before = std::filesystem::exists(mark);
    start_time = ProcessStartTime(pid).value_or(0);
    return true;
  };
  SpawnResult r = Processes::Posix()->Spawn(spec);
  ASSERT_EQ(r.kind, SpawnResult::Kind::kStarted);
  Processes::Posix()->Release(r.child);
  EXPECT_FALSE(ran_before);
  EXPECT_NE(start_time, 0u);
  EXPECT_TRUE(std::filesystem::exists(mark));
  ::close(devnull);
}

TEST(SpawnGate, AFalseFromBeforeExecMeansNothingRuns) {
  TempDir tmp;
  const std::string mark = tmp.Sub("ran");
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  SpawnSpec spec;
  spec.argv = {"/usr/bin/touch", mark};
  spec.stdin_fd = spec.stdout_fd = spec.stderr_fd = devnull;
  spec.before_exec = [](pid_t) { return false; };
  SpawnResult r = Processes::Posix()->Spawn(spec);
  EXPECT_EQ(r.kind, SpawnResult::Kind::kExecFailed);
  EXPECT_EQ(r.error_number, ECANCELED);
  EXPECT_FALSE(std::filesystem::exists(mark));
  ::close(devnull);
}

}  // namespace
}  // namespace qvmr
