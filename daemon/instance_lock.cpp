#include "daemon/instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "engine/base/env.h"

namespace qvmr {
namespace {

Error IoError(const std::string& what, const std::string& path, int err) {
  return MakeError("io", what + " " + path + ": " + std::strerror(err));
}

// The pid the holder wrote, or "unknown": it may not have written it yet, and the file is only
// ever read for this message, so a bounded read of a few digits is all it gets.
std::string HolderPid(int fd) {
  char buf[32];
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "unknown";
  std::string text(buf, static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    return "unknown";
  }
  return text;
}

}  // namespace

Result<std::unique_ptr<InstanceLock>> InstanceLock::Acquire(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash != 0) {
    std::string dir = path.substr(0, slash);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
      if (Status made = Env::Posix()->MakeDirs(dir, 0700); !made) return made.error();
    }
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return IoError("cannot open the lock file", path, errno);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    if (err == EWOULDBLOCK) {
      std::string pid = HolderPid(fd);
      ::close(fd);
      return MakeError("locked", "another qvm-remote-dom0 is running (pid " + pid + ")");
    }
    ::close(fd);
    return IoError("cannot lock", path, err);
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    int err = errno;
    ::close(fd);
    return IoError("cannot write the pid into", path, err);
  }
  return std::unique_ptr<InstanceLock>(new InstanceLock(path, fd));
}

InstanceLock::~InstanceLock() {
  ::close(fd_);
}

}  // namespace qvmr
