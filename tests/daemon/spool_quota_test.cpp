// The per-VM spool quota: shared by a VM's sinks, refused at Create once used up, given back by
// Remove, counted from the files already there on the VM's first use.
#include <sys/stat.h>

#include "daemon/spool.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_temp_dir.h"

namespace qvmr {
namespace {

using testing::ReadWholeFile;
using testing::TempDir;

constexpr const char* kCid1 = "20261123-004500-1-0123456789abcdef";
constexpr const char* kCid2 = "20261123-004501-1-0123456789abcdef";

TEST(SpoolQuota, ASinkReachingTheVmsQuotaKeepsWhatFitsAndReportsQuotaExceeded) {
  TempDir temp;
  SpoolDir dir(temp.Sub("spool"), 10);
  ASSERT_TRUE(dir.Prepare().ok());
  auto spool = dir.Create("work", kCid1, 1000);
  ASSERT_TRUE(spool.ok()) << spool.error().message;
  spool->out->Write("0123456", 7);
  spool->err->Write("abcdef", 6);  // only 3 fit: the VM's two streams share one quota
  EXPECT_TRUE(spool->err->quota_exceeded());
  EXPECT_FALSE(spool->out->quota_exceeded());
  EXPECT_NE(spool->err->write_errno(), 0);
  EXPECT_FALSE(spool->err->disk_full());
  spool->err->AppendNote("why\n");  // the reason still reaches the client
  spool->out.reset();
  spool->err.reset();
  EXPECT_EQ(ReadWholeFile(spool->stderr_path), "abcwhy\n");
  EXPECT_EQ(ReadWholeFile(spool->stdout_path), "0123456");
}

TEST(SpoolQuota, AVmAtItsQuotaIsRefusedAtCreateAndRemoveGivesTheBytesBack) {
  TempDir temp;
  SpoolDir dir(temp.Sub("spool"), 4);
  ASSERT_TRUE(dir.Prepare().ok());
  auto first = dir.Create("work", kCid1, 100);
  ASSERT_TRUE(first.ok());
  first->out->Write("abcd", 4);
  first->out.reset();
  first->err.reset();
  EXPECT_EQ(dir.Used("work"), 4u);
  auto refused = dir.Create("work", kCid2, 100);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "spool-quota");
  EXPECT_TRUE(dir.Create("other", kCid2, 100).ok());  // another VM has its own quota
  ASSERT_TRUE(dir.Remove("work", kCid1).ok());
  EXPECT_EQ(dir.Used("work"), 0u);
  EXPECT_TRUE(dir.Create("work", kCid2, 100).ok());
}

TEST(SpoolQuota, FilesLeftForDeliveryByAnEarlierRunCountOnTheVmsFirstUse) {
  TempDir temp;
  temp.MakeDir("spool/work");
  temp.WriteFile("spool/work/" + std::string(kCid1) + ".out", "123456", 0600);
  SpoolDir dir(temp.Sub("spool"), 6);
  auto refused = dir.Create("work", kCid2, 100);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "spool-quota");
}

}  // namespace
}  // namespace qvmr
