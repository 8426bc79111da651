#include "client/wait.h"

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace qvmr::client {
namespace {

constexpr std::int64_t kGraceMs = 15000;
constexpr std::int64_t kProgressEveryMs = 30000;

std::int64_t NowMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

void BlockSigint() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
}

bool TestHooksBuilt() {
#ifdef QVMR_TEST_HOOKS
  return true;
#else
  return false;
#endif
}

std::int64_t GraceMs() {
#ifdef QVMR_TEST_HOOKS
  if (const char* v = std::getenv("QVM_REMOTE_TEST_GRACE_MS"); v != nullptr && *v != '\0') {
    char* end = nullptr;
    long long ms = std::strtoll(v, &end, 10);
    if (end != nullptr && *end == '\0' && ms >= 0) return ms;
  }
#endif
  return kGraceMs;
}

Result<WaitResult> WaitFor(const Paths& paths, const std::string& cid, const WaitBudget& budget) {
  Fd inotify(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (inotify.get() < 0) return MakeError("io", std::string("inotify: ") + std::strerror(errno));
  if (::inotify_add_watch(inotify.get(), paths.results.c_str(), IN_CREATE | IN_MOVED_TO) < 0 ||
      ::inotify_add_watch(inotify.get(), paths.pending.c_str(),
                          IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
    return MakeError("io", std::string("inotify watch: ") + std::strerror(errno));
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  Fd sig(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (sig.get() < 0) return MakeError("io", std::string("signalfd: ") + std::strerror(errno));

  const std::string exit_path = paths.Result(cid, "exit");
  // The watches exist before the first look, so nothing that happens after it is missed.
  const std::int64_t submitted = NowMs();
  std::int64_t claimed_at = -1;
  std::int64_t next_progress = submitted + kProgressEveryMs;
  WaitResult result;
  for (;;) {
    if (Exists(exit_path)) {
      result.end = WaitEnd::kAnswered;
      return result;
    }
    const std::int64_t now = NowMs();
    if (claimed_at < 0 && !IsPending(paths, cid)) {
      claimed_at = now;
      result.claimed = true;
    }
    std::int64_t deadline =
        claimed_at < 0 ? submitted + budget.unclaimed_ms : claimed_at + budget.claimed_ms;
    if (budget.overall_ms) deadline = std::min(deadline, submitted + *budget.overall_ms);
    if (now >= deadline) {
      result.end = result.claimed ? WaitEnd::kClaimedNoAnswer : WaitEnd::kNeverClaimed;
      return result;
    }
    if (budget.progress && now >= next_progress) {
      std::fprintf(stderr, "[qvm-remote] waiting... %llds/%us\n",
                   static_cast<long long>((now - submitted) / 1000), budget.timeout_seconds);
      next_progress += kProgressEveryMs;
    }
    std::int64_t wake = deadline;
    if (budget.progress) wake = std::min(wake, next_progress);
    pollfd fds[2] = {{inotify.get(), POLLIN, 0}, {sig.get(), POLLIN, 0}};
    int ms = static_cast<int>(std::clamp<std::int64_t>(wake - now, 0, 60000));
    int n = ::poll(fds, 2, ms);
    if (n < 0 && errno != EINTR) {
      return MakeError("io", std::string("poll: ") + std::strerror(errno));
    }
    if (n > 0 && (fds[1].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      (void)!::read(sig.get(), &info, sizeof info);
      // A result that landed together with the Ctrl-C is still an answer worth showing.
      if (Exists(exit_path)) {
        result.end = WaitEnd::kAnswered;
        return result;
      }
      result.claimed = result.claimed || !IsPending(paths, cid);
      result.end = WaitEnd::kInterrupted;
      return result;
    }
    if (n > 0 && (fds[0].revents & POLLIN) != 0) {
      // The events only say "look again"; the files are the truth (and an overflow is harmless).
      char buf[4096];
      while (::read(inotify.get(), buf, sizeof buf) > 0) {
      }
    }
  }
}

}  // namespace qvmr::client
