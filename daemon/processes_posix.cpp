// The POSIX Processes: fork + execve with the child set-up of CONTRACT.md "Execution", pidfds for
// waiting. Between fork and execve the child runs only async-signal-safe system calls on memory
// prepared before the fork (argv and envp arrays), because the daemon is multi-threaded and
// another thread may have held the allocator's lock at the moment of the fork.
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "daemon/processes.h"
#include "daemon/spawner.h"

namespace qvmr {
namespace {

// <linux/ioprio.h> is not in every libc's headers; the values are the kernel ABI.
constexpr int kIoprioClassShift = 13;
constexpr int kIoprioClassBestEffort = 2;
constexpr int kIoprioWhoProcess = 1;
constexpr int kChildNice = 10;
constexpr int kChildIoLevel = 7;
// Where the child parks its three descriptors before placing them at 0, 1 and 2, so that a
// source that already is 0, 1 or 2 is not overwritten by an earlier dup2.
constexpr int kParkingFloor = 10;

int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

// Closes (marks close-on-exec) every descriptor above 2 except `keep`, which must survive until
// execve. close_range(CLOSE_RANGE_CLOEXEC) needs Linux 5.11; older kernels get the loop.
void CloseFdsAbove2(int keep) {
  if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) == 0) return;
  struct rlimit limit;
  long max_fd = 65536;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    max_fd = static_cast<long>(limit.rlim_cur);
  }
  for (long fd = 3; fd < max_fd; ++fd) {
    if (fd != keep) close(static_cast<int>(fd));
  }
}

// Closes (not just marks) every descriptor above 2 but `a` and `b`. Async-signal-safe.
void CloseAllAbove2Except(int a, int b) {
  const unsigned lo = static_cast<unsigned>(a < b ? a : b);
  const unsigned hi = static_cast<unsigned>(a < b ? b : a);
  if (lo >= 3 && syscall(SYS_close_range, 3u, lo - 1, 0u) == 0 &&
      (hi == lo + 1 || syscall(SYS_close_range, lo + 1, hi - 1, 0u) == 0) &&
      syscall(SYS_close_range, hi + 1, ~0u, 0u) == 0) {
    return;
  }
  struct rlimit limit;
  long max_fd = 65536;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    max_fd = static_cast<long>(limit.rlim_cur);
  }
  for (long fd = 3; fd < max_fd; ++fd) {
    if (fd != a && fd != b) close(static_cast<int>(fd));
  }
}

[[noreturn]] void ReportAndExit(int report_fd, int error_number) {
  // A short write on a fresh pipe cannot be partial; if it fails the parent sees EOF and a
  // non-zero status, which it reports as a spawn failure.
  (void)!write(report_fd, &error_number, sizeof error_number);
  _exit(127);
}

// Runs in the child between fork and execve: async-signal-safe calls only.
[[noreturn]] void ChildSetUpAndExec(const SpawnSpec& spec, char* const* argv, char* const* envp,
                                    pid_t parent, int report_fd, int gate_fd) {
  // Default dispositions first (the daemon's handlers must never run in the child), then the
  // empty mask; the parent blocked every signal around fork, so nothing was delivered yet.
  struct sigaction default_action;
  std::memset(&default_action, 0, sizeof default_action);
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &default_action, nullptr);  // fails harmlessly for glibc-reserved signals
  }
  sigset_t empty;
  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, nullptr);

  // Into the command's cell first: everything below, and everything the program will start,
  // then exists only inside it.
  if (spec.cell != nullptr) {
    const int entered = EnterCell(*spec.cell);
    if (entered != 0) ReportAndExit(report_fd, entered);
  }
  // Its own session: no controlling tty, and a process group that one kill reaches.
  if (setsid() < 0) ReportAndExit(report_fd, errno);
  // Die with the daemon. The parent may already be gone (then we were re-parented before the
  // prctl took effect and would never get the signal): check after setting it. In a new PID
  // namespace getppid() is 0 (the parent is outside it), so the check cannot be made there.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) ReportAndExit(report_fd, errno);
  // Under a subreaper cell the parent is the helper (which itself checked and dies with us).
  const bool parent_is_daemon =
      spec.cell == nullptr || (!spec.cell->new_pid_namespace && !spec.cell->subreaper_helper);
  if (parent_is_daemon && getppid() != parent) _exit(127);

  // Politeness: a remote command yields CPU and disk to dom0's own work. Failures (e.g. a
  // seccomp filter) are not worth refusing the command for.
  (void)setpriority(PRIO_PROCESS, 0, kChildNice);
  (void)syscall(SYS_ioprio_set, kIoprioWhoProcess, 0,
                (kIoprioClassBestEffort << kIoprioClassShift) | kChildIoLevel);
  umask(022);
  if (chdir("/") < 0) ReportAndExit(report_fd, errno);

  const int sources[3] = {spec.stdin_fd, spec.stdout_fd, spec.stderr_fd};
  int parked[3];
  for (int i = 0; i < 3; ++i) {
    parked[i] = fcntl(sources[i], F_DUPFD_CLOEXEC, kParkingFloor);
    if (parked[i] < 0) ReportAndExit(report_fd, errno);
  }
  for (int i = 0; i < 3; ++i) {
    // dup2 clears close-on-exec on the new descriptor.
    if (dup2(parked[i], i) < 0) ReportAndExit(report_fd, errno);
  }
  if (gate_fd >= 0) {
    // Wait for the parent's go (SpawnSpec::before_exec): one byte, or EOF for "do not run".
    // Nothing of the daemon's stays open meanwhile (e.g. its instance lock): a daemon dying
    // here must not leave its lock held by a child that has not yet received its death signal.
    CloseAllAbove2Except(report_fd, gate_fd);
    char go = 1;
    if (write(gate_fd, &go, 1) != 1) ReportAndExit(report_fd, ECANCELED);  // "ready"
    ssize_t got;
    do {
      got = read(gate_fd, &go, 1);
    } while (got < 0 && errno == EINTR);
    if (got != 1) ReportAndExit(report_fd, ECANCELED);
    close(gate_fd);
  }
  CloseFdsAbove2(report_fd);

  execve(argv[0], argv, envp);
  ReportAndExit(report_fd, errno);
}

