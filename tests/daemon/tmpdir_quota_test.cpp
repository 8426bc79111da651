// A command's private TMPDIR counted in its VM's spool quota, on real processes (argv and shell
// executors) under each containment mechanism this machine offers (`none` and `subreaper` work
// unprivileged): a command that writes more into $TMPDIR than the VM's quota allows is killed
// (or, if it was quicker than any measurement, answered so once it exits) with outcome `error`,
// status 255, its partial output kept and `.err` ending with a note naming the TMPDIR; one that
// stays under runs normally; either way the quota holds only the spool files' bytes once the
// command is over and its TMPDIR is gone.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include "daemon/executor.h"
#include "daemon/tmpdir_charge.h"
#include "engine/shell/shell.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_temp_dir.h"
#include "tests/support/fake_env.h"

namespace qvmr {
namespace {

using testing::ReadWholeFile;
using testing::TempDir;

constexpr const char* kVm = "work";
constexpr std::uint64_t kQuota = 1 << 20;
constexpr const char* kKilledNote =
    "qvm-remote: killed: this VM's spool quota in dom0 is used up \\(its TMPDIR held (at least )?"
    "[0-9]+ bytes\\)\n$";

std::string Cid(int n) {
  return "20261130-120000-1-" + std::string(16 - std::to_string(n).size(), '0') + std::to_string(n);
}

std::uint64_t FileSize(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

std::size_t EntriesIn(const std::string& dir) {
  std::size_t count = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* entry = readdir(d)) count += entry->d_name[0] != '.';
    closedir(d);
  }
  return count;
}

enum class Via { kArgv, kShell };

struct Row {
  const char* sentence;
  Via via;
  const char* text;
  Outcome outcome;
  int status;
  bool killed_note;  // .err ends with kKilledNote
};

class TmpdirQuotaTest : public ::testing::TestWithParam<ContainmentKind> {
 protected:
  void SetUp() override {
    options_.instance = InstanceTag(temp_.path());
    options_.tmp_parent = temp_.Sub("tmp");
    auto made = NewContainment(GetParam(), options_);
    if (!made.ok()) {
      GTEST_SKIP() << ContainmentKindName(GetParam())
                   << " is not available on this machine: " << made.error().message;
    }
    containment_ = std::move(made).value();
    temp_.MakeDir("bin");
    for (const char* program : {"head", "sleep", "echo"}) {
      temp_.Symlink(std::string("bin/") + program, std::string("/usr/bin/") + program);
    }
    temp_.WriteFile("bin/fill-tmp",
                    "#!/bin/sh\n/usr/bin/head -c \"$1\" /dev/zero > \"$TMPDIR/fill\"\n"
                    "echo filled\nexec /usr/bin/sleep 30\n",
                    0755);
    temp_.WriteFile(
        "bin/fill-tmp-and-exit",
        "#!/bin/sh\n/usr/bin/head -c \"$1\" /dev/zero > \"$TMPDIR/fill\"\necho filled\n", 0755);
    exec_path_ = ExecPath::Parse(temp_.Sub("bin") + ":/usr/bin:/bin");
    ASSERT_TRUE(spool_dir_.Prepare().ok());
  }

  ExecResult Run(Via via, const std::string& text) {
    auto spool = spool_dir_.Create(kVm, Cid(++runs_), 4 << 20);
    EXPECT_TRUE(spool.ok());
    spool_ = std::move(*spool);
    return RunIn(via, text, Cid(runs_), spool_, nullptr);
  }

  // Safe to call from several threads at once (each with its own cid and spool).
  ExecResult RunIn(Via via, const std::string& text, const std::string& cid, RequestSpool& spool,
                   const std::atomic<bool>* cancel) {
    Decision decision;
    decision.allow = true;
    if (via == Via::kArgv) {
      ShellResult shell = AnalyzeShell(text);
      EXPECT_TRUE(shell.ok) << text;
      decision.executor = ExecutorKind::kArgv;
      decision.has_plan = true;
      decision.plan = shell.plan;
    } else {
      decision.executor = ExecutorKind::kShell;
    }
    ExecRequest request;
    request.vm = kVm;
    request.cid = cid;
    request.cancel = cancel;
    request.deadline = Processes::Posix()->NowMonotonicMs() + 60000;
    request.timeout_seconds = 60;
    request.exec_path = &exec_path_;
    request.text = text;
    std::unique_ptr<Executor> executor =
        via == Via::kArgv
            ? NewArgvExecutor(Processes::Posix(), &env_, containment_.get())
            : NewShellExecutor(Processes::Posix(), &env_, containment_.get(), temp_.Sub("work"));
    return executor->Run(decision, request, spool);
  }

