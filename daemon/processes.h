// Processes: the daemon's only way to make children (LevelDB's Env idea applied to fork/exec), so
// executors can be tested against a fake and the way children are made and contained can change
// in one file. The POSIX implementation (processes_posix.cpp) gives every child the set-up of
// CONTRACT.md "Execution": default signal dispositions and an empty mask, every fd above 2 closed,
// umask 022, cwd `/`, its own session, PR_SET_PDEATHSIG(SIGKILL), nice 10, I/O best-effort 7, and
// an environment that is exactly the one given (nothing of the daemon's leaks through).
//
// Containment: a child is reached through its `KillTree`, never through a bare pid, so that the
// later cgroup / PID-namespace containment replaces what a KillTree holds (today: process group
// ids, one per session leader) without touching executors.
//
// PR_SET_PDEATHSIG fires when the *thread* that forked exits, not the process: the POSIX
// implementation forks only on the long-lived spawner thread (spawner.h), so workers may come and
// go.
//
// Thread safety: every method is safe for concurrent use by several worker threads. Children are
// reaped only through Release/WaitUntil here: nothing else in the daemon may call waitpid(-1) or
// set SIGCHLD to SIG_IGN (both would steal exit statuses from under a pidfd).
#ifndef QVMR_DAEMON_PROCESSES_H_
#define QVMR_DAEMON_PROCESSES_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "daemon/containment.h"

namespace qvmr {

// Milliseconds on CLOCK_MONOTONIC: deadlines are measured on it, so a wall-clock step (NTP, a
// user setting the date) never shortens or lengthens a command's time.
using MonotonicMs = std::int64_t;

struct SpawnSpec {
  // argv[0] is an absolute path already resolved through the exec path (exec_path.h); it is
  // exec'd as is, without any PATH search. REQUIRES: non-empty, argv[0] starts with '/'.
  std::vector<std::string> argv;
  // "NAME=value" entries, exactly the child's environment (execve's envp).
  std::vector<std::string> env;
  // Parent-side descriptors that become the child's 0, 1 and 2. They stay owned (and open) in
  // the parent; they may be equal (e.g. `2>&1`). Everything else is closed in the child.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // The command's cell (containment.h): the child enters it before exec (a failure to enter is
  // an exec failure: nothing runs outside its cell). nullptr: no containment.
  const CellEntry* cell = nullptr;
  // Called in the parent once the child is forked, in its cell and its own session, but BEFORE
  // it execs: the child blocks on a pipe until this returns. true lets it exec; false makes it
  // _exit instead (Spawn then reports kExecFailed with ECANCELED; nothing of the program ran).
  // Runs on the caller's thread; `pid` is the child's (its process group id). Empty: none.
  std::function<bool(pid_t pid)> before_exec = nullptr;
};

// How a child exited: exit code 0–255, or killed by a signal.
struct ExitState {
  bool signaled = false;
  int code = 0;  // exit code, or the signal number when signaled

  // The status a `.exit` file records: the code, or -N for signal N.
  int Status() const { return signaled ? -code : code; }
};

// A started child. `pidfd` becomes readable (POLLIN) when the child exits, so callers can poll
// it beside their output pipes. Owned by the caller until passed to Processes::Release, which
// reaps the child and closes the pidfd; a Child must be released exactly once.
struct Child {
  pid_t pid = -1;
  int pidfd = -1;
};

// What one kill must reach. Today: the process groups of the command's session leaders (each
// stage is its own session, and a process can only join a group of its own session, so a
// pipeline is one group per stage). Later: a cgroup or a PID namespace init.
struct KillTree {
  std::vector<pid_t> process_groups;
  // The command's cell, when there is containment: a signal reaches every process in it.
  Cell* cell = nullptr;
};

struct SpawnResult {
  enum class Kind {
    kStarted,     // `child` runs the program
    kExecFailed,  // the child was made but execve failed: `error_number` is its errno; the child
                  // has already been reaped (nothing is left running)
    kSpawnFailed  // no child could be made (fork, pipe, pidfd): `error_number`; nothing runs
  };
  Kind kind = Kind::kSpawnFailed;
  Child child;  // valid when kStarted
  int error_number = 0;
};

class Processes {
 public:
  virtual ~Processes() = default;

  // Now on the monotonic clock.
  virtual MonotonicMs NowMonotonicMs() = 0;

  // Starts a child as its own session leader (its process group id is its pid; add it to the
  // command's KillTree). Blocks only until the child has exec'd or failed to (the report comes
  // through a close-on-exec pipe, so "not found" and "not executable" are known, not guessed).
  // Never throws; on failure nothing is left running.
  virtual SpawnResult Spawn(const SpawnSpec& spec) = 0;

  // The child's exit state if it has exited, without reaping it (its pid and process group stay
  // reserved, so a KillTree signal cannot reach a recycled pid); nullopt while it runs.
  virtual std::optional<ExitState> Peek(const Child& child) = 0;

  // Waits until the child exits or `deadline` passes; does not reap. nullopt at the deadline.
  virtual std::optional<ExitState> WaitUntil(const Child& child, MonotonicMs deadline) = 0;

  // Sends `signal` to everything in the tree. Members that are gone are ignored.
  virtual void Signal(const KillTree& tree, int signal) = 0;

  // Reaps the child (waiting for it if it still runs: signal it first) and closes its pidfd.
  // Returns its exit state.
  virtual ExitState Release(Child& child) = 0;

  // The process-wide POSIX implementation (fork + execve, pidfds). Never destroyed.
  static Processes* Posix();
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_PROCESSES_H_
