// Live policy, grants at decision time, the clock, the journal cap, --dry-run, admission and the
// audit trail (issue 11), end to end: the real daemon with --once on the local transport
// (tests/support/daemon_local_world.h), several runs where the point is what each load decides.
// The inotify path of a running daemon is in daemon_live_watch_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "daemon/test_hooks.h"
#include "engine/base/env.h"
#include "engine/decide/grants.h"
#include "support/daemon_local_world.h"

namespace qvmr {
namespace {

using ::testing::HasSubstr;
using testing::kKeyOther;
using testing::kKeyWork;
using testing::LocalWorld;
using ::testing::Not;

constexpr std::int64_t kMinute = 60 * 1000;

std::int64_t RealNowMs() {
  return Env::Posix()->NowMs();
}

// The world's policy plus a second file granting `work` the `true` command, so deleting that file
// revokes it; `work` may be raised to manage (qvm-start other) by a grant.
constexpr char kBasePolicy[] = R"(version: 1
commands:
  echo:
    operands_only: true
  tick: {}
  true: {}
  revoke-grant: {}
  skew-clock: {}
  qvm-start:
    options: ['-q|--quiet']
classes:
  read-only:
    - 'echo [<text>]...'
    - 'tick'
    - 'revoke-grant'
    - 'skew-clock'
  manage:
    - 'qvm-start <vm>'
vms:
  work: {level: read-only, max_dev_mode: manage, targets: [other]}
  other: {level: read-only}
)";
constexpr char kTrueGrant[] = R"(version: 1
vms:
  work:
    allow: ['true']
)";

void WritePolicy(LocalWorld& w, const std::string& text) {
  w.tmp().WriteFile("root/etc/qubes/remote-policy.d/50-test.yaml", text, 0644);
}

void WriteGrant(LocalWorld& w, std::int64_t expires_ms) {
  std::string dir = w.tmp().MakeDir("root/run/qvm-remote/grants");
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  Grant g{"work", Level::kManage, expires_ms, RealNowMs() - 1000, "test", ""};
  w.tmp().WriteFile("root/run/qvm-remote/grants/work.yaml", SerializeGrant(g), 0600);
}

std::vector<nlohmann::json> LinesOf(const LocalWorld& w, const std::string& cid) {
  std::vector<nlohmann::json> out;
  for (const auto& line : w.AuditLines()) {
    if (line.is_object() && line.value("cid", "") == cid) out.push_back(line);
  }
  return out;
}

TEST(DaemonLivePolicy, ABrokenEditDeniesAllNamingFileAndLineThenTheFixServesAgain) {
  LocalWorld w;
  std::string before = w.NewCid();
  w.Submit("work", before, "echo one", kKeyWork);
  ASSERT_EQ(w.RunOnce(), 0);
  ASSERT_EQ(w.Result("work", before, "out"), "one\n");

  WritePolicy(w, "version: 1\nvms:\n  work: {level: read-only\n");
  std::string broken = w.NewCid(), ping = w.NewCid();
  w.Submit("work", broken, "echo two", kKeyWork);
  w.Submit("work", ping, "", kKeyWork, "kind=ping");
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.Result("work", broken, "exit"), "126");
  EXPECT_EQ(w.MetaValue("work", broken, "outcome"), "denied");
  EXPECT_EQ(w.MetaValue("work", broken, "reason_code"), "policy-error");
  EXPECT_THAT(w.Result("work", broken, "err"), HasSubstr("50-test.yaml:"));
  EXPECT_EQ(w.Result("work", broken, "out"), "");
  EXPECT_EQ(w.Result("work", ping, "exit"), "0");
  EXPECT_EQ(w.MetaValue("work", ping, "policy"), "deny-all");
  ASSERT_EQ(LinesOf(w, broken).size(), 1u);
  EXPECT_EQ(LinesOf(w, broken)[0]["policy"], "deny-all");
  EXPECT_EQ(LinesOf(w, broken)[0]["reason_code"], "policy-error");

  WritePolicy(w, kBasePolicy);
  std::string fixed = w.NewCid();
  w.Submit("work", fixed, "echo three", kKeyWork);
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.Result("work", fixed, "out"), "three\n");
  EXPECT_EQ(w.MetaValue("work", fixed, "policy").size(), 64u);
}

