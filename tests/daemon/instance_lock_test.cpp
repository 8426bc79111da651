// Tests for daemon/instance_lock.h: one holder at a time, across processes and within one, the
// refusal naming the holder's pid, and release on destruction or death.
#include "daemon/instance_lock.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace qvmr {
namespace {

using ::testing::HasSubstr;

class InstanceLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qvmr-lock-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/var/lib/qvm-remote/daemon.lock";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string FileText() {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string dir_;
  std::string path_;
};

TEST_F(InstanceLockTest, TheFirstHolderWritesItsPidIntoA0600File) {
  auto lock = InstanceLock::Acquire(path_);
  ASSERT_TRUE(lock.ok()) << lock.error().message;
  EXPECT_EQ(FileText(), std::to_string(::getpid()) + "\n");
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ((*lock)->path(), path_);
}

TEST_F(InstanceLockTest, ASecondAcquireInTheSameProcessFailsNamingTheHolder) {
  auto first = InstanceLock::Acquire(path_);
  ASSERT_TRUE(first.ok());
  auto second = InstanceLock::Acquire(path_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "locked");
  EXPECT_EQ(second.error().message,
            "another qvm-remote-dom0 is running (pid " + std::to_string(::getpid()) + ")");
  // The refusal did not overwrite the holder's pid.
  EXPECT_EQ(FileText(), std::to_string(::getpid()) + "\n");
}

TEST_F(InstanceLockTest, ReleasingTheLockLetsTheNextOneIn) {
  {
    auto first = InstanceLock::Acquire(path_);
    ASSERT_TRUE(first.ok());
  }
  EXPECT_TRUE(InstanceLock::Acquire(path_).ok());
}

TEST_F(InstanceLockTest, AnotherProcessIsRefusedWhileTheParentHoldsIt) {
  auto held = InstanceLock::Acquire(path_);
  ASSERT_TRUE(held.ok());
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(pipefd[0]);
    auto lock = InstanceLock::Acquire(path_);
    std::string msg = lock.ok() ? "acquired" : lock.error().message;
    (void)!::write(pipefd[1], msg.data(), msg.size());
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::string got;
  char buf[256];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  ::waitpid(pid, nullptr, 0);
  EXPECT_EQ(got, "another qvm-remote-dom0 is running (pid " + std::to_string(::getpid()) + ")");
}

TEST_F(InstanceLockTest, AHolderThatDiesReleasesTheLockWithoutCleanup) {
  int ready[2];
  int release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto lock = InstanceLock::Acquire(path_);
    char c = lock.ok() ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    (void)!::read(release[0], &c, 1);
    ::_exit(0);  // no destructor runs: the kernel drops the lock
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  auto refused = InstanceLock::Acquire(path_);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("(pid " + std::to_string(pid) + ")"));
  (void)!::write(release[1], &c, 1);
  ::waitpid(pid, nullptr, 0);
  for (int fd : {ready[0], ready[1], release[0], release[1]}) ::close(fd);
  auto lock = InstanceLock::Acquire(path_);
  ASSERT_TRUE(lock.ok()) << lock.error().message;
  EXPECT_EQ(FileText(), std::to_string(::getpid()) + "\n");
}

TEST_F(InstanceLockTest, TheLockFdIsNotInheritedAcrossExec) {
  auto lock = InstanceLock::Acquire(path_);
  ASSERT_TRUE(lock.ok());
  // Find our fd on the file and check FD_CLOEXEC.
  bool found = false;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(e.path(), ec);
    if (ec || target != path_) continue;
    found = true;
    int fd = std::stoi(e.path().filename().string());
    EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
  }
  EXPECT_TRUE(found);
}

TEST_F(InstanceLockTest, AnUnopenablePathIsAnIoErrorNamingIt) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ + "/file") << "x";
  auto lock = InstanceLock::Acquire(dir_ + "/file/daemon.lock");
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.error().code, "io");
  EXPECT_THAT(lock.error().message, HasSubstr(dir_ + "/file"));
}

}  // namespace
}  // namespace qvmr
