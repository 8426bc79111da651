// A command's TMPDIR measured for its VM's spool quota: what the walk charges (a block at least per
// name, the blocks a file holds, never through a symlink, never opening a FIFO, never past its
// budget or its depth), and a charge held in the quota, shared by a VM's commands and given back.
#include "daemon/tmpdir_charge.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/daemon_temp_dir.h"

namespace qvmr {
namespace {

using testing::TempDir;

constexpr std::uint64_t kBlock = kTmpdirEntryMinCharge;

void EmptyFiles(const TempDir& temp, const std::string& dir, int count) {
  for (int i = 0; i < count; ++i) temp.WriteFile(dir + "/f" + std::to_string(i), "", 0600);
}

struct WalkRow {
  const char* sentence;
  // Fills `tmp` (a directory under `temp`); `temp`'s other entries lie outside the TMPDIR.
  std::function<void(const TempDir& temp, const std::string& tmp)> fill;
  std::uint64_t budget;
  std::uint64_t entries;
  std::uint64_t min_bytes;  // the charge lies in [min_bytes, max_bytes]
  std::uint64_t max_bytes;
  bool over_budget;
  bool too_deep;
};

TEST(MeasureTmpdir, ChargesWhatTheWalkFindsAsTheTableSays) {
  constexpr std::uint64_t kBig = 1 << 20;
  const WalkRow rows[] = {
      {"an empty TMPDIR costs nothing", [](const TempDir&, const std::string&) {}, 1 << 30, 0, 0, 0,
       false, false},
      {"ten empty files cost a block each",
       [](const TempDir& t, const std::string& tmp) { EmptyFiles(t, tmp, 10); }, 1 << 30, 10,
       10 * kBlock, 10 * kBlock, false, false},
      {"nested directories are walked, each costing a block",
       [](const TempDir& t, const std::string& tmp) {
         t.MakeDir(tmp + "/a/b/c");
         t.WriteFile(tmp + "/a/b/c/empty", "", 0600);
       },
       1 << 30, 4, 4 * kBlock, 4 * kBlock, false, false},
      {"a one-MiB file costs the blocks it holds",
       [](const TempDir& t, const std::string& tmp) {
         t.WriteFile(tmp + "/big", std::string(kBig, 'x'), 0600);
       },
       1 << 30, 1, kBig, kBig + 64 * 1024, false, false},
      {"a symlink to a big file outside is one entry, never followed",
       [](const TempDir& t, const std::string& tmp) {
         t.WriteFile("outside", std::string(4 * kBig, 'x'), 0600);
         t.Symlink(tmp + "/link", t.Sub("outside"));
       },
       1 << 30, 1, kBlock, kBlock, false, false},
      {"a symlink to a directory outside is one entry, never walked into",
       [](const TempDir& t, const std::string& tmp) {
         t.MakeDir("outside-dir");
         EmptyFiles(t, "outside-dir", 20);
         t.Symlink(tmp + "/link", t.Sub("outside-dir"));
       },
       1 << 30, 1, kBlock, kBlock, false, false},
      {"a FIFO is one entry and is never opened (opening it would block)",
       [](const TempDir& t, const std::string& tmp) {
         ASSERT_EQ(mkfifo(t.Sub(tmp + "/fifo").c_str(), 0600), 0);
       },
       1 << 30, 1, kBlock, kBlock, false, false},
      {"the walk stops at the first name past the budget",
       [](const TempDir& t, const std::string& tmp) { EmptyFiles(t, tmp, 1000); }, 10 * kBlock, 11,
       11 * kBlock, 11 * kBlock, true, false},
      {"a zero budget stops at the first name",
       [](const TempDir& t, const std::string& tmp) { EmptyFiles(t, tmp, 3); }, 0, 1, kBlock,
       kBlock, true, false},
      {"a directory nested deeper than the walk goes is reported, not walked",
       [](const TempDir& t, const std::string& tmp) {
         std::string path = tmp;
         for (int i = 0; i <= kTmpdirMaxDepth; ++i) path += "/d";
         t.MakeDir(path);
       },
       1 << 30, kTmpdirMaxDepth + 1, (kTmpdirMaxDepth + 1) * kBlock, (kTmpdirMaxDepth + 1) * kBlock,
       false, true},
      {"a directory exactly as deep as the walk goes is walked",
       [](const TempDir& t, const std::string& tmp) {
         std::string path = tmp;
         for (int i = 0; i < kTmpdirMaxDepth; ++i) path += "/d";
         t.MakeDir(path);
         t.WriteFile(path + "/empty", "", 0600);
       },
       1 << 30, kTmpdirMaxDepth + 1, (kTmpdirMaxDepth + 1) * kBlock, (kTmpdirMaxDepth + 1) * kBlock,
       false, false},
  };
  for (const WalkRow& row : rows) {
    SCOPED_TRACE(row.sentence);
    TempDir temp;
    temp.MakeDir("tmp");
    row.fill(temp, "tmp");
    const TmpdirUsage usage = MeasureTmpdir(temp.Sub("tmp"), row.budget);
    EXPECT_EQ(usage.entries, row.entries);
    EXPECT_GE(usage.bytes, row.min_bytes);
    EXPECT_LE(usage.bytes, row.max_bytes);
    EXPECT_EQ(usage.over_budget, row.over_budget);
    EXPECT_EQ(usage.too_deep, row.too_deep);
  }
}

TEST(MeasureTmpdir, AMissingTmpdirOrAFileInItsPlaceHoldsNothing) {
  TempDir temp;
  temp.WriteFile("file", std::string(100000, 'x'), 0600);
  temp.Symlink("link", temp.path());
  for (const std::string name : {"missing", "file", "link"}) {
    SCOPED_TRACE(name);
    const TmpdirUsage usage = MeasureTmpdir(temp.Sub(name), 1 << 30);
    EXPECT_EQ(usage.bytes, 0u);
    EXPECT_EQ(usage.entries, 0u);
  }
}

// The walk as a user without root's CAP_DAC_READ_SEARCH: in this process when it is not root, else
// in a child that became `nobody` (the tree is then given to nobody first).
TmpdirUsage MeasureUnprivileged(const TempDir& temp, const std::string& path) {
  if (geteuid() != 0) return MeasureTmpdir(path, 1 << 30);
  const uid_t nobody = 65534;
  for (const std::string& name : {std::string(), std::string("/tmp"), std::string("/tmp/locked"),
                                  std::string("/tmp/locked/big")}) {
    EXPECT_EQ(lchown((temp.path() + name).c_str(), nobody, nobody), 0) << name;
  }
  int fds[2];
  if (pipe(fds) != 0) return {};
  const pid_t child = fork();
  if (child == 0) {
    TmpdirUsage usage;
    if (setgid(nobody) == 0 && setuid(nobody) == 0) usage = MeasureTmpdir(path, 1 << 30);
    const char flags[2] = {static_cast<char>(usage.unreadable), static_cast<char>(usage.too_deep)};
    (void)!write(fds[1], flags, sizeof flags);
    _exit(0);
  }
  close(fds[1]);
  char flags[2] = {0, 0};
  TmpdirUsage usage;
  if (read(fds[0], flags, sizeof flags) == 2) usage.unreadable = flags[0] != 0;
  close(fds[0]);
  waitpid(child, nullptr, 0);
  return usage;
}

TEST(MeasureTmpdir, ADirectoryDomZeroMayNotReadIsReportedNotSkipped) {
  // `chmod 000` on a full subdirectory must not hide what it holds from the quota.
  TempDir temp;
  temp.MakeDir("tmp/locked");
  temp.WriteFile("tmp/locked/big", std::string(1 << 20, 'x'), 0600);
  ASSERT_EQ(chmod(temp.Sub("tmp/locked").c_str(), 0), 0);
  const TmpdirUsage usage = MeasureUnprivileged(temp, temp.Sub("tmp"));
  ASSERT_EQ(chmod(temp.Sub("tmp/locked").c_str(), 0700), 0);
  EXPECT_TRUE(usage.unreadable);
}

TEST(TmpdirCharge, HoldsTheLatestMeasurementInTheQuotaAndGivesItAllBackWhenDestroyed) {
  TempDir temp;
  temp.MakeDir("tmp");
  auto quota = std::make_shared<SpoolQuota>(1 << 20);
  quota->used = 1000;  // the VM's spool files
  {
    TmpdirCharge charge(temp.Sub("tmp"), quota);
    EXPECT_TRUE(charge.active());
    EmptyFiles(temp, "tmp", 3);
    EXPECT_FALSE(charge.Update());
    EXPECT_EQ(quota->used.load(), 1000 + 3 * kBlock);
    EmptyFiles(temp, "tmp", 5);  // f0..f4: two more
    EXPECT_FALSE(charge.Update());
    EXPECT_EQ(quota->used.load(), 1000 + 5 * kBlock);
    ASSERT_EQ(unlink(temp.Sub("tmp/f4").c_str()), 0);
    EXPECT_FALSE(charge.Update());  // a smaller TMPDIR gives the difference back
    EXPECT_EQ(quota->used.load(), 1000 + 4 * kBlock);
    EXPECT_EQ(charge.Describe(), " (its TMPDIR held " + std::to_string(4 * kBlock) + " bytes)");
  }
  EXPECT_EQ(quota->used.load(), 1000u);
}

TEST(TmpdirCharge, IsOverWhenTheTmpdirPassesWhatTheVmsQuotaHasLeftAndReleaseGivesItBack) {
  TempDir temp;
  temp.MakeDir("tmp");
  auto quota = std::make_shared<SpoolQuota>(10 * kBlock);
  quota->used = 5 * kBlock;  // the spool files leave five blocks
  TmpdirCharge charge(temp.Sub("tmp"), quota);
  EmptyFiles(temp, "tmp", 5);
  EXPECT_FALSE(charge.Update());  // exactly at the quota is not past it
  EmptyFiles(temp, "tmp", 8);
  EXPECT_TRUE(charge.Update());
  EXPECT_TRUE(charge.last().over_budget);
  EXPECT_EQ(quota->used.load(), 5 * kBlock + 6 * kBlock);  // the walk stopped at the sixth name
  EXPECT_EQ(charge.Describe(),
            " (its TMPDIR held at least " + std::to_string(6 * kBlock) + " bytes)");
  charge.Release();
  EXPECT_EQ(quota->used.load(), 5 * kBlock);
  charge.Release();  // idempotent
  EXPECT_EQ(quota->used.load(), 5 * kBlock);
  EXPECT_TRUE(charge.over());  // stays set: the command is being killed
}

TEST(TmpdirCharge, TwoCommandsOfOneVmShareItsQuota) {
  TempDir temp;
  temp.MakeDir("a");
  temp.MakeDir("b");
  EmptyFiles(temp, "a", 6);
  EmptyFiles(temp, "b", 6);
  auto quota = std::make_shared<SpoolQuota>(10 * kBlock);
  TmpdirCharge first(temp.Sub("a"), quota);
  TmpdirCharge second(temp.Sub("b"), quota);
  EXPECT_FALSE(first.Update());  // six of ten blocks
  EXPECT_TRUE(second.Update());  // only four were left
  EXPECT_FALSE(first.over());
}

TEST(TmpdirCharge, WithoutATmpdirOrAQuotaNothingIsCountedAndNothingIsOver) {
  TempDir temp;
  temp.MakeDir("tmp");
  EmptyFiles(temp, "tmp", 4);
  auto quota = std::make_shared<SpoolQuota>(kBlock);
  TmpdirCharge no_tmpdir("", quota);
  TmpdirCharge no_quota(temp.Sub("tmp"), nullptr);
  EXPECT_FALSE(no_tmpdir.active());
  EXPECT_FALSE(no_quota.active());
  EXPECT_FALSE(no_tmpdir.Update());
  EXPECT_FALSE(no_quota.Update());
  EXPECT_EQ(quota->used.load(), 0u);
  EXPECT_EQ(no_tmpdir.Describe(), "");
}

}  // namespace
}  // namespace qvmr
