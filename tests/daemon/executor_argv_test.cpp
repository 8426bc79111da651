// The argv executor against real small programs. The exec path is a temporary directory holding
// symlinks to a few system programs and tiny scripts, so exactly the programs a test names are
// findable. Tests assert outcomes and bytes, never latencies.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "daemon/executor.h"
#include "engine/shell/shell.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_fake_processes.h"
#include "tests/support/daemon_temp_dir.h"
#include "tests/support/fake_env.h"

namespace qvmr {
namespace {

using testing::ReadWholeFile;
using testing::TempDir;

constexpr const char* kVm = "work";
constexpr const char* kCid = "20261123-004500-1-0123456789abcdef";

class ArgvExecutorTest : public ::testing::Test {
 protected:
  ArgvExecutorTest() {
    temp_.MakeDir("bin");
    for (const char* program : {"echo", "printf", "cat", "sort", "head", "false", "true",
                                "readlink", "grep", "pwd", "sleep"}) {
      temp_.Symlink(std::string("bin/") + program, std::string("/usr/bin/") + program);
    }
    // `env` is a wrapper to the engine; under another name it just prints the environment.
    temp_.Symlink("bin/show-env", "/usr/bin/env");
    Script("out-and-err", "echo out\necho err >&2\n");
    // Writes stderr before stdout: a later stage that never reads cannot SIGPIPE it first.
    Script("err-and-out", "echo err >&2\necho out\n");
    Script("start-then-sleep", "echo start\nexec /usr/bin/sleep 30\n");
    Script("ignore-term", "trap '' TERM\necho ready\nwhile :; do /usr/bin/sleep 1; done\n");
    Script("leave-background", "/usr/bin/sleep 30 &\necho main done\n");
    Script("die-by-usr1", "kill -USR1 $$\n");
    temp_.WriteFile("bin/not-executable", "#!/bin/sh\necho never\n", 0644);
    temp_.WriteFile("bin/not-a-program",
                    "\x7f"
                    "ELF garbage that execve refuses",
                    0755);
    exec_path_ = ExecPath::Parse(temp_.Sub("bin"));
    EXPECT_TRUE(SpoolDir(temp_.Sub("spool")).Prepare().ok());
  }

  void Script(const std::string& name, const std::string& body) {
    temp_.WriteFile("bin/" + name, "#!/bin/sh\n" + body, 0755);
  }

  ExecResult Run(const std::string& text, std::uint64_t cap = 1 << 20,
                 MonotonicMs timeout_ms = 60000) {
    ShellResult shell = AnalyzeShell(text);
    EXPECT_TRUE(shell.ok) << text << ": " << shell.denial.message;
    Decision decision;
    decision.allow = true;
    decision.executor = ExecutorKind::kArgv;
    decision.has_plan = true;
    decision.plan = shell.plan;
    ExecRequest request;
    request.vm = kVm;
    request.cid = kCid;
    request.deadline = Processes::Posix()->NowMonotonicMs() + timeout_ms;
    request.timeout_seconds = timeout_ms / 1000;
    request.exec_path = &exec_path_;
    if (!spool_override_) {
      auto spool = SpoolDir(temp_.Sub("spool")).Create(kVm, kCid, cap);
      EXPECT_TRUE(spool.ok());
      spool_ = std::move(*spool);
    }
    auto executor = NewArgvExecutor(processes_, &env_);
    return executor->Run(decision, request, spool_);
  }

  std::string Out() const { return ReadWholeFile(spool_.stdout_path); }
  std::string Err() const { return ReadWholeFile(spool_.stderr_path); }