TEST(DaemonLivePolicy, DeletingAPolicyFileRevokesWhatItGranted) {
  LocalWorld w;
  WritePolicy(w, kBasePolicy);
  w.tmp().WriteFile("root/etc/qubes/remote-policy.d/60-true.yaml", kTrueGrant, 0644);
  std::string granted = w.NewCid();
  w.Submit("work", granted, "true", kKeyWork);
  ASSERT_EQ(w.RunOnce(), 0);
  ASSERT_EQ(w.MetaValue("work", granted, "outcome"), "ok");
  std::string revision = w.MetaValue("work", granted, "policy");

  std::filesystem::remove(w.root() + "/etc/qubes/remote-policy.d/60-true.yaml");
  std::string revoked = w.NewCid();
  w.Submit("work", revoked, "true", kKeyWork);
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.MetaValue("work", revoked, "outcome"), "denied");
  EXPECT_NE(w.MetaValue("work", revoked, "policy"), revision);
  // Each audit line holds the revision its request met.
  ASSERT_EQ(LinesOf(w, granted).size(), 1u);
  ASSERT_EQ(LinesOf(w, revoked).size(), 1u);
  EXPECT_EQ(LinesOf(w, granted)[0]["policy"], revision);
  EXPECT_EQ(LinesOf(w, revoked)[0]["policy"], w.MetaValue("work", revoked, "policy"));
}

TEST(DaemonLivePolicy, ARevokeWhileARequestWaitsForAWorkerAppliesToIt) {
  LocalWorld w;
  WritePolicy(w, kBasePolicy);
  WriteGrant(w, RealNowMs() + 60 * kMinute);
  w.tmp().WriteFile("bin/revoke-grant",
                    "#!/bin/sh\n/bin/rm -f " + w.root() + "/run/qvm-remote/grants/work.yaml\n",
                    0755);
  std::string first = w.NewCid(), second = w.NewCid();
  w.Submit("work", first, "revoke-grant", kKeyWork);
  w.Submit("work", second, "qvm-start other", kKeyWork);
  ASSERT_EQ(w.RunOnce({.workers = 1}), 0);
  EXPECT_EQ(w.MetaValue("work", first, "outcome"), "ok");
  // Accepted while the grant existed, decided after it was gone: denied.
  EXPECT_EQ(w.MetaValue("work", second, "outcome"), "denied");
}

TEST(DaemonLivePolicy, AGrantExpiringWhileARequestWaitsForAWorkerAppliesToIt) {
  if (!TestHooksEnabled()) GTEST_SKIP() << "needs -DQVMR_TEST_HOOKS=ON (the clock offset)";
  LocalWorld w;
  WritePolicy(w, kBasePolicy);
  WriteGrant(w, RealNowMs() + 5 * kMinute);
  w.SetClockOffsetMs(0);
  w.tmp().WriteFile(
      "bin/skew-clock",
      "#!/bin/sh\necho " + std::to_string(6 * kMinute) + " > " + w.ClockOffsetFile() + "\n", 0755);
  std::string control = w.NewCid();
  w.Submit("work", control, "qvm-start other", kKeyWork);
  ASSERT_EQ(w.RunOnce(), 0);
  ASSERT_EQ(w.MetaValue("work", control, "decision"), "allow");  // the grant works

  std::string first = w.NewCid(), second = w.NewCid();
  w.Submit("work", first, "skew-clock", kKeyWork);
  w.Submit("work", second, "qvm-start other", kKeyWork);
  ASSERT_EQ(w.RunOnce({.workers = 1}), 0);
  EXPECT_EQ(w.MetaValue("work", first, "outcome"), "ok");
  EXPECT_EQ(w.MetaValue("work", second, "outcome"), "denied");
}

