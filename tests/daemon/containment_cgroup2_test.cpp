// The pure cgroup v2 path (real dom0 with Delegate=yes) against a fake cgroupfs: a tree of plain
// files in a temporary directory, with an injected /proc/self/cgroup. Proves the file operations:
// the daemon moves into its leaf before enabling controllers, each command's cgroup gets its
// limits, the child joins by writing "0", SIGKILL goes through cgroup.kill, names never collide.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "daemon/cgroup_cell.h"
#include "daemon/containment.h"
#include "tests/support/daemon_cell_harness.h"

namespace qvmr {
namespace {

using testing::ReadAll;
using testing::ScratchDir;

constexpr const char* kService = "/system.slice/qvm-remote-dom0.service";

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

bool IsDir(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

class FakeCgroup2Test : public ::testing::Test {
 protected:
  // A v2 mount at scratch/cgroup with the daemon (pid 4242) in kService, controllers delegated.
  void SetUp() override {
    root_ = scratch_.path() + "/cgroup";
    service_ = root_ + kService;
    ASSERT_EQ(system(("mkdir -p '" + service_ + "'").c_str()), 0);
    Write(root_ + "/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
    Write(service_ + "/cgroup.controllers", controllers_);
    Write(service_ + "/cgroup.procs", "4242\n");
    Write(service_ + "/cgroup.subtree_control", "");
    Write(scratch_.path() + "/self-cgroup", std::string("0::") + kService + "\n");
  }

  ContainmentOptions Options(const std::string& state_dir = "/var/lib/qvm-remote") {
    ContainmentOptions options;
    options.instance = InstanceTag(state_dir);
    options.cgroup_root = root_;
    options.proc_self_cgroup = scratch_.path() + "/self-cgroup";
    return options;
  }

  ScratchDir scratch_;
  std::string controllers_ = "cpu memory pids\n";
  std::string root_, service_;
};

TEST_F(FakeCgroup2Test, MovesTheDaemonIntoALeafAndEnablesControllersForCommands) {
  auto made = NewCgroup2Containment(Options());
  ASSERT_TRUE(made.ok()) << made.error().message;
  const std::string leaf = service_ + "/qvmr-" + InstanceTag("/var/lib/qvm-remote") + "-daemon";
  ASSERT_TRUE(IsDir(leaf));
  EXPECT_EQ(ReadAll(leaf + "/cgroup.procs"), "4242");
  EXPECT_EQ(ReadAll(service_ + "/cgroup.subtree_control"), "+pids +memory +cpu");
  EXPECT_NE((*made)->Describe().find("the daemon runs in " + leaf), std::string::npos);
}

TEST_F(FakeCgroup2Test, GivesEachCommandItsOwnCgroupWithItsLimits) {
  ContainmentOptions options = Options();
  options.max_pids = 64;
  options.max_memory_bytes = 256ULL << 20;
  options.cpu_percent = 50;
  auto made = NewCgroup2Containment(options);
  ASSERT_TRUE(made.ok()) << made.error().message;
  auto cell = (*made)->NewCell("20261130T120000Z-ab12");
  ASSERT_TRUE(cell.ok()) << cell.error().message;
  const std::string dir = service_ + "/qvmr-" + options.instance + "-20261130T120000Z-ab12";
  ASSERT_TRUE(IsDir(dir));
  EXPECT_EQ(ReadAll(dir + "/pids.max"), "64");
  EXPECT_EQ(ReadAll(dir + "/memory.max"), std::to_string(256ULL << 20));
  EXPECT_EQ(ReadAll(dir + "/memory.swap.max"), "0");
  EXPECT_EQ(ReadAll(dir + "/cpu.max"), "50000 100000");
  EXPECT_EQ((*cell)->Describe(), dir);
  // A memory cgroup caps the tree, so no per-process RLIMIT_AS.
  EXPECT_EQ((*cell)->entry().address_space_bytes, 0u);
  EXPECT_FALSE((*cell)->entry().new_pid_namespace);
}

TEST_F(FakeCgroup2Test, TheChildJoinsByWritingZeroToItsCgroupProcs) {
  auto made = NewCgroup2Containment(Options());
  ASSERT_TRUE(made.ok());
  auto cell = (*made)->NewCell("20261130T120000Z-join");
  ASSERT_TRUE(cell.ok());
  ASSERT_EQ((*cell)->entry().join_count, 1);
  EXPECT_EQ(EnterCell((*cell)->entry()), 0);
  EXPECT_EQ(ReadAll(service_ + "/qvmr-" + Options().instance + "-20261130T120000Z-join" +
                    "/cgroup.procs"),
            "0");
}

TEST_F(FakeCgroup2Test, KillsThroughCgroupKillAndRemovesTheCgroupOnClose) {
  auto made = NewCgroup2Containment(Options());
  ASSERT_TRUE(made.ok());
  auto cell = (*made)->NewCell("20261130T120000Z-kill");
  ASSERT_TRUE(cell.ok());
  const std::string dir = service_ + "/qvmr-" + Options().instance + "-20261130T120000Z-kill";
  (*cell)->Signal(SIGKILL);
  EXPECT_EQ(ReadAll(dir + "/cgroup.kill"), "1");
  EXPECT_TRUE((*cell)->Empty());
  // A real cgroupfs removes its control files with the directory; the fake needs help.
  ASSERT_EQ(system(("rm -f '" + dir + "'/*").c_str()), 0);
  EXPECT_TRUE((*cell)->Close().ok());
  EXPECT_FALSE(IsDir(dir));
}

TEST_F(FakeCgroup2Test, RefusesWhenThePidsControllerIsNotDelegated) {
  Write(service_ + "/cgroup.controllers", "cpu memory\n");
  auto made = NewCgroup2Containment(Options());
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, "containment-unavailable");
  EXPECT_NE(made.error().message.find("pids"), std::string::npos);
}

TEST_F(FakeCgroup2Test, RefusesAHierarchyThatIsNotCgroupV2) {
  ASSERT_EQ(unlink((root_ + "/cgroup.controllers").c_str()), 0);
  auto made = NewCgroup2Containment(Options());
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, "containment-unavailable");
}

TEST_F(FakeCgroup2Test, TwoDaemonsUnderDifferentRootsNameTheirCgroupsApart) {
  auto first = NewCgroup2Containment(Options("/var/lib/qvm-remote"));
  auto second = NewCgroup2Containment(Options("/srv/test-root/var/lib/qvm-remote"));
  ASSERT_TRUE(first.ok() && second.ok());
  auto a = (*first)->NewCell("20261130T120000Z-same");
  auto b = (*second)->NewCell("20261130T120000Z-same");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->Describe(), (*b)->Describe());
}

TEST_F(FakeCgroup2Test, SweepRemovesOnlyThisInstancesLeftoverCellsAndTmpdirs) {
  ContainmentOptions options = Options();
  options.tmp_parent = scratch_.path() + "/tmp";
  auto made = NewCgroup2Containment(options);
  ASSERT_TRUE(made.ok());
  const std::string mine = service_ + "/qvmr-" + options.instance + "-20261129T000000Z-old";
  const std::string other = service_ + "/qvmr-" + InstanceTag("/elsewhere") + "-20261129T000000Z";
  const std::string unrelated = service_ + "/unrelated";
  for (const std::string& dir :
       {mine, other, unrelated, options.tmp_parent, options.tmp_parent + "/20261129T000000Z-old"}) {
    ASSERT_EQ(mkdir(dir.c_str(), 0755), 0) << dir;
  }
  Write(options.tmp_parent + "/20261129T000000Z-old/sortAbc", "spill");
  auto swept = (*made)->SweepLeftovers();
  ASSERT_TRUE(swept.ok()) << swept.error().message;
  EXPECT_EQ(*swept, 2);
  EXPECT_FALSE(IsDir(mine));
  EXPECT_FALSE(IsDir(options.tmp_parent + "/20261129T000000Z-old"));
  EXPECT_TRUE(IsDir(other));
  EXPECT_TRUE(IsDir(unrelated));
  EXPECT_TRUE(IsDir(service_ + "/qvmr-" + options.instance + "-daemon"));
}

struct OwnPathRow {
  const char* file;
  const char* controller;
  const char* want;  // nullptr: absent
};

TEST(OwnCgroupPathTest, ReadsTheLineOfTheAskedHierarchy) {
  const OwnPathRow rows[] = {
      {"0::/system.slice/x.service\n", "", "/system.slice/x.service"},
      {"8:pids:/a\n0::/b\n", "pids", "/a"},
      {"4:cpu,cpuacct:/c\n", "cpuacct", "/c"},
      {"4:cpu,cpuacct:/c\n", "cpu", "/c"},
      {"4:cpu,cpuacct:/c\n", "", nullptr},
      {"9:name=systemd:/\n", "pids", nullptr},
      {"1:pidsx:/d\n", "pids", nullptr},
  };
  ScratchDir scratch;
  for (const OwnPathRow& row : rows) {
    Write(scratch.path() + "/cg", row.file);
    auto got = OwnCgroupPath(scratch.path() + "/cg", row.controller);
    if (row.want == nullptr) {
      EXPECT_FALSE(got.has_value()) << row.file;
    } else {
      ASSERT_TRUE(got.has_value()) << row.file;
      EXPECT_EQ(*got, row.want);
    }
  }
}

TEST(InstanceTagTest, DiffersByStateDirectoryAndIsAPathComponent) {
  EXPECT_NE(InstanceTag("/var/lib/qvm-remote"), InstanceTag("/tmp/x/var/lib/qvm-remote"));
  EXPECT_EQ(InstanceTag("/a"), InstanceTag("/a"));
  EXPECT_EQ(InstanceTag("/a").find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(InstanceTag("/a").size(), 16u);
}

TEST(ContainmentKindTest, ParsesEveryOptionValueButAuto) {
  for (const char* name : {"cgroup2", "hybrid", "pidns", "subreaper", "none"}) {
    auto kind = ParseContainmentKind(name);
    ASSERT_TRUE(kind.has_value()) << name;
    EXPECT_EQ(ContainmentKindName(*kind), name);
  }
  EXPECT_FALSE(ParseContainmentKind("auto").has_value());
  EXPECT_FALSE(ParseContainmentKind("cgroup").has_value());
}

}  // namespace
}  // namespace qvmr
