// The shell executor (`full`) on real processes under each containment mechanism this machine
// offers: a 200 KiB script runs (a file, never `bash -c`), the work file is 0700 and gone after,
// the whole tree dies at the deadline and background jobs never outlive the command, a fork bomb
// is bounded and the next command runs, the memory cap stops a backtracking grep, a killed sort
// leaves nothing behind, and the no-tty / pager invariants the shipped policy relies on hold.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/executor.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_local_world.h"
#include "tests/support/daemon_temp_dir.h"
#include "tests/support/fake_env.h"

namespace qvmr {
namespace {

using testing::ReadWholeFile;
using testing::TempDir;

constexpr const char* kVm = "work";

// Live (not zombie) processes whose command line holds `argument` exactly (tests give their sleeps
// a unique duration such as 1000.<n> to find them again).
std::size_t ProcessesWithArgument(const std::string& argument) {
  std::size_t count = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return 0;
  while (struct dirent* entry = readdir(proc)) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
    std::ifstream stat(std::string("/proc/") + entry->d_name + "/stat");
    std::string stat_line;
    std::getline(stat, stat_line);
    const std::size_t paren = stat_line.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat_line.size() && stat_line[paren + 2] == 'Z') {
      continue;  // dead, waiting to be reaped
    }
    std::ifstream in(std::string("/proc/") + entry->d_name + "/cmdline");
    std::stringstream text;
    text << in.rdbuf();
    const std::string cmdline = text.str();
    std::size_t at = 0;
    while (at < cmdline.size()) {
      std::size_t nul = cmdline.find('\0', at);
      if (nul == std::string::npos) nul = cmdline.size();
      if (cmdline.compare(at, nul - at, argument) == 0) ++count;
      at = nul + 1;
    }
  }
  closedir(proc);
  return count;
}

// A validated cid form, distinct per run.
std::string Cid(int n) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016x", n);
  return std::string("20261130-120000-1-") + hex;
}

std::string UniqueSleep() {
  static std::atomic<int> counter{0};
  return "1000." + std::to_string(getpid()) + std::to_string(++counter);
}

class ShellExecutorTest : public ::testing::TestWithParam<ContainmentKind> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (cgroups and PID namespaces)";
    options_.instance = InstanceTag(temp_.path());
    options_.tmp_parent = temp_.Sub("tmp");
    options_.max_pids = 64;
    options_.max_memory_bytes = 64ULL << 20;
    auto made = NewContainment(GetParam(), options_);
    if (!made.ok()) {
      GTEST_SKIP() << ContainmentKindName(GetParam())
                   << " is not available on this machine: " << made.error().message;
    }
    containment_ = std::move(made).value();
    exec_path_ = ExecPath::Parse(kDefaultExecPath);
    ASSERT_TRUE(SpoolDir(temp_.Sub("spool")).Prepare().ok());
  }

  ExecResult Run(const std::string& text, MonotonicMs timeout_ms = 30000) {
    Decision decision;
    decision.allow = true;
    decision.executor = ExecutorKind::kShell;
    ExecRequest request;
    request.vm = kVm;
    request.cid = Cid(++runs_);
    request.deadline = Processes::Posix()->NowMonotonicMs() + timeout_ms;
    request.timeout_seconds = timeout_ms / 1000;
    request.exec_path = &exec_path_;
    request.text = text;
    auto spool = SpoolDir(temp_.Sub("spool")).Create(kVm, request.cid, 4 << 20);
    EXPECT_TRUE(spool.ok());
    spool_ = std::move(*spool);
    auto executor =
        NewShellExecutor(Processes::Posix(), &env_, containment_.get(), temp_.Sub("work"));
    return executor->Run(decision, request, spool_);
  }

  std::string Out() const { return ReadWholeFile(spool_.stdout_path); }
  std::string Err() const { return ReadWholeFile(spool_.stderr_path); }
  bool BoundsForkBombs() const {
    return GetParam() == ContainmentKind::kCgroup2 || GetParam() == ContainmentKind::kHybrid;
  }

  TempDir temp_;
  ContainmentOptions options_;
  std::unique_ptr<Containment> containment_;
  ExecPath exec_path_;
  testing::FakeEnv env_;
  RequestSpool spool_;
  int runs_ = 0;
};

TEST_P(ShellExecutorTest, RunsATwoHundredKiBScriptFromA0700FileNeverBashC) {
  std::string text = "stat -c %a \"$0\"\necho \"$BASH_EXECUTION_STRING\"\n";
  const std::string filler = "# " + std::string(1021, 'x') + "\n";  // 1 KiB
  for (int i = 0; i < 200; ++i) text += filler;
  text += "echo end of a $(( 200 )) KiB script\n";
  ASSERT_GT(text.size(), 200u * 1024);
  ExecResult result = Run(text);
  EXPECT_EQ(result.outcome, Outcome::kOk) << Err();
  EXPECT_EQ(result.status, 0);
  // 700: the work file's mode; an empty line: bash was not given the text by -c.
  EXPECT_EQ(Out(), "700\n\nend of a 200 KiB script\n");
  DIR* work = opendir(temp_.Sub("work").c_str());
  ASSERT_NE(work, nullptr);
  int entries = 0;
  while (struct dirent* e = readdir(work)) entries += e->d_name[0] != '.';
  closedir(work);
  EXPECT_EQ(entries, 0) << "the work file outlived its command";
}