// NULL-terminated char* arrays over strings that outlive the fork.
std::vector<char*> CArray(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

ExitState FromSiginfo(const siginfo_t& info) {
  ExitState state;
  if (info.si_code == CLD_EXITED) {
    state.code = info.si_status;
  } else {
    state.signaled = true;
    state.code = info.si_status;
  }
  return state;
}

class PosixProcesses : public Processes {
 public:
  MonotonicMs NowMonotonicMs() override {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<MonotonicMs>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
  }

  SpawnResult Spawn(const SpawnSpec& spec) override {
    SpawnResult result;
    if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/') {
      result.error_number = EINVAL;
      return result;
    }
    std::vector<char*> argv = CArray(spec.argv);
    std::vector<char*> envp = CArray(spec.env);
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) {
      result.error_number = errno;
      return result;
    }

    int gate[2] = {-1, -1};
    // A socket pair, both ways: the child says "ready" once it is in its cell and session with
    // nothing of the daemon's open; the parent then calls before_exec and says "go".
    if (spec.before_exec && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, gate) < 0) {
      result.error_number = errno;
      close(report[0]);
      close(report[1]);
      return result;
    }

    // The fork happens on the spawner thread (spawner.h: PR_SET_PDEATHSIG follows the forking
    // thread); the exec report is awaited here.
    pid_t pid = -1;
    int fork_errno = 0;
    Spawner::Instance().Run([&] {
      sigset_t all, old;
      sigfillset(&all);
      pthread_sigmask(SIG_SETMASK, &all, &old);
      const pid_t parent = getpid();
      pid = spec.cell != nullptr ? ForkIntoCell(*spec.cell) : fork();
      if (pid == 0) {
        close(report[0]);
        if (gate[1] >= 0) close(gate[1]);
        ChildSetUpAndExec(spec, argv.data(), envp.data(), parent, report[1], gate[0]);
      }
      fork_errno = errno;
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
    });
    close(report[1]);
    if (gate[0] >= 0) close(gate[0]);
    if (pid < 0) {
      if (gate[1] >= 0) close(gate[1]);
      close(report[0]);
      result.error_number = fork_errno;
      return result;
    }

    if (gate[1] >= 0) {
      // "ready", or EOF when the child failed before the gate (its report says why).
      char ready = 0;
      ssize_t said;
      do {
        said = read(gate[1], &ready, 1);
      } while (said < 0 && errno == EINTR);
      if (said == 1 && spec.before_exec(pid)) {
        const char go = 1;
        (void)!write(gate[1], &go, 1);
      }
      close(gate[1]);  // EOF without the byte: the child _exits with ECANCELED
    }

    int child_errno = 0;
    ssize_t got;
    do {
      got = read(report[0], &child_errno, sizeof child_errno);
    } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got != 0) {
      // execve (or the set-up before it) failed; the child has _exit'ed.
      int status;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      result.kind = SpawnResult::Kind::kExecFailed;
      result.error_number = got == static_cast<ssize_t>(sizeof child_errno) ? child_errno : EIO;
      return result;
    }

    // The child is ours and not reaped, so its pid cannot have been recycled yet.
    const int pidfd = PidfdOpen(pid);
    if (pidfd < 0) {
      const int pidfd_errno = errno;
      kill(pid, SIGKILL);
      int status;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      result.error_number = pidfd_errno;
      return result;
    }
    result.kind = SpawnResult::Kind::kStarted;
    result.child = Child{pid, pidfd};
    return result;
  }

  std::optional<ExitState> Peek(const Child& child) override {
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    if (waitid(P_PIDFD, static_cast<id_t>(child.pidfd), &info, WEXITED | WNOHANG | WNOWAIT) < 0) {
      return std::nullopt;
    }
    if (info.si_pid == 0) return std::nullopt;
    return FromSiginfo(info);
  }

  std::optional<ExitState> WaitUntil(const Child& child, MonotonicMs deadline) override {
    for (;;) {
      if (auto state = Peek(child)) return state;
      const MonotonicMs left = deadline - NowMonotonicMs();
      if (left <= 0) return std::nullopt;
      struct pollfd p = {child.pidfd, POLLIN, 0};
      const int timeout = left > INT_MAX ? INT_MAX : static_cast<int>(left);
      if (poll(&p, 1, timeout) < 0 && errno != EINTR) return std::nullopt;
    }
  }

  void Signal(const KillTree& tree, int signal) override {
    // The cell first: a subreaper cell finds the tree through its helper, which the group
    // signal may end.
    if (tree.cell != nullptr) tree.cell->Signal(signal);
    for (pid_t group : tree.process_groups) {
      if (group > 1) kill(-group, signal);
    }
  }

  ExitState Release(Child& child) override {
    ExitState state;
    if (child.pidfd < 0) return state;
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    int rc;
    do {
      rc = waitid(P_PIDFD, static_cast<id_t>(child.pidfd), &info, WEXITED);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) state = FromSiginfo(info);
    close(child.pidfd);
    child.pidfd = -1;
    child.pid = -1;
    return state;
  }
};

}  // namespace

Processes* Processes::Posix() {
  static Processes* const posix = new PosixProcesses();
  return posix;
}

}  // namespace qvmr
