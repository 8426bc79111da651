// A scripted Processes for daemon tests: no fork, no real signals. Each program path (the
// resolved argv[0]) gets a Script saying what "running" it does: fail to exec, fail to spawn,
// write a little output and exit, or run until a signal arrives. Every spawn and signal is
// recorded, so tests can assert exactly what an executor asked for.
//
// Thread safety: safe for concurrent use (one mutex). Output texts are written into the spec's
// descriptors at Spawn, so keep them below a pipe's buffer (64 KiB).
#ifndef QVMR_TESTS_SUPPORT_DAEMON_FAKE_PROCESSES_H_
#define QVMR_TESTS_SUPPORT_DAEMON_FAKE_PROCESSES_H_

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "daemon/processes.h"

namespace qvmr::testing {

class FakeProcesses : public Processes {
 public:
  struct Script {
    SpawnResult::Kind kind = SpawnResult::Kind::kStarted;
    int error_number = 0;              // for kExecFailed / kSpawnFailed
    ExitState exit;                    // how it exits (at once, unless runs_until_signaled)
    bool runs_until_signaled = false;  // exits with the first signal Signal() sends its group
    std::string stdout_text;
    std::string stderr_text;
  };

  FakeProcesses() = default;
  ~FakeProcesses() override;

  // What spawning `path` does; unknown paths start and exit 0 with no output.
  void On(const std::string& path, Script script);

  MonotonicMs NowMonotonicMs() override;
  SpawnResult Spawn(const SpawnSpec& spec) override;
  std::optional<ExitState> Peek(const Child& child) override;
  std::optional<ExitState> WaitUntil(const Child& child, MonotonicMs deadline) override;
  void Signal(const KillTree& tree, int signal) override;
  ExitState Release(Child& child) override;

  // Recorded calls, in order.
  std::vector<SpawnSpec> spawns() const;
  std::vector<std::pair<KillTree, int>> signals() const;
  // Children spawned and not yet released.
  std::size_t unreleased() const;

 private:
  struct FakeChild {
    int event_fd = -1;  // readable once exited
    bool exited = false;
    ExitState exit;
  };
  void ExitLocked(FakeChild& child, ExitState exit);

  mutable std::mutex mu_;
  std::map<std::string, Script> scripts_;
  std::map<pid_t, FakeChild> children_;
  std::vector<SpawnSpec> spawns_;
  std::vector<std::pair<KillTree, int>> signals_;
  pid_t next_pid_ = 1000000;  // never a real pid on this host's default pid_max
};

}  // namespace qvmr::testing

#endif  // QVMR_TESTS_SUPPORT_DAEMON_FAKE_PROCESSES_H_