TEST(DaemonLivePolicy, AStaleRequestIsAnsweredWithTheClockMovedEitherWayAndNeverReplayable) {
  if (!TestHooksEnabled()) GTEST_SKIP() << "needs -DQVMR_TEST_HOOKS=ON (the clock offset)";
  LocalWorld w;
  const std::int64_t t = RealNowMs();
  // X runs at the true time.
  std::string x = w.NewCidAt(t);
  w.Submit("work", x, "tick", kKeyWork);
  std::string x_auth = testing::ReadWholeFile(w.Queue("work") + "/pending/" + x + ".auth");
  ASSERT_EQ(w.RunOnce(), 0);
  ASSERT_EQ(w.Ticks(), 1);

  // dom0's clock 20 minutes ahead: a request of the VM's (true) time is too old.
  w.SetClockOffsetMs(20 * kMinute);
  std::string behind = w.NewCidAt(t);
  w.Submit("work", behind, "tick", kKeyWork);
  std::string y = w.NewCidAt(t + 20 * kMinute);  // a VM whose clock agrees with dom0's
  w.Submit("work", y, "echo y", kKeyWork);
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.MetaValue("work", behind, "outcome"), "auth");
  EXPECT_EQ(w.MetaValue("work", behind, "reason_code"), "stale");
  EXPECT_EQ(w.Result("work", y, "out"), "y\n");
  ASSERT_EQ(w.RunOnce(), 0);  // a later start prunes X's row: the low-water mark passes X

  // dom0's clock 20 minutes behind: a request of the true time is from the future.
  w.SetClockOffsetMs(-20 * kMinute);
  std::string ahead = w.NewCidAt(t);
  w.Submit("work", ahead, "tick", kKeyWork);
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.MetaValue("work", ahead, "reason_code"), "stale");

  // The clock set back to the truth: X's files offered again are inside the freshness window,
  // but at or below the low-water mark — stale, and never run a second time.
  w.SetClockOffsetMs(0);
  for (const char* ext : {"out", "err", "meta", "exit"}) {
    std::filesystem::remove(w.Queue("work") + "/results/" + x + "." + ext);
  }
  w.tmp().WriteFile("vms/work/.qvm-remote/queue/pending/" + x + ".auth", x_auth, 0644);
  w.tmp().WriteFile("vms/work/.qvm-remote/queue/pending/" + x, "tick", 0644);
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.MetaValue("work", x, "reason_code"), "stale");
  EXPECT_EQ(w.Ticks(), 1);
}

TEST(DaemonLivePolicy, AFullJournalRefusesJournalFullAndEvictsNothing) {
  LocalWorld w;
  std::string a = w.NewCid(), b = w.NewCid();
  w.Submit("work", a, "tick", kKeyWork);
  w.Submit("work", b, "tick", kKeyWork);
  ASSERT_EQ(w.RunOnce({.journal_cap = 2}), 0);
  ASSERT_EQ(w.Ticks(), 2);
  std::string c = w.NewCid();
  w.Submit("work", c, "tick", kKeyWork);
  ASSERT_EQ(w.RunOnce({.journal_cap = 2}), 0);
  EXPECT_EQ(w.MetaValue("work", c, "outcome"), "auth");
  EXPECT_EQ(w.MetaValue("work", c, "reason_code"), "journal-full");
  EXPECT_EQ(w.Ticks(), 2);
  // Nothing was evicted: A offered again is still a replay (never answered, never run).
  for (const char* ext : {"out", "err", "meta", "exit"}) {
    std::filesystem::remove(w.Queue("work") + "/results/" + a + "." + ext);
  }
  w.Submit("work", a, "tick", kKeyWork);
  ASSERT_EQ(w.RunOnce({.journal_cap = 2}), 0);
  EXPECT_EQ(w.Result("work", a, "exit"), "<missing>");
  EXPECT_EQ(w.Ticks(), 2);
  // Another VM's journal is its own.
  std::string other = w.NewCid();
  w.Submit("other", other, "tick", kKeyOther);
  ASSERT_EQ(w.RunOnce({.journal_cap = 2}), 0);
  EXPECT_EQ(w.Ticks(), 3);
}

TEST(DaemonLivePolicy, DryRunAnswersWhatWouldRunAndByWhichRuleAndNeverRunsItLater) {
  LocalWorld w;
  std::string cid = w.NewCid();
  w.Submit("work", cid, "tick", kKeyWork);
  std::string auth = testing::ReadWholeFile(w.Queue("work") + "/pending/" + cid + ".auth");
  ASSERT_EQ(w.RunOnce({.dry_run = true}), 0);
  EXPECT_EQ(w.Ticks(), 0);
  EXPECT_EQ(w.Result("work", cid, "exit"), "0");
  EXPECT_EQ(w.MetaValue("work", cid, "outcome"), "ok");
  EXPECT_EQ(w.MetaValue("work", cid, "executor"), "dry-run");
  EXPECT_THAT(w.Result("work", cid, "out"), HasSubstr("dry run"));
  EXPECT_THAT(w.Result("work", cid, "out"), HasSubstr("50-test.yaml:"));
  EXPECT_THAT(w.Result("work", cid, "out"), HasSubstr("\"argv\":[\"tick\"]"));
  // Journaled: the same request offered to a real daemon is a replay.
  for (const char* ext : {"out", "err", "meta", "exit"}) {
    std::filesystem::remove(w.Queue("work") + "/results/" + cid + "." + ext);
  }
  w.tmp().WriteFile("vms/work/.qvm-remote/queue/pending/" + cid + ".auth", auth, 0644);
  w.tmp().WriteFile("vms/work/.qvm-remote/queue/pending/" + cid, "tick", 0644);
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.Ticks(), 0);
  EXPECT_EQ(w.Result("work", cid, "exit"), "<missing>");
}

