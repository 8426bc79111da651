// Issue 13, crash recovery of running trees: the real qvm-remote-dom0 of this build is SIGKILLed
// while a command's tree runs — a main process, a background child and a double-forked,
// setsid'd grandchild (which escapes both the process group and PR_SET_PDEATHSIG) — then
// restarted: the tree is gone, its cell is empty, and the request is answered `interrupted`
// exactly once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "daemon/journal.h"
#include "support/daemon_local_world.h"

namespace qvmr {
namespace {

using ::testing::HasSubstr;
using testing::kKeyWork;
using testing::LocalWorld;
using ::testing::StartsWith;

constexpr char kPolicyWithRunaway[] = R"(version: 1
commands:
  runaway: {}
classes:
  read-only:
    - 'runaway'
vms:
  work: {level: read-only}
  other: {level: read-only}
)";

bool WaitForFile(const std::string& path) {
  for (int i = 0; i < 300; ++i) {
    if (std::filesystem::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

pid_t ReadPid(const std::string& path) {
  std::string text = testing::ReadWholeFile(path);
  return text.empty() ? -1 : static_cast<pid_t>(std::stol(text));
}

bool Alive(pid_t pid) {
  if (pid <= 1 || ::kill(pid, 0) != 0) return false;
  // A zombie re-parented to init is gone for our purposes.
  std::string stat = testing::ReadWholeFile("/proc/" + std::to_string(pid) + "/stat");
  std::size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

bool GoneSoon(pid_t pid) {
  for (int i = 0; i < 100; ++i) {
    if (!Alive(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(DaemonCrashTree, AKilledDaemonsRunningTreeIsGoneAfterTheRestartAndAnsweredInterruptedOnce) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (a cgroup cell)";
  LocalWorld w;
  w.tmp().WriteFile("root/etc/qubes/remote-policy.d/50-test.yaml", kPolicyWithRunaway, 0644);
  const std::string marks = w.tmp().Sub("marks");
  std::filesystem::create_directories(marks);
  // Absolute paths: the command's PATH is the exec path, which holds only symlinks.
  w.tmp().WriteFile("bin/runaway",
                    "#!/bin/sh\n"
                    "/bin/sleep 300 &\n"
                    "echo $! > " +
                        marks +
                        "/background\n"
                        "/usr/bin/setsid -f /bin/sh -c 'echo $$ > " +
                        marks + "/escapee.tmp; /bin/mv " + marks + "/escapee.tmp " + marks +
                        "/escapee; exec /bin/sleep 300'\n"
                        "while [ ! -e " +
                        marks +
                        "/escapee ]; do /bin/sleep 0.05; done\n"
                        "echo $$ > " +
                        marks +
                        "/leader\n"
                        "/bin/touch " +
                        marks +
                        "/started\n"
                        "exec /bin/sleep 300\n",
                    0755);
  std::string cid = w.NewCid();
  w.Submit("work", cid, "runaway", kKeyWork);
  const int daemon = w.StartBinary(w.BinaryArgs({"--vm", "work"}));
  ASSERT_GT(daemon, 0);
  const bool started = WaitForFile(marks + "/started");
  ::kill(daemon, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(daemon, &status, 0), daemon);
  ASSERT_TRUE(started) << "the command never started";

  const pid_t leader = ReadPid(marks + "/leader");
  const pid_t background = ReadPid(marks + "/background");
  const pid_t escapee = ReadPid(marks + "/escapee");
  EXPECT_TRUE(GoneSoon(leader)) << "the leader dies with the daemon (PR_SET_PDEATHSIG)";
  ASSERT_TRUE(Alive(escapee)) << "a setsid'd grandchild outlives the daemon's death signal";
  const std::string cgroups =
      testing::ReadWholeFile("/proc/" + std::to_string(escapee) + "/cgroup");
  {
    auto journal = Journal::Open(w.root() + "/var/lib/qvm-remote/journal.db");
    ASSERT_TRUE(journal) << journal.error().ToString();
    auto rows = (*journal)->Unfinished();
    ASSERT_TRUE(rows);
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0].state, JournalState::kStarted);
    ASSERT_TRUE((*rows)[0].started);
    EXPECT_THAT((*rows)[0].started->containment_id, StartsWith("cgroup:"));
    EXPECT_NE((*rows)[0].started->leader_start_time, 0u);
  }
  EXPECT_THAT(cgroups, HasSubstr("qvmr-")) << "the escapee is still in the command's cell";

  ASSERT_EQ(w.RunBinary(w.BinaryArgs({"--once", "--vm", "work"})), 0);
  EXPECT_TRUE(GoneSoon(escapee));
  EXPECT_TRUE(GoneSoon(background));
  // The cell is empty: no cgroup of this daemon instance holds a process.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(
           "/sys/fs/cgroup", std::filesystem::directory_options::skip_permission_denied)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.find("qvmr-") == 0 && name.find(cid) != std::string::npos) {
      EXPECT_EQ(testing::ReadWholeFile(entry.path().string() + "/cgroup.procs"), "")
          << entry.path();
    }
  }
  EXPECT_EQ(w.MetaValue("work", cid, "outcome"), "interrupted");
  EXPECT_THAT(w.Result("work", cid, "err"), HasSubstr("while this request ran"));
  const std::string meta = w.Result("work", cid, "meta");
  ASSERT_EQ(w.RunBinary(w.BinaryArgs({"--once", "--vm", "work"})), 0);
  EXPECT_EQ(w.Result("work", cid, "meta"), meta) << "answered once";
}

}  // namespace
}  // namespace qvmr
