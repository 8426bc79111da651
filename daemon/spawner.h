// The spawner: the one long-lived thread that forks every child of the daemon.
//
// Why: PR_SET_PDEATHSIG (which every child sets, so that nothing outlives a crashed daemon) fires
// when the *thread* that forked the child exits, not when the process does. If a worker thread
// that forked a command ever ended (a pool shrinking, a thread restarted), its commands would be
// SIGKILLed mid-run. Forking only here, on a thread that lives as long as the process, makes the
// death signal mean "the daemon died".
//
// Cost: one thread; a fork step runs only the fork (the caller then waits for the exec report on
// its own thread), so spawns from several workers queue only for the fork itself.
// Thread safety: Run is safe from any thread; steps run one at a time, in call order per caller.
#ifndef QVMR_DAEMON_SPAWNER_H_
#define QVMR_DAEMON_SPAWNER_H_

#include <condition_variable>
#include <functional>
#include <mutex>

namespace qvmr {

class Spawner {
 public:
  // The process-wide spawner. Its thread starts at first use (with every signal blocked, so the
  // daemon's signals are handled elsewhere) and is never stopped or destroyed.
  static Spawner& Instance();

  // Runs `step` on the spawner thread and returns once it has returned. `step` must not throw
  // and must not call Run (it would wait for itself).
  void Run(const std::function<void()>& step);

 private:
  Spawner() = default;
  void Loop();

  std::mutex call_mu_;  // one Run at a time
  std::mutex mu_;
  std::condition_variable cv_;
  const std::function<void()>* task_ = nullptr;  // guarded by mu_
  bool done_ = false;                            // guarded by mu_
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_SPAWNER_H_
