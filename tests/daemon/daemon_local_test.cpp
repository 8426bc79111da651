// qvm-remote-dom0 end to end on the local transport: requests written the way the client writes
// them, one --once sweep of the real daemon (fixed script, validation, journal, decision, argv
// executor, delivery), and the result files the VM would read.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "daemon/instance_lock.h"
#include "support/daemon_local_world.h"

namespace qvmr {
namespace {

using ::testing::HasSubstr;
using testing::kKeyOther;
using testing::kKeyWork;
using testing::LocalWorld;

bool Exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

TEST(DaemonLocal, RunsAnAllowedCommandAndAnswersWithItsOutputStatusAndMeta) {
  LocalWorld w;
  std::string cid = w.NewCid();
  w.Submit("work", cid, "echo hello world", kKeyWork);
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.Result("work", cid, "out"), "hello world\n");
  EXPECT_EQ(w.Result("work", cid, "err"), "");
  EXPECT_EQ(w.Result("work", cid, "exit"), "0");
  EXPECT_EQ(w.MetaValue("work", cid, "outcome"), "ok");
  EXPECT_EQ(w.MetaValue("work", cid, "decision"), "allow");
  EXPECT_EQ(w.MetaValue("work", cid, "level"), "read-only");
  EXPECT_EQ(w.MetaValue("work", cid, "executor"), "argv");
  EXPECT_THAT(w.MetaValue("work", cid, "rule"), HasSubstr("50-test.yaml:"));
  EXPECT_EQ(w.MetaValue("work", cid, "policy").size(), 64u);
  // Claimed and answered: nothing is left in the queue but the results.
  EXPECT_FALSE(Exists(w.Queue("work") + "/pending/" + cid));
  EXPECT_FALSE(Exists(w.Queue("work") + "/running/" + cid));
}

TEST(DaemonLocal, RunsPipelinesAndAndOrListsAsTheDaemonWiresThem) {
  LocalWorld w;
  std::string cid = w.NewCid();
  w.Submit("work", cid, "printf 'b\\na\\n' && echo x || echo never; tick", kKeyWork);
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.Result("work", cid, "out"), "b\na\nx\nticked\n");
  EXPECT_EQ(w.Ticks(), 1);
}

TEST(DaemonLocal, AnswersADenialWith126TheReasonCodeAndTheRule) {
  LocalWorld w;
  std::string cid = w.NewCid();
  w.Submit("work", cid, "qvm-start other", kKeyWork);
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.Result("work", cid, "exit"), "126");
  EXPECT_EQ(w.MetaValue("work", cid, "outcome"), "denied");
  EXPECT_EQ(w.MetaValue("work", cid, "decision"), "deny");
  EXPECT_FALSE(w.MetaValue("work", cid, "reason_code").empty());
  EXPECT_THAT(w.Result("work", cid, "err"), HasSubstr("denied by dom0 policy"));
}

TEST(DaemonLocal, AnswersAPingOkWithoutDecidingOrRunning) {
  LocalWorld w;
  std::string cid = w.NewCid();
  w.Submit("work", cid, "", kKeyWork, "kind=ping");
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.Result("work", cid, "exit"), "0");
  EXPECT_EQ(w.MetaValue("work", cid, "outcome"), "ok");
  EXPECT_EQ(w.MetaValue("work", cid, "decision"), "");
}

TEST(DaemonLocal, AnswersForgedWrongAndOtherVmKeysAuthAndRunsNothing) {
  LocalWorld w;
  std::string forged = w.NewCid(), other = w.NewCid();
  w.Submit("work", forged, "tick",
           "3333333333333333333333333333333333333333333333333333333333333333");
  w.Submit("work", other, "tick", kKeyOther);
  ASSERT_EQ(w.RunOnce(), 0);
  for (const std::string& cid : {forged, other}) {
    EXPECT_EQ(w.Result("work", cid, "exit"), "255") << cid;
    EXPECT_EQ(w.MetaValue("work", cid, "outcome"), "auth") << cid;
    EXPECT_EQ(w.MetaValue("work", cid, "reason_code"), "bad-mac") << cid;
    EXPECT_THAT(w.Result("work", cid, "err"), ::testing::Not(HasSubstr("\n\n")));
  }
  EXPECT_EQ(w.Ticks(), 0);
}

TEST(DaemonLocal, RefusesABodySwappedUnderAValidToken) {
  LocalWorld w;
  std::string cid = w.NewCid();
  w.Submit("work", cid, "echo harmless", kKeyWork);
  w.tmp().WriteFile("vms/work/.qvm-remote/queue/pending/" + cid, "tick", 0644);
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.MetaValue("work", cid, "reason_code"), "bad-mac");
  EXPECT_EQ(w.Ticks(), 0);
}

