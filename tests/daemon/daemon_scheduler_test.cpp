// The scheduler end to end on the local transport: the per-VM share seen from the VMs (another
// VM is answered while one VM's whole share is busy; what dom0 cannot start stays in pending/), a
// request whose deadline passes while it waits for a worker, and SIGTERM's stop.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include "support/daemon_local_world.h"

namespace qvmr {
namespace {

using ::testing::HasSubstr;
using testing::kKeyOther;
using testing::kKeyWork;
using testing::LocalWorld;

constexpr char kKeyThird[] = "3333333333333333333333333333333333333333333333333333333333333333";

constexpr char kPolicy[] = R"(version: 1
commands:
  sleep: {operands_only: true}
  tick: {}
  true: {}
classes:
  read-only:
    - 'tick'
    - 'true'
vms:
  work: {level: read-only, allow: ['sleep <int>']}
  other: {level: read-only, allow: ['sleep <int>']}
  third: {level: read-only, allow: ['sleep <int>']}
)";

bool Exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// LocalWorld plus a third VM, `sleep` on the exec path, and a policy allowing `sleep <int>`.
class SchedulerWorld : public LocalWorld {
 public:
  SchedulerWorld() {
    tmp().WriteFile("root/etc/qubes/remote-policy.d/50-test.yaml", kPolicy, 0644);
    tmp().WriteFile("root/etc/qubes/remote.d/third.key", kKeyThird, 0600);
    tmp().Symlink("bin/sleep", "/bin/sleep");
    for (const char* dir : {"tmp", "pending", "running", "results"}) {
      std::string d = tmp().MakeDir(std::string("vms/third/.qvm-remote/queue/") + dir);
      ::chmod(d.c_str(), 0700);
    }
  }

  DaemonOptions Options(std::size_t workers) const {
    DaemonOptions o;
    o.root = root();
    o.transport = TransportChoice::kLocal;
    o.local_dir = tmp().Sub("vms");
    o.log_to_stdout = false;
    o.policy_dirs = {root() + "/etc/qubes/remote-policy.d"};
    o.vms = {"work", "other", "third"};
    o.workers = workers;
    return o;
  }
};

// Waits (polling, bounded) until `done` holds; returns whether it did.
bool Eventually(const std::function<bool()>& done, int seconds) {
  for (int i = 0; i < seconds * 20; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// RunDaemon (not --once) on a thread, stopped with SIGTERM. Every thread of the test program
// blocks SIGTERM first, so the daemon's sigwait is the one that takes it.
class ServingDaemon {
 public:
  explicit ServingDaemon(DaemonOptions options) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    thread_ = std::thread([this, options] { status_ = RunDaemon(options); });
  }
  // SIGTERM; returns RunDaemon's status.
  int Stop() {
    ::kill(::getpid(), SIGTERM);
    thread_.join();
    return status_;
  }
  ~ServingDaemon() {
    if (thread_.joinable()) Stop();
  }

 private:
  std::thread thread_;
  int status_ = -1;
};

TEST(DaemonScheduler, AnotherVmsTrueIsAnsweredWhileOneVmsWholeShareIsBusy) {
  SchedulerWorld w;
  std::vector<std::string> sleeps;
  for (int i = 0; i < 3; ++i) {
    sleeps.push_back(w.NewCid());
    w.Submit("work", sleeps.back(), "sleep 30", kKeyWork);
  }
  ServingDaemon daemon(w.Options(4));  // share 2
  // Two of work's sleeps run; the third is never claimed while they do.
  ASSERT_TRUE(Eventually([&] { return Exists(w.Queue("work") + "/running/" + sleeps[1]); }, 10));
  std::string quick = w.NewCid();
  w.Submit("other", quick, "true", kKeyOther);
  ASSERT_TRUE(Eventually([&] { return w.Result("other", quick, "exit") != "<missing>"; }, 10));
  EXPECT_EQ(w.Result("other", quick, "exit"), "0");
  for (const std::string& cid : sleeps) EXPECT_EQ(w.Result("work", cid, "exit"), "<missing>");
  EXPECT_TRUE(Exists(w.Queue("work") + "/pending/" + sleeps[2]));  // still withdrawable
  EXPECT_FALSE(Exists(w.Queue("work") + "/running/" + sleeps[2]));
  // SIGTERM: the running sleeps are stopped (answered `interrupted` by the next start), the
  // unclaimed one stays pending.
  EXPECT_EQ(daemon.Stop(), 0);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(w.Result("work", sleeps[i], "exit"), "<missing>");
  EXPECT_TRUE(Exists(w.Queue("work") + "/pending/" + sleeps[2]));
  // The next start answers the stopped ones `interrupted` (and runs the third: `sleep 30` is long,
  // so it is withdrawn first, as a client would).
  ::unlink((w.Queue("work") + "/pending/" + sleeps[2]).c_str());
  ::unlink((w.Queue("work") + "/pending/" + sleeps[2] + ".auth").c_str());
  DaemonOptions once = w.Options(4);
  ASSERT_EQ(w.RunOnce(once), 0);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(w.MetaValue("work", sleeps[i], "outcome"), "interrupted") << i;
    EXPECT_THAT(w.Result("work", sleeps[i], "err"), HasSubstr("restarted while this request ran"));
  }
}

TEST(DaemonScheduler, ARequestWhoseDeadlinePassesWhileWaitingIsAnsweredTimeoutAndNeverRuns) {
  SchedulerWorld w;
  // Two workers (share 1): work's and other's sleeps hold both; third's tick waits past its 1 s.
  std::string a = w.NewCid(), b = w.NewCid(), late = w.NewCid();
  w.Submit("work", a, "sleep 3", kKeyWork);
  w.Submit("other", b, "sleep 3", kKeyOther);
  w.Submit("third", late, "tick", kKeyThird, "timeout=1");
  ASSERT_EQ(w.RunOnce(w.Options(2)), 0);
  EXPECT_EQ(w.Result("work", a, "exit"), "0");
  EXPECT_EQ(w.Result("other", b, "exit"), "0");
  EXPECT_EQ(w.MetaValue("third", late, "outcome"), "timeout");
  EXPECT_THAT(w.Result("third", late, "err"), HasSubstr("nothing ran"));
  EXPECT_EQ(w.Ticks(), 0);
}

TEST(DaemonScheduler, OnceRunsEveryQueuedRequestOfAVmBeyondItsShare) {
  SchedulerWorld w;
  std::vector<std::string> cids;
  for (int i = 0; i < 5; ++i) {
    cids.push_back(w.NewCid());
    w.Submit("work", cids.back(), "tick", kKeyWork);
  }
  ASSERT_EQ(w.RunOnce(w.Options(2)), 0);
  for (const std::string& cid : cids) EXPECT_EQ(w.Result("work", cid, "exit"), "0");
  EXPECT_EQ(w.Ticks(), 5);
}

}  // namespace
}  // namespace qvmr
