// Output end to end: a flood leaves the daemon's memory flat, the per-VM spool quota answers
// `error` and keeps the partial output (a command's TMPDIR counted in it too), and a full spool
// filesystem drains to nowhere with truncated=spool-full. (Registered RUN_SERIAL: the memory test
// measures this process.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "support/daemon_local_world.h"

namespace qvmr {
namespace {

using ::testing::HasSubstr;
using testing::kKeyWork;
using testing::LocalWorld;

constexpr char kPolicy[] = R"(version: 1
commands:
  flood: {operands_only: true}
  fill-tmp: {operands_only: true}
classes:
  read-only: []
vms:
  work: {level: read-only, allow: ['flood <int>', 'fill-tmp <int>'], max_output: 64MiB}
  other: {level: read-only}
)";

// `flood N` writes N zero bytes to stdout; `fill-tmp N` writes them to $TMPDIR, then sleeps.
class OutputWorld : public LocalWorld {
 public:
  OutputWorld() {
    tmp().WriteFile("root/etc/qubes/remote-policy.d/50-test.yaml", kPolicy, 0644);
    tmp().WriteFile("bin/flood", "#!/bin/sh\nexec head -c \"$1\" /dev/zero\n", 0755);
    tmp().Symlink("bin/head", "/usr/bin/head");
    tmp().WriteFile("bin/fill-tmp",
                    "#!/bin/sh\n/usr/bin/head -c \"$1\" /dev/zero > \"$TMPDIR/fill\"\n"
                    "echo filled\nexec /usr/bin/sleep 30\n",
                    0755);
  }
  std::string SpoolDir() const { return root() + "/var/lib/qvm-remote/spool"; }
};

std::int64_t RssKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

bool UnderSanitizer() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#endif
#endif
  return false;
}

TEST(DaemonOutput, AFiveHundredMebibyteFloodLeavesTheDaemonsMemoryFlat) {
  if (UnderSanitizer()) GTEST_SKIP() << "sanitizers change what RSS measures";
  OutputWorld w;
  std::string warm = w.NewCid();
  w.Submit("work", warm, "flood 10", kKeyWork);
  ASSERT_EQ(w.RunOnce(), 0);  // the daemon's one-time allocations happen here
  std::string cid = w.NewCid();
  w.Submit("work", cid, "flood 524288000", kKeyWork);
  const std::int64_t before = RssKiB();
  ASSERT_EQ(w.RunOnce(), 0);
  const std::int64_t growth = RssKiB() - before;
  EXPECT_EQ(w.Result("work", cid, "exit"), "0");
  EXPECT_THAT(w.Result("work", cid, "meta"), HasSubstr("stdout"));  // cut at max_output
  EXPECT_LT(growth, 8 * 1024) << "KiB";
}

TEST(DaemonOutput, PastTheVmsSpoolQuotaTheCommandIsKilledAnsweredErrorAndKeepsItsPartialOutput) {
  OutputWorld w;
  std::string cid = w.NewCid();
  w.Submit("work", cid, "flood 10000000", kKeyWork);
  DaemonOptions options;
  options.spool_quota = 65536;
  ASSERT_EQ(w.RunOnce(options), 0);
  EXPECT_EQ(w.MetaValue("work", cid, "outcome"), "error");
  EXPECT_THAT(w.Result("work", cid, "err"), HasSubstr("spool quota"));
  const std::string out = w.Result("work", cid, "out");
  EXPECT_GT(out.size(), 0u);
  EXPECT_LE(out.size(), 65536u);
}

TEST(DaemonOutput, ACommandWhoseTmpdirPassesTheVmsSpoolQuotaIsKilledAndAnsweredErrorWithTheNote) {
  OutputWorld w;
  std::string cid = w.NewCid();
  w.Submit("work", cid, "fill-tmp 4194304", kKeyWork);
  DaemonOptions options;
  options.spool_quota = 1 << 20;
  ASSERT_EQ(w.RunOnce(options), 0);
  EXPECT_EQ(w.MetaValue("work", cid, "outcome"), "error");
  EXPECT_EQ(w.Result("work", cid, "exit"), "255");
  EXPECT_EQ(w.Result("work", cid, "out"), "filled\n");
  EXPECT_THAT(w.Result("work", cid, "err"),
              ::testing::MatchesRegex(".*qvm-remote: killed: this VM's spool quota in dom0 is "
                                      "used up \\(its TMPDIR held (at least )?[0-9]+ bytes\\)\n"));
}

TEST(DaemonOutput, AFullSpoolFilesystemDrainsToNowhereAndSaysSpoolFull) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  OutputWorld w;
  w.tmp().MakeDir("root/var/lib/qvm-remote/spool");
  if (::mount("tmpfs", w.SpoolDir().c_str(), "tmpfs", 0, "size=1m,mode=0700") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here";
  }
  std::string cid = w.NewCid();
  w.Submit("work", cid, "flood 8000000", kKeyWork);
  const int status = w.RunOnce();
  // Delivery copies from the spool: read the answer before the tmpfs goes.
  const std::string exit = w.Result("work", cid, "exit");
  const std::string meta = w.Result("work", cid, "meta");
  ::umount2(w.SpoolDir().c_str(), MNT_DETACH);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(exit, "0");  // the command ran to its end: its output was drained, not kept
  EXPECT_THAT(meta, HasSubstr("spool-full"));
}

}  // namespace
}  // namespace qvmr