  TempDir temp_;
  ContainmentOptions options_;
  std::unique_ptr<Containment> containment_;
  ExecPath exec_path_;
  SpoolDir spool_dir_{temp_.Sub("spool"), kQuota};
  testing::FakeEnv env_;
  RequestSpool spool_;
  int runs_ = 0;
};

TEST_P(TmpdirQuotaTest, ATmpdirPastTheVmsQuotaIsAnsweredErrorAndTheQuotaIsGivenBackAfter) {
  const Row rows[] = {
      {"an argv command that fills its TMPDIR past the quota and waits is killed", Via::kArgv,
       "fill-tmp 2097152", Outcome::kError, 255, true},
      {"an argv command that fills it and exits before any measurement is still answered error",
       Via::kArgv, "fill-tmp-and-exit 2097152", Outcome::kError, 255, true},
      {"a shell command that fills its TMPDIR past the quota and waits is killed", Via::kShell,
       "head -c 2097152 /dev/zero > \"$TMPDIR/big\"\necho filled\nsleep 30\n", Outcome::kError, 255,
       true},
      {"an argv command whose TMPDIR stays under the quota runs normally", Via::kArgv,
       "fill-tmp-and-exit 102400", Outcome::kOk, 0, false},
      {"a shell command whose TMPDIR stays under the quota runs normally", Via::kShell,
       "head -c 102400 /dev/zero > \"$TMPDIR/small\" && echo filled\n", Outcome::kOk, 0, false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.sentence);
    const ExecResult result = Run(row.via, row.text);
    const std::string err = ReadWholeFile(spool_.stderr_path);
    EXPECT_EQ(result.outcome, row.outcome) << err;
    EXPECT_EQ(result.status, row.status);
    EXPECT_EQ(ReadWholeFile(spool_.stdout_path), "filled\n");  // partial output kept
    EXPECT_EQ(std::regex_search(err, std::regex(kKilledNote)), row.killed_note) << err;
    EXPECT_EQ(EntriesIn(options_.tmp_parent), 0u);  // the TMPDIR went with the command
    // Only the spool files are left in the quota (each row's files wait for delivery).
    std::uint64_t spooled = 0;
    for (int n = 1; n <= runs_; ++n) {
      for (const char* ext : {".out", ".err"}) {
        spooled += FileSize(temp_.Sub("spool/") + kVm + "/" + Cid(n) + ext);
      }
    }
    EXPECT_EQ(spool_dir_.Used(kVm), spooled);
  }
}

TEST_P(TmpdirQuotaTest, TwoCommandsOfOneVmWhoseTmpdirsTogetherPassTheQuotaAreNotBothLeftRunning) {
  // Each writes 600 KiB of the 1 MiB quota, then waits: whichever measures with the other's
  // TMPDIR held is past the quota. Once one has been answered, the other is stopped (cancel).
  constexpr int kCommands = 2;
  RequestSpool spools[kCommands];
  ExecResult results[kCommands];
  for (int i = 0; i < kCommands; ++i) {
    auto spool = spool_dir_.Create(kVm, Cid(++runs_), 4 << 20);
    ASSERT_TRUE(spool.ok());
    spools[i] = std::move(*spool);
  }
  std::atomic<bool> cancel{false};
  std::atomic<int> finished{0};
  std::thread threads[kCommands];
  for (int i = 0; i < kCommands; ++i) {
    threads[i] = std::thread([&, i] {
      results[i] =
          RunIn(Via::kArgv, "fill-tmp 614400", Cid(runs_ - kCommands + 1 + i), spools[i], &cancel);
      ++finished;
    });
  }
  while (finished.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  cancel = true;
  for (std::thread& thread : threads) thread.join();
  int killed_for_quota = 0;
  for (int i = 0; i < kCommands; ++i) {
    const std::string err = ReadWholeFile(spools[i].stderr_path);
    if (results[i].outcome == Outcome::kError) {
      EXPECT_TRUE(std::regex_search(err, std::regex(kKilledNote))) << err;
      ++killed_for_quota;
    } else {
      EXPECT_EQ(results[i].outcome, Outcome::kInterrupted) << err;
    }
  }
  EXPECT_GE(killed_for_quota, 1);
  EXPECT_EQ(EntriesIn(options_.tmp_parent), 0u);
  std::uint64_t spooled = 0;
  for (int i = 0; i < kCommands; ++i) {
    spooled += FileSize(spools[i].stdout_path) + FileSize(spools[i].stderr_path);
  }
  EXPECT_EQ(spool_dir_.Used(kVm), spooled);
}

INSTANTIATE_TEST_SUITE_P(EveryMechanism, TmpdirQuotaTest,
                         ::testing::Values(ContainmentKind::kCgroup2, ContainmentKind::kHybrid,
                                           ContainmentKind::kPidns, ContainmentKind::kSubreaper,
                                           ContainmentKind::kNone),
                         [](const ::testing::TestParamInfo<ContainmentKind>& info) {
                           return std::string(ContainmentKindName(info.param));
                         });

}  // namespace
}  // namespace qvmr