TEST(DaemonLivePolicy, AFloodingVmIsAdmittedAtItsRateWhileAnotherVmIsServed) {
  LocalWorld w;
  std::vector<std::string> flood;
  for (int i = 0; i < 12; ++i) {
    flood.push_back(w.NewCid());
    w.Submit("work", flood.back(), "true", kKeyWork);
  }
  std::string other = w.NewCid();
  w.Submit("other", other, "echo served", kKeyOther);
  ASSERT_EQ(w.RunOnce({.vm_rate = 1, .vm_burst = 3}), 0);
  EXPECT_EQ(w.Result("other", other, "out"), "served\n");
  int answered = 0, waiting = 0;
  for (const std::string& cid : flood) {
    answered += w.Result("work", cid, "exit") != "<missing>";
    waiting += testing::ReadWholeFile(w.Queue("work") + "/pending/" + cid) != "<missing>";
  }
  EXPECT_EQ(answered, 3);
  EXPECT_EQ(waiting, 9);  // nothing refused: the rest wait in the VM
  std::size_t audited = 0;
  for (const auto& line : w.AuditLines()) audited += line.value("vm", "") == "work";
  EXPECT_EQ(audited, 3u);  // the audit trail grows with what was admitted, not what was sent
}

TEST(DaemonLivePolicy, IdenticalFailuresOfAFloodingVmAreAuditedOncePerSecondWithACount) {
  LocalWorld w;
  const std::string forged = "3333333333333333333333333333333333333333333333333333333333333333";
  for (int i = 0; i < 12; ++i) w.Submit("work", w.NewCid(), "tick", forged);
  ASSERT_EQ(w.RunOnce(), 0);
  std::size_t lines = 0;
  std::uint64_t counted = 0;
  for (const auto& line : w.AuditLines()) {
    if (line.value("vm", "") != "work") continue;
    ++lines;
    counted += line.contains("count") ? line["count"].get<std::uint64_t>() : 1;
  }
  EXPECT_LE(lines, 2u);     // one line and one summary
  EXPECT_EQ(counted, 12u);  // every refusal accounted for
  EXPECT_EQ(w.Ticks(), 0);
}

TEST(DaemonLivePolicy, AuditLinesParseHoldTheRecordTextHashAndRevisionAndTheTextLogNoText) {
  LocalWorld w;
  std::string cid = w.NewCid(), denied = w.NewCid();
  w.Submit("work", cid, "echo canary-text-1234", kKeyWork);
  w.Submit("work", denied, "qvm-start other canary-text-5678", kKeyWork);
  ASSERT_EQ(w.RunOnce(), 0);
  auto lines = LinesOf(w, cid);
  ASSERT_EQ(lines.size(), 1u);
  const auto& l = lines[0];
  EXPECT_EQ(l["v"], 1);
  EXPECT_EQ(l["vm"], "work");
  EXPECT_EQ(l["outcome"], "ok");
  EXPECT_EQ(l["policy"], w.MetaValue("work", cid, "policy"));
  EXPECT_EQ(l["decision"]["decision"], "allow");
  EXPECT_FALSE(l["decision"].contains("cmd"));
  EXPECT_EQ(l["text"]["excerpt"], "echo canary-text-1234");
  EXPECT_EQ(l["text"]["bytes"], 21);
  EXPECT_EQ(l["text"]["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(l["exit"], 0);
  EXPECT_EQ(l["stdout_bytes"], 17);
  ASSERT_EQ(LinesOf(w, denied).size(), 1u);
  EXPECT_EQ(LinesOf(w, denied)[0]["decision"]["decision"], "deny");
  EXPECT_EQ(LinesOf(w, denied)[0]["exit"], 126);

  std::string text_log = w.TextLogText();
  EXPECT_THAT(text_log, HasSubstr(cid));
  EXPECT_THAT(text_log, Not(HasSubstr("canary-text")));
  // The VM's own audit.log got one line per answer, in the same delivery call.
  EXPECT_THAT(w.VmAuditLog("work"), HasSubstr("id=" + cid + " exit=0 duration="));
  EXPECT_THAT(w.VmAuditLog("work"), HasSubstr("id=" + denied + " exit=126 duration="));
}

TEST(DaemonLivePolicy, TheAuditFileIsReadableByItsOwnerOnly) {
  LocalWorld w;
  ASSERT_EQ(w.RunOnce(), 0);
  auto perms = std::filesystem::status(w.AuditFile()).permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

}  // namespace
}  // namespace qvmr
