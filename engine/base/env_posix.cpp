// The POSIX Env: the one file of the engine that touches the real clock and filesystem.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "engine/base/env.h"

namespace qvmr {
namespace {

Error IoError(const std::string& what, const std::string& path, int err) {
  return MakeError("io", what + " " + path + ": " + std::strerror(err));
}

class PosixEnv : public Env {
 public:
  TimeMs NowMs() override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }

  TimeMs MonotonicMs() override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
  }

  std::uint32_t EffectiveUid() override { return static_cast<std::uint32_t>(geteuid()); }

  Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return IoError("cannot read", path, errno);
    std::string data;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return IoError("cannot read", path, err);
      }
      if (n == 0) break;
      if (data.size() + static_cast<std::size_t>(n) > max_bytes) {
        ::close(fd);
        return MakeError("too-large",
                         path + " is larger than " + std::to_string(max_bytes) + " bytes");
      }
      data.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return data;
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), ::closedir);
    if (!dir) return IoError("cannot list", path, errno);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(dir.get())) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    return names;
  }

  Result<FileInfo> Stat(const std::string& path) override {
    struct stat st {};
    FileInfo info;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return info;
      return IoError("cannot stat", path, errno);
    }
    info.exists = true;
    info.is_dir = S_ISDIR(st.st_mode);
    info.is_regular = S_ISREG(st.st_mode);
    info.uid = st.st_uid;
    info.mode = st.st_mode & 07777;
    return info;
  }

  Result<std::string> RealPath(const std::string& path) override {
    std::unique_ptr<char, void (*)(void*)> p(::realpath(path.c_str(), nullptr), std::free);
    if (!p) return IoError("cannot resolve", path, errno);
    return std::string(p.get());
  }

  Status WriteFileAtomic(const std::string& path, const std::string& data,
                         std::uint32_t mode) override {
    // Unique per process, thread and call: two writers never open the same temporary file.
    std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                      std::to_string(static_cast<long>(::syscall(SYS_gettid))) + "." +
                      std::to_string(temp_counter_.fetch_add(1, std::memory_order_relaxed));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return IoError("cannot write", tmp, errno);
    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::write(fd, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return IoError("cannot write", tmp, err);
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return IoError("cannot write", tmp, err);
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return IoError("cannot rename into", path, err);
    }
    return Ok{};
  }

  Status MakeDirs(const std::string& path, std::uint32_t mode) override {
    std::string partial;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
      pos = path.find('/', pos + 1);
      partial = path.substr(0, pos);
      if (partial.empty()) continue;
      if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST) {
        return IoError("cannot create directory", partial, errno);
      }
    }
    if (::chmod(path.c_str(), mode) != 0) return IoError("cannot chmod", path, errno);
    return Ok{};
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return IoError("cannot remove", path, errno);
    }
    return Ok{};
  }

 private:
  std::atomic<std::uint64_t> temp_counter_{0};
};

}  // namespace

Env* Env::Posix() {
  static PosixEnv env;
  return &env;
}

}  // namespace qvmr