TEST(DaemonLocal, NeverAnswersOrRunsAReplayAfterARestartAndKeepsTheFirstAnswer) {
  LocalWorld w;
  std::string cid = w.NewCid();
  w.Submit("work", cid, "tick", kKeyWork);
  std::string auth = testing::ReadWholeFile(w.Queue("work") + "/pending/" + cid + ".auth");
  ASSERT_EQ(w.RunOnce(), 0);
  ASSERT_EQ(w.Ticks(), 1);
  std::string first_meta = w.Result("work", cid, "meta");
  // The same files copied back into pending/, and the first answer's files taken away (as the
  // client does once it has read them).
  for (const char* ext : {"out", "err", "meta", "exit"}) {
    std::filesystem::remove(w.Queue("work") + "/results/" + cid + "." + ext);
  }
  w.tmp().WriteFile("vms/work/.qvm-remote/queue/pending/" + cid + ".auth", auth, 0644);
  w.tmp().WriteFile("vms/work/.qvm-remote/queue/pending/" + cid, "tick", 0644);
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.Ticks(), 1);
  EXPECT_EQ(w.Result("work", cid, "exit"), "<missing>");
}

TEST(DaemonLocal, AnswersTheSameFilesCopiedIntoAnotherVmAuthThereAndNeverRunsThem) {
  LocalWorld w;
  std::string cid = w.NewCid();
  w.Submit("work", cid, "tick", kKeyWork);
  std::string auth = testing::ReadWholeFile(w.Queue("work") + "/pending/" + cid + ".auth");
  w.tmp().WriteFile("vms/other/.qvm-remote/queue/pending/" + cid + ".auth", auth, 0644);
  w.tmp().WriteFile("vms/other/.qvm-remote/queue/pending/" + cid, "tick", 0644);
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.Ticks(), 1);  // work's own, once
  EXPECT_EQ(w.MetaValue("other", cid, "outcome"), "auth");
  EXPECT_EQ(w.MetaValue("other", cid, "reason_code"), "bad-mac");
}

TEST(DaemonLocal, HostileNamesAreNeverAnsweredNeverRunAndTouchNothingOutside) {
  LocalWorld w;
  std::string pending = w.Queue("work") + "/pending/";
  std::string canary = w.tmp().Sub("canary");
  w.tmp().WriteFile("canary", "untouched", 0644);
  w.tmp().WriteFile("vms/work/.qvm-remote/queue/pending/x'$(touch " + canary + "2)'y", "tick",
                    0644);
  w.tmp().WriteFile("vms/work/.qvm-remote/queue/pending/-rf", "tick", 0644);
  w.tmp().WriteFile("vms/work/.qvm-remote/queue/pending/a\nb", "tick", 0644);
  w.tmp().MakeDir("vms/work/.qvm-remote/queue/pending/20261130-120000-1-0123456789abcdef");
  ASSERT_EQ(::mkfifo((pending + "20261130-120000-2-0123456789abcdef").c_str(), 0644), 0);
  w.tmp().Symlink("vms/work/.qvm-remote/queue/pending/20261130-120000-3-0123456789abcdef", canary);
  std::string ok = w.NewCid();
  w.Submit("work", ok, "echo fine", kKeyWork);
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.Result("work", ok, "out"), "fine\n");  // the good one is served beside them
  EXPECT_EQ(w.Ticks(), 0);
  EXPECT_EQ(testing::ReadWholeFile(canary), "untouched");
  EXPECT_FALSE(Exists(canary + "2"));
  std::size_t results = 0;
  for (auto& e : std::filesystem::directory_iterator(w.Queue("work") + "/results")) {
    (void)e;
    ++results;
  }
  EXPECT_EQ(results, 4u);  // only `ok`'s four files
}

TEST(DaemonLocal, DeniesEverythingNamingTheFileAndLineWhenThePolicyDoesNotLoad) {
  LocalWorld w;
  w.tmp().WriteFile("root/etc/qubes/remote-policy.d/50-test.yaml", "version: 1\nvms: [oops\n",
                    0644);
  std::string cid = w.NewCid(), ping = w.NewCid();
  w.Submit("work", cid, "tick", kKeyWork);
  w.Submit("work", ping, "", kKeyWork, "kind=ping");
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.Result("work", cid, "exit"), "126");
  EXPECT_EQ(w.MetaValue("work", cid, "reason_code"), "policy-error");
  EXPECT_THAT(w.Result("work", cid, "err"), HasSubstr("50-test.yaml:"));
  EXPECT_EQ(w.Ticks(), 0);
  EXPECT_EQ(w.Result("work", ping, "exit"), "0");
}

TEST(DaemonLocal, RefusesToRunBesideAnotherDaemon) {
  LocalWorld w;
  auto lock = InstanceLock::Acquire(w.root() + "/var/lib/qvm-remote/daemon.lock");
  ASSERT_TRUE(lock) << lock.error().ToString();
  std::string cid = w.NewCid();
  w.Submit("work", cid, "tick", kKeyWork);
  EXPECT_EQ(w.RunOnce(), 1);
  EXPECT_EQ(w.Ticks(), 0);
  EXPECT_TRUE(Exists(w.Queue("work") + "/pending/" + cid));
}

TEST(DaemonLocal, AnswersNoKeyWhenTheVmHasNoKeyAndRunsNothing) {
  LocalWorld w;
  std::filesystem::remove(w.root() + "/etc/qubes/remote.d/work.key");
  std::string cid = w.NewCid();
  w.Submit("work", cid, "tick", kKeyWork);
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.MetaValue("work", cid, "reason_code"), "no-key");
  EXPECT_EQ(w.Ticks(), 0);
}

}  // namespace
}  // namespace qvmr