TEST_P(ShellExecutorTest, StdinStdoutAndStderrAreNeverTtysAndPagersAreCat) {
  ExecResult result = Run(
      "for fd in 0 1 2; do if [ -t $fd ]; then echo \"fd $fd is a tty\"; fi; done\n"
      "tty; echo \"PAGER=$PAGER SYSTEMD_PAGER=$SYSTEMD_PAGER SECURE=$SYSTEMD_PAGERSECURE\"\n"
      "read -r line; echo \"stdin read status $?\"\n"
      "exec 3</dev/tty 2>/dev/null && echo 'has a controlling tty' || echo 'no controlling tty'\n");
  EXPECT_EQ(result.outcome, Outcome::kOk);
  EXPECT_EQ(Out(),
            "not a tty\n"
            "PAGER=cat SYSTEMD_PAGER=cat SECURE=1\n"
            "stdin read status 1\n"
            "no controlling tty\n");
}

TEST_P(ShellExecutorTest, KillsTheWholeTreeAtTheDeadlineAndSaysSo) {
  const std::string tag = UniqueSleep();
  ExecResult result = Run("setsid sh -c 'trap \"\" TERM; exec sleep " + tag + "' &\n" +
                              "sh -c 'sh -c \"trap \\\"\\\" TERM; exec sleep " + tag + "\" &' &\n" +
                              "( trap '' TERM; setsid sleep " + tag + " & )\n" +
                              "echo partial\ntrap '' TERM\nsleep " + tag + "\n",
                          1000);
  EXPECT_EQ(result.outcome, Outcome::kTimeout);
  EXPECT_EQ(result.status, 124);
  EXPECT_EQ(Out(), "partial\n");
  const std::string err = Err();
  EXPECT_NE(err.find("qvm-remote: killed at the deadline (1 s)\n"), std::string::npos) << err;
  EXPECT_EQ(err.substr(err.size() - 1), "\n");
  EXPECT_EQ(ProcessesWithArgument(tag), 0u);
}

TEST_P(ShellExecutorTest, BackgroundJobsNeverOutliveTheCommand) {
  const std::string tag = UniqueSleep();
  ExecResult result = Run("setsid sleep " + tag + " &\n(sleep " + tag + " &) \nnohup sleep " + tag +
                          " >/dev/null 2>&1 &\necho main done\n");
  EXPECT_EQ(result.outcome, Outcome::kOk);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(Out(), "main done\n");
  EXPECT_EQ(ProcessesWithArgument(tag), 0u);
}

TEST_P(ShellExecutorTest, AForkBombIsContainedAndTheNextCommandRuns) {
  if (!BoundsForkBombs()) {
    GTEST_SKIP() << ContainmentKindName(GetParam())
                 << " does not bound a fork bomb (no pids.max), so none is run under it";
  }
  ExecResult bomb = Run("b(){ b|b& };b\nsleep 5\n", 2000);
  EXPECT_EQ(bomb.outcome, Outcome::kTimeout);
  ExecResult next = Run("echo still serving");
  EXPECT_EQ(next.outcome, Outcome::kOk);
  EXPECT_EQ(Out(), "still serving\n");
}

TEST_P(ShellExecutorTest, TheMemoryCapStopsABacktrackingGrepAndTheNextCommandRuns) {
  ExecResult grep =
      Run("echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | grep -E '((a{255}){255}){255}'\n"
          "echo \"grep status $?\"\n",
          60000);
  EXPECT_EQ(grep.outcome, Outcome::kOk) << Err();
  const std::string out = Out();
  EXPECT_TRUE(out == "grep status 2\n" || out == "grep status 137\n") << out;
  ExecResult next = Run("echo still serving");
  EXPECT_EQ(Out(), "still serving\n");
}

TEST_P(ShellExecutorTest, AKilledSortLeavesNothingInAnyTemporaryDirectory) {
  ExecResult result =
      Run("case \"$TMPDIR\" in '') echo no TMPDIR; exit 1;; esac\n"
          "stat -c %a \"$TMPDIR\"\n"
          "{ seq 1 400000; sleep 300; } | sort -S 64K >/dev/null\n",
          1500);
  EXPECT_EQ(result.outcome, Outcome::kTimeout);
  EXPECT_EQ(Out(), "700\n");
  DIR* tmp = opendir(options_.tmp_parent.c_str());
  ASSERT_NE(tmp, nullptr);
  int entries = 0;
  while (struct dirent* e = readdir(tmp)) entries += e->d_name[0] != '.';
  closedir(tmp);
  EXPECT_EQ(entries, 0) << "a private TMPDIR outlived its command";
}

