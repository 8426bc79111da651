// The subreaper helper (works unprivileged: no cgroup, no namespace needed). The daemon's child
// becomes a small helper with PR_SET_CHILD_SUBREAPER and forks the real command: every process
// of the command whose parent dies is re-parented to the helper instead of init, so the helper
// always holds the tree. When the command's main process exits the helper SIGKILLs whatever is
// left, reaps it all, and exits with the main process's status (which the executor then reads
// as the command's). The daemon reaches the tree by walking the helper's descendants through
// /proc/<pid>/task/<tid>/children, killing them before the helper. When the daemon dies (kill -9
// included) the helper is told by a death signal it collects, not one that kills it: it kills the
// command and sweeps everything the command left, as at a normal end, then exits. (A helper
// killed outright would hand the command's background processes to init, out of reach of the
// next daemon's restart, for ever.)
//
// Limits, said plainly: nothing bounds a fork bomb (no pids.max), a process that escapes between
// two walks is caught only when the helper's final sweep sees it, and the memory cap is RLIMIT_AS
// per process. Prefer a cgroup mechanism where one exists.
//
// The helper runs in a forked child of a multi-threaded daemon and never execs: it uses only
// async-signal-safe system calls and no allocation.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "daemon/containment.h"

namespace qvmr {
namespace {

constexpr long kDrainPollNs = 10 * 1000 * 1000;
// The helper's parent-death signal (PR_SET_PDEATHSIG). Blocked and collected like the others;
// what it means is checked with getppid(), so the same signal sent by anyone else does nothing.
constexpr int kDaemonGoneSignal = SIGUSR2;

// --- the helper (child side; async-signal-safe) ---

// SIGKILLs every child listed in /proc/thread-self/children. Returns how many it saw.
int KillDirectChildren() {
  const int fd = open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buffer[4096];
  int seen = 0;
  long pid = 0;
  bool in_number = false;
  for (;;) {
    const ssize_t got = read(fd, buffer, sizeof buffer);
    if (got <= 0) break;
    for (ssize_t i = 0; i < got; ++i) {
      const char c = buffer[i];
      if (c >= '0' && c <= '9') {
        pid = pid * 10 + (c - '0');
        in_number = true;
      } else if (in_number) {
        kill(static_cast<pid_t>(pid), SIGKILL);
        ++seen;
        pid = 0;
        in_number = false;
      }
    }
  }
  if (in_number) {
    kill(static_cast<pid_t>(pid), SIGKILL);
    ++seen;
  }
  close(fd);
  return seen;
}

// `daemon` is the helper's parent when it started: once getppid() differs, the daemon is gone.
[[noreturn]] void HelperLoop(pid_t main_pid, pid_t daemon) {
  // Nothing of the daemon's is needed: the command holds its own copies of 0, 1, 2 and the exec
  // report pipe, which must close when the command execs (not when the helper exits).
  if (syscall(SYS_close_range, 0u, ~0u, 0u) != 0) {  // before Linux 5.9
    struct rlimit limit;
    long max_fd = 65536;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
      max_fd = static_cast<long>(limit.rlim_cur);
    }
    for (long fd = 0; fd < max_fd; ++fd) close(static_cast<int>(fd));
  }
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);  // signals are collected with sigtimedwait below
  sigset_t wanted;
  sigemptyset(&wanted);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, kDaemonGoneSignal}) sigaddset(&wanted, sig);
  int main_status = 0;
  bool main_done = false;
  bool daemon_gone = false;
  for (;;) {
    if (!daemon_gone && getppid() != daemon) {
      // Nobody will read the status: end the command now, then sweep as at its end.
      daemon_gone = true;
      kill(main_pid, SIGKILL);
    }
    int status = 0;
    pid_t reaped;
    while ((reaped = waitpid(-1, &status, WNOHANG)) > 0) {
      if (reaped == main_pid) {
        main_status = status;
        main_done = true;
      }
    }
    if (reaped < 0 && errno == ECHILD && main_done) break;  // everything is reaped
    if (main_done || daemon_gone) {
      // Leftovers die; their children are re-parented to us and die in the next round.
      KillDirectChildren();
    }
    struct timespec wait = {0, main_done || daemon_gone ? 1000000L : 100000000L};
    siginfo_t info;
    const int sig = sigtimedwait(&wanted, &info, &wait);
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
      // The executor's SIGTERM to our process group: pass it on to the command.
      kill(main_pid, sig);
    }
  }
  if (WIFEXITED(main_status)) _exit(WEXITSTATUS(main_status));
  // Die the way the main process died, so the executor sees the same signal.
  const int sig = WTERMSIG(main_status);
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = SIG_DFL;
  sigaction(sig, &action, nullptr);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  sigprocmask(SIG_UNBLOCK, &one, nullptr);
  kill(getpid(), sig);
  _exit(128 + sig);
}

