// The spool: capped sinks with the reference's marker, validated names, removal and orphans.
#include "daemon/spool.h"

#include <sys/stat.h>

#include "gtest/gtest.h"
#include "tests/support/daemon_temp_dir.h"

namespace qvmr {
namespace {

using testing::ReadWholeFile;
using testing::TempDir;

constexpr const char* kCid = "20261123-004500-1-0123456789abcdef";

TEST(SpoolSinkTest, KeepsUpToTheCapCountsEverythingAndMarksTheCut) {
  TempDir temp;
  auto sink = SpoolSink::Open(temp.Sub("f"), 5);
  ASSERT_TRUE(sink.ok());
  (*sink)->Write("abc", 3);
  (*sink)->Write("defgh", 5);
  (*sink)->Write("ij", 2);
  (*sink)->Finish();
  (*sink)->Finish();  // idempotent: one marker
  EXPECT_EQ((*sink)->produced(), 10u);
  EXPECT_EQ((*sink)->kept(), 5u);
  EXPECT_TRUE((*sink)->truncated());
  sink->reset();
  EXPECT_EQ(ReadWholeFile(temp.Sub("f")), "abcde\n[truncated at 5 bytes]\n");
}

TEST(SpoolSinkTest, ExactlyTheCapIsNotACut) {
  TempDir temp;
  auto sink = SpoolSink::Open(temp.Sub("f"), 3);
  ASSERT_TRUE(sink.ok());
  (*sink)->Write("abc", 3);
  (*sink)->AppendNote("note\n");
  EXPECT_FALSE((*sink)->truncated());
  sink->reset();
  EXPECT_EQ(ReadWholeFile(temp.Sub("f")), "abcnote\n");
}

TEST(SpoolSinkTest, NoteComesAfterTheMarker) {
  TempDir temp;
  auto sink = SpoolSink::Open(temp.Sub("f"), 1);
  ASSERT_TRUE(sink.ok());
  (*sink)->Write("xy", 2);
  (*sink)->AppendNote("qvm-remote: killed at the deadline (3 s)\n");
  sink->reset();
  EXPECT_EQ(ReadWholeFile(temp.Sub("f")),
            "x\n[truncated at 1 bytes]\nqvm-remote: killed at the deadline (3 s)\n");
}

TEST(SpoolSinkTest, FullDiskIsRememberedAndCountingGoesOn) {
  auto sink = SpoolSink::Open("/dev/full", 100);
  ASSERT_TRUE(sink.ok());
  (*sink)->Write("abc", 3);
  (*sink)->Write("def", 3);
  EXPECT_TRUE((*sink)->disk_full());
  EXPECT_EQ((*sink)->produced(), 6u);
  EXPECT_EQ((*sink)->kept(), 0u);
}

TEST(SpoolSinkTest, RefusesToFollowASymlink) {
  TempDir temp;
  temp.WriteFile("target", "keep", 0600);
  temp.Symlink("link", temp.Sub("target"));
  auto sink = SpoolSink::Open(temp.Sub("link"), 10);
  EXPECT_FALSE(sink.ok());
  EXPECT_EQ(sink.error().code, "spool");
  EXPECT_EQ(ReadWholeFile(temp.Sub("target")), "keep");
}

TEST(RequestSpoolTest, TruncationNamesTheCutStreamsAndSpoolFullWins) {
  TempDir temp;
  SpoolDir dir(temp.Sub("spool"));
  ASSERT_TRUE(dir.Prepare().ok());
  auto spool = dir.Create("work", kCid, 1);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ(spool->Truncation(), "");
  spool->err->Write("ab", 2);
  EXPECT_EQ(spool->Truncation(), "stderr");
  spool->out->Write("ab", 2);
  EXPECT_EQ(spool->Truncation(), "stdout,stderr");
  auto full = SpoolSink::Open("/dev/full", 10);
  ASSERT_TRUE(full.ok());
  spool->out = std::move(*full);
  spool->out->Write("a", 1);
  EXPECT_EQ(spool->Truncation(), "spool-full");
}

TEST(SpoolDirTest, CreatesPrivateFilesNamedByVmAndCid) {
  TempDir temp;
  SpoolDir dir(temp.Sub("var/lib/qvm-remote/spool"));
  ASSERT_TRUE(dir.Prepare().ok());
  auto spool = dir.Create("work", kCid, 10);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ(spool->stdout_path, dir.dir() + "/work/" + kCid + ".out");
  EXPECT_EQ(spool->stderr_path, dir.dir() + "/work/" + kCid + ".err");
  struct stat st;
  ASSERT_EQ(stat(spool->stdout_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir.dir() + "/work").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat(dir.dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(SpoolDirTest, RefusesNamesThatAreNotValidated) {
  TempDir temp;
  SpoolDir dir(temp.Sub("spool"));
  ASSERT_TRUE(dir.Prepare().ok());
  for (const auto& [vm, cid] : std::vector<std::pair<std::string, std::string>>{{"../etc", kCid},
                                                                                {"work/x", kCid},
                                                                                {"", kCid},
                                                                                {"work", "../../x"},
                                                                                {"work", "x.out"},
                                                                                {"work", ""}}) {
    auto spool = dir.Create(vm, cid, 10);
    ASSERT_FALSE(spool.ok()) << vm << " " << cid;
    EXPECT_EQ(spool.error().code, "bad-name");
    EXPECT_EQ(dir.Remove(vm, cid).error().code, "bad-name");
  }
}

TEST(SpoolDirTest, RemoveDeletesARequestsFilesAndToleratesMissingOnes) {
  TempDir temp;
  SpoolDir dir(temp.Sub("spool"));
  ASSERT_TRUE(dir.Prepare().ok());
  auto spool = dir.Create("work", kCid, 10);
  ASSERT_TRUE(spool.ok());
  EXPECT_TRUE(dir.Remove("work", kCid).ok());
  EXPECT_EQ(ReadWholeFile(spool->stdout_path), "<missing>");
  EXPECT_EQ(ReadWholeFile(spool->stderr_path), "<missing>");
  EXPECT_TRUE(dir.Remove("work", kCid).ok());
}

TEST(SpoolDirTest, OrphansAreListedAndRemoved) {
  TempDir temp;
  SpoolDir dir(temp.Sub("spool"));
  ASSERT_TRUE(dir.Prepare().ok());
  ASSERT_TRUE(dir.Create("work", kCid, 10).ok());
  ASSERT_TRUE(dir.Create("sys-usb", kCid, 10).ok());
  temp.WriteFile("spool/stray", "", 0600);
  auto orphans = dir.ListOrphans();
  ASSERT_TRUE(orphans.ok());
  EXPECT_EQ(*orphans, (std::vector<std::string>{"stray", std::string("sys-usb/") + kCid + ".err",
                                                std::string("sys-usb/") + kCid + ".out",
                                                std::string("work/") + kCid + ".err",
                                                std::string("work/") + kCid + ".out"}));
  auto removed = dir.RemoveOrphans();
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 5u);
  EXPECT_TRUE(dir.ListOrphans()->empty());
}

TEST(SpoolDirTest, NoSpoolDirectoryMeansNoOrphans) {
  TempDir temp;
  auto orphans = SpoolDir(temp.Sub("absent")).ListOrphans();
  ASSERT_TRUE(orphans.ok());
  EXPECT_TRUE(orphans->empty());
}

}  // namespace
}  // namespace qvmr