  TempDir temp_;
  ExecPath exec_path_;
  testing::FakeEnv env_;
  RequestSpool spool_;
  bool spool_override_ = false;
  Processes* processes_ = Processes::Posix();
};

TEST_F(ArgvExecutorTest, SimpleCommandGivesExactOutputAndStatus) {
  ExecResult result = Run("echo hello world");
  EXPECT_EQ(result.outcome, Outcome::kOk);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(Out(), "hello world\n");
  EXPECT_EQ(Err(), "");
  EXPECT_EQ(result.stdout_bytes, 12u);
  EXPECT_EQ(result.truncation, "");
}

TEST_F(ArgvExecutorTest, PipelineConnectsStagesInOrder) {
  ExecResult result = Run("printf 'b\\na\\n' | sort | head -1");
  EXPECT_EQ(result.outcome, Outcome::kOk);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(Out(), "a\n");
}

TEST_F(ArgvExecutorTest, PipelineStatusIsTheLastStages) {
  EXPECT_EQ(Run("false | true").status, 0);
  EXPECT_EQ(Run("true | false").status, 1);
}

TEST_F(ArgvExecutorTest, AndOrListSkipsAsBashDoes) {
  ExecResult result = Run("false && echo no ; echo yes");
  EXPECT_EQ(Out(), "yes\n");
  EXPECT_EQ(result.status, 0);
  Run("false || echo x");
  EXPECT_EQ(Out(), "x\n");
  Run("true || echo skipped");
  EXPECT_EQ(Out(), "");
  // A skipped pipeline leaves the status as it was: `false && x || echo y` runs `echo y`.
  result = Run("false && echo no || echo y");
  EXPECT_EQ(Out(), "y\n");
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(Run("true && false").status, 1);
}

TEST_F(ArgvExecutorTest, AllStagesShareOneStderr) {
  Run("err-and-out | err-and-out | cat");
  EXPECT_EQ(Out(), "out\n");
  EXPECT_EQ(Err(), "err\nerr\n");
}

TEST_F(ArgvExecutorTest, RedirectsApplyInSourceOrder) {
  Run("out-and-err 2>&1 >/dev/null");
  EXPECT_EQ(Out(), "err\n");  // stderr went where stdout was, then stdout left
  EXPECT_EQ(Err(), "");
  Run("out-and-err >/dev/null 2>&1");
  EXPECT_EQ(Out(), "");
  EXPECT_EQ(Err(), "");
  Run("out-and-err 2>/dev/null");
  EXPECT_EQ(Out(), "out\n");
  EXPECT_EQ(Err(), "");
  Run("out-and-err 2>&1 | cat");
  EXPECT_EQ(Out(), "out\nerr\n");
}

TEST_F(ArgvExecutorTest, MissingProgramIs127WithALineInErr) {
  ExecResult result = Run("no-such-program arg; echo after");
  EXPECT_EQ(result.outcome, Outcome::kOk);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(Out(), "after\n");
  EXPECT_EQ(Err(), "qvm-remote: no-such-program: command not found in QVM_REMOTE_EXEC_PATH\n");
  EXPECT_EQ(Run("no-such-program").status, 127);
}

TEST_F(ArgvExecutorTest, MissingMiddleStageEndsItsNeighboursAsAClosedPipe) {
  ExecResult result = Run("printf x | no-such-program | cat");
  EXPECT_EQ(result.outcome, Outcome::kOk);
  EXPECT_EQ(result.status, 0);  // cat's: it read end-of-file
  EXPECT_EQ(Out(), "");
  EXPECT_EQ(Err(), "qvm-remote: no-such-program: command not found in QVM_REMOTE_EXEC_PATH\n");
}

TEST_F(ArgvExecutorTest, ProgramGivenWithASlashIsNeverRun) {
  ExecResult result = Run("/usr/bin/echo hi");
  EXPECT_EQ(result.outcome, Outcome::kOk);
  EXPECT_EQ(result.status, 127);
  EXPECT_EQ(Out(), "");
  EXPECT_NE(Err().find("/usr/bin/echo: a program path is never run"), std::string::npos);
}

TEST_F(ArgvExecutorTest, NonExecutableFileIs126) {
  ExecResult result = Run("not-executable");
  EXPECT_EQ(result.outcome, Outcome::kOk);
  EXPECT_EQ(result.status, 126);
  EXPECT_EQ(Out(), "");
  EXPECT_NE(Err().find("not-executable: not executable"), std::string::npos);
}

TEST_F(ArgvExecutorTest, ExecveRefusalIs126) {
  ExecResult result = Run("not-a-program");
  EXPECT_EQ(result.outcome, Outcome::kOk);
  EXPECT_EQ(result.status, 126);
  EXPECT_EQ(Err(), "qvm-remote: not-a-program: cannot execute: Exec format error\n");
}

TEST_F(ArgvExecutorTest, EnvironmentIsExactlyTheContractList) {
  Run("show-env | sort");
  EXPECT_EQ(Out(), "HOME=/root\nLANG=C.UTF-8\nPAGER=cat\nPATH=" + temp_.Sub("bin") +
                       "\nSYSTEMD_COLORS=0\nSYSTEMD_PAGER=cat\nSYSTEMD_PAGERSECURE=1\n");
}

TEST_F(ArgvExecutorTest, StdinIsDevNullAndOutputsArePipes) {
  Run("readlink /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2");
  const std::string out = Out();
  EXPECT_EQ(out.substr(0, out.find('\n')), "/dev/null");
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3);
  EXPECT_NE(out.find("\npipe:["), std::string::npos);
  EXPECT_EQ(out.find("/dev/pts"), std::string::npos);
  EXPECT_EQ(out.find("/dev/tty"), std::string::npos);
}

TEST_F(ArgvExecutorTest, DescriptorsAbove2AreClosed) {
  // An inheritable descriptor in the daemon must not reach the child.
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int leaked = fcntl(null_fd, F_DUPFD, 100);  // no close-on-exec, on purpose
  close(null_fd);
  ASSERT_GE(leaked, 100);
  ExecResult result = Run("readlink /proc/self/fd/" + std::to_string(leaked));
  close(leaked);
  EXPECT_EQ(Out(), "");
  EXPECT_EQ(result.status, 1);
}

TEST_F(ArgvExecutorTest, ChildRunsInRootWithUmask022AndCleanSignals) {
  // The daemon's own mask and ignored signals must not be inherited.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  struct sigaction ignore = {}, previous = {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGHUP, &ignore, &previous);
  Run("pwd; grep -E '^(Umask|SigBlk|SigIgn)' /proc/self/status");
  sigaction(SIGHUP, &previous, nullptr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(Out(), "/\nUmask:\t0022\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST_F(ArgvExecutorTest, EachStageIsItsOwnSessionLeaderAtNice10) {
  Run("cat /proc/self/stat");
  const std::string stat = Out();
  const std::string pid = stat.substr(0, stat.find(' '));
  // Fields after "(comm) ": state ppid pgrp session ... (nice is field 19).
  std::vector<std::string> fields;
  std::string rest = stat.substr(stat.rfind(')') + 2);
  for (std::size_t at = 0; at < rest.size();) {
    const std::size_t space = rest.find(' ', at);
    fields.push_back(rest.substr(at, space - at));
    at = space == std::string::npos ? rest.size() : space + 1;
  }
  ASSERT_GE(fields.size(), 17u);
  EXPECT_EQ(fields[2], pid);    // pgrp
  EXPECT_EQ(fields[3], pid);    // session
  EXPECT_EQ(fields[16], "10");  // nice
}

TEST_F(ArgvExecutorTest, DeathBySignalIsMinusN) {
  EXPECT_EQ(Run("die-by-usr1").status, -SIGUSR1);
}

TEST_F(ArgvExecutorTest, DeadlineKillsThePipelineAndKeepsPartialOutput) {
  ExecResult result = Run("start-then-sleep | cat", 1 << 20, 1500);
  EXPECT_EQ(result.outcome, Outcome::kTimeout);
  EXPECT_EQ(result.status, 124);
  EXPECT_EQ(Out(), "start\n");
  EXPECT_EQ(Err(), "qvm-remote: killed at the deadline (1 s)\n");
}

TEST_F(ArgvExecutorTest, DeadlineStopsTheRestOfTheList) {
  ExecResult result = Run("start-then-sleep; echo never", 1 << 20, 1500);
  EXPECT_EQ(result.outcome, Outcome::kTimeout);
  EXPECT_EQ(Out(), "start\n");
}

TEST_F(ArgvExecutorTest, NothingStartsPastTheDeadline) {
  ExecResult result = Run("echo never", 1 << 20, -1);
  EXPECT_EQ(result.outcome, Outcome::kTimeout);
  EXPECT_EQ(result.status, 124);
  EXPECT_EQ(Out(), "");
  EXPECT_EQ(Err(), "qvm-remote: the deadline passed before it ran (0 s)\n");
}

TEST_F(ArgvExecutorTest, TermIgnoringChildIsKilledAfterTheGrace) {
  ExecResult result = Run("ignore-term", 1 << 20, 1500);
  EXPECT_EQ(result.outcome, Outcome::kTimeout);
  EXPECT_EQ(result.status, 124);
  EXPECT_EQ(Out(), "ready\n");
}

TEST_F(ArgvExecutorTest, BackgroundLeftoversDoNotOutliveTheCommand) {
  // The leftover `sleep 30` holds stdout open; it is killed when the script exits, so the run
  // ends well before this deadline instead of timing out.
  ExecResult result = Run("leave-background", 1 << 20, 20000);
  EXPECT_EQ(result.outcome, Outcome::kOk);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(Out(), "main done\n");
}

TEST_F(ArgvExecutorTest, OutputOverTheCapIsCutMarkedAndDrained) {
  ExecResult result = Run("head -c 5242880 /dev/zero", 1024);
  EXPECT_EQ(result.outcome, Outcome::kOk);
  EXPECT_EQ(result.status, 0);  // the child was never blocked
  EXPECT_EQ(result.stdout_bytes, 5242880u);
  EXPECT_EQ(result.truncation, "stdout");
  EXPECT_EQ(Out(), std::string(1024, '\0') + "\n[truncated at 1024 bytes]\n");
}

TEST_F(ArgvExecutorTest, BothStreamsCutAreReportedTogether) {
  ExecResult result = Run("out-and-err", 2);
  EXPECT_EQ(result.truncation, "stdout,stderr");
  EXPECT_EQ(Out(), "ou\n[truncated at 2 bytes]\n");
  EXPECT_EQ(Err(), "er\n[truncated at 2 bytes]\n");
}

TEST_F(ArgvExecutorTest, FullDiskDrainsToNowhereAndSaysSpoolFull) {
  // /dev/full fails every write with ENOSPC, as a full spool filesystem would.
  auto out = SpoolSink::Open("/dev/full", 1 << 20);
  ASSERT_TRUE(out.ok());
  auto err = SpoolSink::Open(temp_.Sub("err"), 1 << 20);
  ASSERT_TRUE(err.ok());
  spool_.stdout_path = "/dev/full";
  spool_.stderr_path = temp_.Sub("err");
  spool_.out = std::move(*out);
  spool_.err = std::move(*err);
  spool_override_ = true;
  ExecResult result = Run("head -c 1048576 /dev/zero");
  EXPECT_EQ(result.outcome, Outcome::kOk);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.truncation, "spool-full");
  EXPECT_EQ(result.stdout_bytes, 1048576u);
}

TEST_F(ArgvExecutorTest, SpoolWriteFailureKillsTheCommandAsAtADeadline) {
  // A descriptor open only for reading fails every write with EBADF: not a full disk, so the
  // request cannot be answered faithfully and the command is stopped.
  auto err = SpoolSink::Open(temp_.Sub("err"), 1 << 20);
  ASSERT_TRUE(err.ok());
  spool_.stdout_path = temp_.Sub("unwritable");
  spool_.out = std::make_unique<SpoolSink>(open("/dev/null", O_RDONLY | O_CLOEXEC), 1 << 20);
  spool_.stderr_path = temp_.Sub("err");
  spool_.err = std::move(*err);
  spool_override_ = true;
  ExecResult result = Run("start-then-sleep", 1 << 20, 60000);
  EXPECT_EQ(result.outcome, Outcome::kError);
  EXPECT_EQ(result.status, 255);
  EXPECT_EQ(Err(), "qvm-remote: killed: the spool could not be written\n");
}

TEST_F(ArgvExecutorTest, RunsConcurrentlyFromSeveralThreads) {
  std::vector<std::thread> threads;
  std::vector<std::string> outputs(4);
  std::vector<int> statuses(4, -1);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      const std::string cid = "20261123-004500-" + std::to_string(i + 1) + "-0123456789abcdef";
      ShellResult shell = AnalyzeShell("printf '" + std::to_string(i) + "' | cat");
      Decision decision;
      decision.allow = true;
      decision.executor = ExecutorKind::kArgv;
      decision.has_plan = true;
      decision.plan = shell.plan;
      ExecRequest request{.vm = kVm,
                          .cid = cid,
                          .deadline = Processes::Posix()->NowMonotonicMs() + 60000,
                          .timeout_seconds = 60,
                          .exec_path = &exec_path_};
      auto spool = SpoolDir(temp_.Sub("spool")).Create(kVm, cid, 1024);
      if (!spool.ok()) return;
      auto executor = NewArgvExecutor(Processes::Posix(), &env_);
      statuses[i] = executor->Run(decision, request, *spool).status;
      spool->out.reset();
      outputs[i] = ReadWholeFile(spool->stdout_path);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(statuses[i], 0);
    EXPECT_EQ(outputs[i], std::to_string(i));
  }
}

// With a fake Processes: exactly what the executor asks the OS for.
TEST_F(ArgvExecutorTest, SpawnsEachStageWithTheResolvedPathArgvAndContractEnvironment) {
  testing::FakeProcesses fake;
  fake.On(temp_.Sub("bin/sort"), {.stdout_text = "b\na\n"});
  processes_ = &fake;
  ExecResult result = Run("printf 'b\\na\\n' | sort -r 2>&1");
  EXPECT_EQ(result.outcome, Outcome::kOk);
  std::vector<SpawnSpec> spawns = fake.spawns();
  ASSERT_EQ(spawns.size(), 2u);
  EXPECT_EQ(spawns[0].argv, (std::vector<std::string>{temp_.Sub("bin/printf"), "b\\na\\n"}));
  EXPECT_EQ(spawns[1].argv, (std::vector<std::string>{temp_.Sub("bin/sort"), "-r"}));
  EXPECT_EQ(spawns[0].env, ChildEnvironment(exec_path_));
  EXPECT_EQ(spawns[1].env, ChildEnvironment(exec_path_));
  // Stage 1's stderr is its stdout (`2>&1`); stage 0's stderr is the shared one.
  EXPECT_EQ(spawns[1].stderr_fd, spawns[1].stdout_fd);
  EXPECT_NE(spawns[0].stderr_fd, spawns[0].stdout_fd);
  EXPECT_NE(spawns[0].stdin_fd, spawns[1].stdin_fd);
  EXPECT_EQ(Out(), "b\na\n");  // the last stage writes into the shared stdout pipe
  EXPECT_EQ(fake.unreleased(), 0u);
}

TEST_F(ArgvExecutorTest, SpawnFailureIsAnErrorAndKillsTheStagesAlreadyStarted) {
  testing::FakeProcesses fake;
  fake.On(temp_.Sub("bin/printf"), {.runs_until_signaled = true});
  fake.On(temp_.Sub("bin/cat"), {.kind = SpawnResult::Kind::kSpawnFailed, .error_number = EAGAIN});
  processes_ = &fake;
  ExecResult result = Run("printf x | cat; echo never");
  EXPECT_EQ(result.outcome, Outcome::kError);
  EXPECT_EQ(result.status, 255);
  EXPECT_EQ(fake.spawns().size(), 2u);  // `echo never` was not started
  ASSERT_FALSE(fake.signals().empty());
  EXPECT_EQ(fake.signals().front().second, SIGKILL);
  EXPECT_EQ(fake.signals().front().first.process_groups.size(), 1u);
  EXPECT_EQ(fake.unreleased(), 0u);
  EXPECT_NE(Err().find("could not start a process"), std::string::npos);
}

TEST_F(ArgvExecutorTest, ProgramVanishedSinceTheLookupIs127) {
  testing::FakeProcesses fake;
  fake.On(temp_.Sub("bin/cat"), {.kind = SpawnResult::Kind::kExecFailed, .error_number = ENOENT});
  processes_ = &fake;
  ExecResult result = Run("cat");
  EXPECT_EQ(result.outcome, Outcome::kOk);
  EXPECT_EQ(result.status, 127);
  EXPECT_EQ(Err(), "qvm-remote: cat: command not found in QVM_REMOTE_EXEC_PATH\n");
}

TEST_F(ArgvExecutorTest, DeadlineSendsTermToTheTree) {
  testing::FakeProcesses fake;
  fake.On(temp_.Sub("bin/sleep"), {.runs_until_signaled = true});
  processes_ = &fake;
  ExecResult result = Run("sleep 30", 1 << 20, 100);
  EXPECT_EQ(result.outcome, Outcome::kTimeout);
  ASSERT_FALSE(fake.signals().empty());
  EXPECT_EQ(fake.signals().front().second, SIGTERM);
}

TEST_F(ArgvExecutorTest, RefusesADecisionWithoutAnArgvPlan) {
  Decision decision;
  decision.allow = true;
  decision.executor = ExecutorKind::kShell;
  auto spool = SpoolDir(temp_.Sub("spool")).Create(kVm, kCid, 1024);
  ASSERT_TRUE(spool.ok());
  ExecRequest request{.vm = kVm,
                      .cid = kCid,
                      .deadline = Processes::Posix()->NowMonotonicMs() + 1000,
                      .timeout_seconds = 1,
                      .exec_path = &exec_path_};
  ExecResult result = NewArgvExecutor(Processes::Posix(), &env_)->Run(decision, request, *spool);
  EXPECT_EQ(result.outcome, Outcome::kError);
  EXPECT_EQ(result.status, 255);
}

}  // namespace
}  // namespace qvmr