// --- the daemon side ---

// Field 22 of /proc/<pid>/stat (start time in clock ticks), and whether the process is a zombie.
bool ReadStat(pid_t pid, unsigned long long* start_time, bool* zombie) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  const std::size_t paren = line.rfind(')');
  if (paren == std::string::npos) return false;
  std::istringstream fields(line.substr(paren + 2));
  std::string field;
  std::vector<std::string> rest;
  while (fields >> field) rest.push_back(field);
  // rest[0] is field 3 (state); field 22 is rest[19].
  if (rest.size() < 20) return false;
  *zombie = rest[0] == "Z";
  *start_time = std::strtoull(rest[19].c_str(), nullptr, 10);
  return true;
}

// Every descendant of `pid` (children of all its threads, recursively), deepest last.
void Descendants(pid_t pid, std::vector<pid_t>& out, int depth = 0) {
  if (depth > 4096) return;
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* tasks = opendir(task_dir.c_str());
  if (tasks == nullptr) return;
  while (struct dirent* task = readdir(tasks)) {
    if (task->d_name[0] == '.') continue;
    std::ifstream in(task_dir + "/" + task->d_name + "/children");
    long child;
    while (in >> child) {
      out.push_back(static_cast<pid_t>(child));
      Descendants(static_cast<pid_t>(child), out, depth + 1);
    }
  }
  closedir(tasks);
}

class SubreaperCell : public Cell {
 public:
  SubreaperCell(std::uint64_t memory_bytes, std::string tmpdir) : tmpdir_(std::move(tmpdir)) {
    entry_.subreaper_helper = true;
    entry_.address_space_bytes = memory_bytes;
  }
  ~SubreaperCell() override { (void)Close(); }

  const CellEntry& entry() const override { return entry_; }
  const std::string& tmpdir() const override { return tmpdir_; }

  void Adopt(pid_t pid) override {
    unsigned long long start = 0;
    bool zombie = false;
    if (ReadStat(pid, &start, &zombie)) helpers_.push_back({pid, start});
  }

  void Signal(int signal) override {
    for (const Helper& helper : helpers_) {
      if (!Alive(helper)) continue;
      std::vector<pid_t> tree;
      Descendants(helper.pid, tree);
      // The command's processes, not the helper: it stays to reap them and report the status.
      for (pid_t pid : tree) kill(pid, signal);
    }
  }

  bool Empty() override {
    for (const Helper& helper : helpers_) {
      if (Alive(helper)) return false;
    }
    return true;
  }

  std::string Describe() const override {
    std::string out = "subreaper";
    for (const Helper& helper : helpers_) out += " " + std::to_string(helper.pid);
    return out;
  }