TEST_P(ShellExecutorTest, TwoVmsWithTheSameCidRunAtOnceWithoutSharingACell) {
  // A cid is unique only within its VM: the cell, TMPDIR and work file are per VM and cid.
  auto executor =
      NewShellExecutor(Processes::Posix(), &env_, containment_.get(), temp_.Sub("work"));
  const std::string cid = Cid(4242);
  std::vector<std::string> outputs(2);
  std::vector<ExecResult> results(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      const std::string vm = i == 0 ? "work" : "personal";
      Decision decision;
      decision.allow = true;
      decision.executor = ExecutorKind::kShell;
      const std::string text = "echo \"$TMPDIR\"; sleep 0.5; echo " + vm + "\n";
      ExecRequest request;
      request.vm = vm;
      request.cid = cid;
      request.deadline = Processes::Posix()->NowMonotonicMs() + 30000;
      request.timeout_seconds = 30;
      request.exec_path = &exec_path_;
      request.text = text;
      auto spool = SpoolDir(temp_.Sub("spool")).Create(vm, cid, 1 << 20);
      ASSERT_TRUE(spool.ok());
      results[i] = executor->Run(decision, request, *spool);
      outputs[i] = ReadWholeFile(spool->stdout_path);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(results[0].outcome, Outcome::kOk);
  EXPECT_EQ(results[1].outcome, Outcome::kOk);
  EXPECT_EQ(outputs[0], options_.tmp_parent + "/work." + cid + "\nwork\n");
  EXPECT_EQ(outputs[1], options_.tmp_parent + "/personal." + cid + "\npersonal\n");
}

TEST_P(ShellExecutorTest, RefusesADecisionThatIsNotForTheShell) {
  Decision decision;
  decision.allow = true;
  decision.executor = ExecutorKind::kArgv;
  ExecRequest request;
  request.vm = kVm;
  request.cid = Cid(999);
  request.exec_path = &exec_path_;
  request.text = "echo never";
  auto spool = SpoolDir(temp_.Sub("spool")).Create(kVm, request.cid, 1024);
  ASSERT_TRUE(spool.ok());
  ExecResult result =
      NewShellExecutor(Processes::Posix(), &env_, containment_.get(), temp_.Sub("work"))
          ->Run(decision, request, *spool);
  EXPECT_EQ(result.outcome, Outcome::kError);
  EXPECT_EQ(ReadWholeFile(spool->stdout_path), "");
}

// End to end: the real daemon (local transport, --once) runs a `full` request in the shell
// executor under the containment `auto` picks, and its background job does not survive.
TEST(ShellExecutorDaemonTest, TheDaemonRunsAFullRequestAsAScriptAndKillsItsBackgroundJob) {
  testing::LocalWorld w;
  std::string policy = ReadWholeFile(w.PolicyFile());
  const std::string read_only = "work: {level: read-only}";
  ASSERT_NE(policy.find(read_only), std::string::npos);
  policy.replace(policy.find(read_only), read_only.size(), "work: {level: full}");
  w.tmp().WriteFile("root/etc/qubes/remote-policy.d/50-test.yaml", policy, 0644);
  const std::string tag = UniqueSleep();
  const std::string cid = w.NewCid();
  w.Submit("work", cid,
           "for i in 1 2; do echo \"$i\"; done\nsetsid sleep " + tag + " &\necho \"$PAGER\"\n",
           testing::kKeyWork);
  DaemonOptions options;
  options.containment = "auto";
  ASSERT_EQ(w.RunOnce(options), 0);
  EXPECT_EQ(w.Result("work", cid, "out"), "1\n2\ncat\n");
  EXPECT_EQ(w.Result("work", cid, "exit"), "0");
  EXPECT_EQ(w.MetaValue("work", cid, "outcome"), "ok");
  EXPECT_EQ(w.MetaValue("work", cid, "executor"), "shell");
  EXPECT_EQ(ProcessesWithArgument(tag), 0u);
}

// The start log names the mechanism `auto` chose; `none` says once that it contains nothing.
TEST(ShellExecutorDaemonTest, TheStartLogNamesTheMechanismAndNoneWarnsOnce) {
  testing::LocalWorld w;
  const std::string log = w.root() + "/var/log/qubes/qvm-remote.log";
  DaemonOptions chosen;
  chosen.containment = "auto";
  ASSERT_EQ(w.RunOnce(chosen), 0);
  EXPECT_NE(ReadWholeFile(log).find("containment auto: "), std::string::npos) << ReadWholeFile(log);

  DaemonOptions none;
  none.containment = "none";
  ASSERT_EQ(w.RunOnce(none), 0);
  const std::string text = ReadWholeFile(log);
  std::size_t warnings = 0;
  for (std::size_t at = text.find("none: WARNING"); at != std::string::npos;
       at = text.find("none: WARNING", at + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << text;
}

INSTANTIATE_TEST_SUITE_P(EveryMechanism, ShellExecutorTest,
                         ::testing::Values(ContainmentKind::kCgroup2, ContainmentKind::kHybrid,
                                           ContainmentKind::kPidns, ContainmentKind::kSubreaper),
                         [](const auto& info) {
                           return std::string(ContainmentKindName(info.param));
                         });

}  // namespace
}  // namespace qvmr
