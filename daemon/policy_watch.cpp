#include "daemon/policy_watch.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace qvmr {

namespace {

constexpr std::uint32_t kDirEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                     IN_CREATE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;

std::int64_t NowMs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

Result<std::unique_ptr<PolicyWatch>> PolicyWatch::Start(std::vector<std::string> dirs,
                                                        std::int64_t debounce_ms,
                                                        std::function<void()> on_change) {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return MakeError("io", std::string("inotify_init1: ") + std::strerror(errno));
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    ::close(fd);
    return MakeError("io", std::string("pipe2: ") + std::strerror(errno));
  }
  std::unique_ptr<PolicyWatch> watch(new PolicyWatch(fd, pipe_fds[0], pipe_fds[1], std::move(dirs),
                                                     debounce_ms, std::move(on_change)));
  watch->Arm();
  watch->thread_ = std::thread([w = watch.get()] { w->Loop(); });
  return watch;
}

PolicyWatch::PolicyWatch(int inotify_fd, int stop_read, int stop_write,
                         std::vector<std::string> dirs, std::int64_t debounce_ms,
                         std::function<void()> on_change)
    : inotify_fd_(inotify_fd),
      stop_read_(stop_read),
      stop_write_(stop_write),
      dirs_(std::move(dirs)),
      debounce_ms_(debounce_ms),
      on_change_(std::move(on_change)) {}

PolicyWatch::~PolicyWatch() {
  char byte = 0;
  (void)!::write(stop_write_, &byte, 1);
  if (thread_.joinable()) thread_.join();
  ::close(inotify_fd_);
  ::close(stop_read_);
  ::close(stop_write_);
}

void PolicyWatch::Arm() {
  // Never removes a watch: inotify_rm_watch queues IN_IGNORED, which would look like a change and
  // reload forever. Adding a watch twice to one inode just returns its descriptor; a deleted
  // directory's watch is dropped by the kernel.
  for (const std::string& dir : dirs_) {
    std::filesystem::path p = dir;
    // A missing directory: its creation shows up as IN_CREATE/IN_MOVED_TO in an ancestor.
    while (!IsDir(p.string()) && p.has_parent_path() && p.parent_path() != p) p = p.parent_path();
    int wd = ::inotify_add_watch(inotify_fd_, p.c_str(), kDirEvents);
    (void)wd;  // a directory that cannot be watched is still reloaded on SIGHUP
  }
}

void PolicyWatch::Loop() {
  std::int64_t due = -1;  // when the debounced reload runs; -1: nothing pending
  alignas(inotify_event) char buf[16384];
  for (;;) {
    int timeout = -1;
    if (due >= 0) timeout = static_cast<int>(std::max<std::int64_t>(0, due - NowMs()));
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_read_, POLLIN, 0}};
    int n = ::poll(fds, 2, timeout);
    if (n < 0 && errno != EINTR) return;
    if (n > 0 && (fds[1].revents & POLLIN)) return;
    if (n > 0 && (fds[0].revents & POLLIN)) {
      // Drain: every event, whatever it is, only restarts the debounce; the reload itself reads
      // the directories again, so event details (names, cookies, overflow) need no parsing.
      while (::read(inotify_fd_, buf, sizeof buf) > 0) {
      }
      due = NowMs() + debounce_ms_;
      continue;
    }
    if (due >= 0 && NowMs() >= due) {
      due = -1;
      Arm();  // a directory deleted, moved or created since: watch what exists now
      on_change_();
    }
  }
}

}  // namespace qvmr