  Status Close() override {
    if (closed_) return Ok{};
    closed_ = true;
    std::string failed;
    const long rounds = kCellDrainMs * 1000000L / kDrainPollNs;
    for (long round = 0; round < rounds && !Empty(); ++round) {
      Signal(SIGKILL);
      struct timespec ts = {0, kDrainPollNs};
      nanosleep(&ts, nullptr);
    }
    if (!Empty()) failed += "a helper did not finish; ";
    if (!tmpdir_.empty()) {
      Status removed = RemoveTree(tmpdir_);
      if (!removed.ok()) failed += removed.error().message;
    }
    if (!failed.empty()) return MakeError("subreaper", failed);
    return Ok{};
  }

 private:
  struct Helper {
    pid_t pid;
    unsigned long long start_time;
  };
  // Running (not a zombie) and still the process we adopted (not a recycled pid).
  static bool Alive(const Helper& helper) {
    unsigned long long start = 0;
    bool zombie = false;
    return ReadStat(helper.pid, &start, &zombie) && !zombie && start == helper.start_time;
  }

  CellEntry entry_;
  std::string tmpdir_;
  std::vector<Helper> helpers_;
  bool closed_ = false;
};

class SubreaperContainment : public Containment {
 public:
  explicit SubreaperContainment(const ContainmentOptions& options) : options_(options) {}
  ContainmentKind kind() const override { return ContainmentKind::kSubreaper; }
  std::string Describe() const override {
    return "subreaper: a PR_SET_CHILD_SUBREAPER helper per command kills every descendant it "
           "inherits (no fork-bomb bound; memory cap by RLIMIT_AS per process)";
  }
  // Each helper kills its command's whole tree when the daemon dies (its death signal, see
  // HelperLoop); only TMPDIRs can remain.
  Result<int> SweepLeftovers() override { return SweepPrivateTmps(options_); }

  Result<std::unique_ptr<Cell>> NewCell(std::string_view cid) override {
    auto tmp = MakePrivateTmp(options_, cid);
    if (!tmp.ok()) return tmp.error();
    return std::unique_ptr<Cell>(new SubreaperCell(options_.max_memory_bytes, *tmp));
  }

 private:
  ContainmentOptions options_;
};

}  // namespace

int SplitIntoSubreaperHelper() {
  // The helper stays in the daemon's process group (it blocks every signal it can): the
  // executor's SIGKILL to the command's group (the helper's pid) then misses it, so the helper
  // always lives to sweep and reap the tree. The command makes its own session after this.
  const pid_t daemon = getppid();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return errno;
  // Blocked before the death signal is armed, so it is never delivered with its default action
  // (which would end the helper without its sweep); the command gets the old mask back.
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  // The helper sweeps and exits when the daemon dies (HelperLoop); the command dies with the
  // helper (it sets its own PR_SET_PDEATHSIG after this returns; a clone does not inherit ours).
  if (prctl(PR_SET_PDEATHSIG, kDaemonGoneSignal) != 0) {
    const int error = errno;
    sigprocmask(SIG_SETMASK, &old, nullptr);
    return error;
  }
  // A raw clone, as fork but without glibc's fork handlers (we are a child of a multi-threaded
  // process and may only make async-signal-safe calls).
  const long pid =
      syscall(SYS_clone, static_cast<unsigned long>(SIGCHLD), nullptr, nullptr, nullptr, 0UL);
  if (pid < 0) {
    const int error = errno;
    sigprocmask(SIG_SETMASK, &old, nullptr);
    return error;
  }
  if (pid == 0) {
    prctl(PR_SET_CHILD_SUBREAPER, 0);  // only the helper collects orphans
    sigprocmask(SIG_SETMASK, &old, nullptr);
    return 0;
  }
  HelperLoop(static_cast<pid_t>(pid), daemon);
}

Result<std::unique_ptr<Containment>> NewSubreaperContainment(const ContainmentOptions& options) {
  if (access("/proc/thread-self/children", R_OK) != 0) {
    return MakeError("containment-unavailable",
                     "/proc/<pid>/task/<tid>/children is missing (kernel without "
                     "CONFIG_PROC_CHILDREN)");
  }
  return std::unique_ptr<Containment>(new SubreaperContainment(options));
}

}  // namespace qvmr
