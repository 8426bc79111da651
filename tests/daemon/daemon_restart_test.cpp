// The restart table of CONTRACT.md "Journal", row by row: the journal's states prepared by the
// test as a crashed daemon would have left them, then one --once start of the real daemon.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>

#include "daemon/journal.h"
#include "daemon/started_cell.h"
#include "support/daemon_local_world.h"

namespace qvmr {
namespace {

using ::testing::HasSubstr;
using testing::LocalWorld;

class DaemonRestart : public ::testing::Test {
 protected:
  void SetUp() override {
    auto j = Journal::Open(w_.root() + "/var/lib/qvm-remote/journal.db");
    ASSERT_TRUE(j) << j.error().ToString();
    journal_ = std::move(*j);
  }

  std::string Accept() {
    std::string cid = w_.NewCid();
    TimeMs now = static_cast<TimeMs>(std::time(nullptr)) * 1000;
    auto v = journal_->AcceptBatch({AcceptedRow{"work", cid, 2, false, now, now, 30}});
    EXPECT_TRUE(v && (*v)[0] == AcceptVerdict::kAccepted);
    return cid;
  }

  std::string BootId() { return testing::ReadWholeFile("/proc/sys/kernel/random/boot_id"); }

  LocalWorld w_;
  std::unique_ptr<Journal> journal_;
};

TEST_F(DaemonRestart, AnswersAnAcceptedRequestInterruptedAndNeverRunsIt) {
  std::string cid = Accept();
  journal_.reset();
  ASSERT_EQ(w_.RunOnce(), 0);
  EXPECT_EQ(w_.Result("work", cid, "exit"), "255");
  EXPECT_EQ(w_.MetaValue("work", cid, "outcome"), "interrupted");
  EXPECT_THAT(w_.Result("work", cid, "err"), HasSubstr("did not run"));
}

TEST_F(DaemonRestart, KillsWhatAStartedRequestLeftOfThisBootThenAnswersInterrupted) {
  std::string cid = Accept();
  pid_t leftover = ::fork();
  if (leftover == 0) {
    ::setsid();
    ::execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(leftover, 0);
  ::usleep(100 * 1000);  // let it reach setsid (its own group), or the kill misses it
  auto start_time = ProcessStartTime(leftover);
  ASSERT_TRUE(start_time);
  ASSERT_TRUE(journal_->MarkStarted(
      "work", cid, StartedInfo{"pgid:" + std::to_string(leftover), BootId(), *start_time, 0}));
  journal_.reset();
  ASSERT_EQ(w_.RunOnce(), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(leftover, &status, 0), leftover);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(w_.MetaValue("work", cid, "outcome"), "interrupted");
  EXPECT_THAT(w_.Result("work", cid, "err"), HasSubstr("while this request ran"));
}

// The pid was recycled: the process holding it now started at another time, so it is not ours.
TEST_F(DaemonRestart, LeavesAProcessAloneWhenItsStartTimeIsNotTheJournaledOne) {
  std::string cid = Accept();
  pid_t bystander = ::fork();
  if (bystander == 0) {
    ::setsid();
    ::execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(bystander, 0);
  ::usleep(100 * 1000);
  auto start_time = ProcessStartTime(bystander);
  ASSERT_TRUE(start_time);
  ASSERT_TRUE(journal_->MarkStarted(
      "work", cid, StartedInfo{"pgid:" + std::to_string(bystander), BootId(), *start_time + 1, 0}));
  journal_.reset();
  ASSERT_EQ(w_.RunOnce(), 0);
  EXPECT_EQ(::waitpid(bystander, nullptr, WNOHANG), 0) << "another start time is another process";
  ::kill(bystander, SIGKILL);
  ::waitpid(bystander, nullptr, 0);
  EXPECT_EQ(w_.MetaValue("work", cid, "outcome"), "interrupted");
}

TEST_F(DaemonRestart, LeavesProcessesOfAnotherBootAlone) {
  std::string cid = Accept();
  pid_t bystander = ::fork();
  if (bystander == 0) {
    ::setsid();
    ::execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::usleep(100 * 1000);
  ASSERT_TRUE(journal_->MarkStarted("work", cid,
                                    StartedInfo{"pgid:" + std::to_string(bystander), "another-boot",
                                                ProcessStartTime(bystander).value_or(0), 0}));
  journal_.reset();
  ASSERT_EQ(w_.RunOnce(), 0);
  EXPECT_EQ(::waitpid(bystander, nullptr, WNOHANG), 0) << "a pid of another boot is not ours";
  ::kill(bystander, SIGKILL);
  ::waitpid(bystander, nullptr, 0);
  EXPECT_EQ(w_.MetaValue("work", cid, "outcome"), "interrupted");
}

TEST_F(DaemonRestart, DeliversAFinishedRequestFromItsSpoolWithoutRunningItAgain) {
  std::string cid = Accept();
  std::string spool = w_.root() + "/var/lib/qvm-remote/spool/work/";
  w_.tmp().MakeDir("root/var/lib/qvm-remote/spool/work");
  w_.tmp().WriteFile("root/var/lib/qvm-remote/spool/work/" + cid + ".out", "kept output\n", 0600);
  w_.tmp().WriteFile("root/var/lib/qvm-remote/spool/work/" + cid + ".err", "", 0600);
  FinishedInfo done;
  done.status = 3;
  done.outcome = "ok";
  done.spool = spool + cid + ".out\n" + spool + cid + ".err";
  done.meta = "id=" + cid + "\noutcome=ok\nexit_code=3\n";
  ASSERT_TRUE(journal_->MarkFinished("work", cid, done));
  journal_.reset();
  ASSERT_EQ(w_.RunOnce(), 0);
  EXPECT_EQ(w_.Result("work", cid, "out"), "kept output\n");
  EXPECT_EQ(w_.Result("work", cid, "exit"), "3");
  EXPECT_EQ(w_.Ticks(), 0);
  // Delivered now: a second start delivers nothing again.
  std::remove((w_.Queue("work") + "/results/" + cid + ".exit").c_str());
  ASSERT_EQ(w_.RunOnce(), 0);
  EXPECT_EQ(w_.Result("work", cid, "exit"), "<missing>");
}

TEST_F(DaemonRestart, AnswersInterruptedWhenAFinishedRequestsSpoolIsGone) {
  std::string cid = Accept();
  FinishedInfo done;
  done.status = 0;
  done.outcome = "ok";
  done.spool = w_.root() + "/var/lib/qvm-remote/spool/work/" + cid + ".out\n" + w_.root() +
               "/var/lib/qvm-remote/spool/work/" + cid + ".err";
  done.meta = "id=" + cid + "\noutcome=ok\n";
  ASSERT_TRUE(journal_->MarkFinished("work", cid, done));
  journal_.reset();
  ASSERT_EQ(w_.RunOnce(), 0);
  EXPECT_EQ(w_.MetaValue("work", cid, "outcome"), "interrupted");
  EXPECT_THAT(w_.Result("work", cid, "err"), HasSubstr("lost this request's output"));
}

TEST_F(DaemonRestart, DoesNothingForDeliveredRows) {
  std::string cid = Accept();
  FinishedInfo done;
  done.outcome = "ok";
  done.meta = "id=" + cid + "\n";
  ASSERT_TRUE(journal_->MarkFinished("work", cid, done));
  ASSERT_TRUE(journal_->MarkDelivered("work", cid, 1));
  journal_.reset();
  ASSERT_EQ(w_.RunOnce(), 0);
  EXPECT_EQ(w_.Result("work", cid, "exit"), "<missing>");
}

}  // namespace
}  // namespace qvmr
