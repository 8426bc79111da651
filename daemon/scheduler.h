// The worker scheduler of CONTRACT.md "Execution", "Workers": `--workers N` long-lived threads
// shared by every VM, with
//   - a per-VM share: at most max(1, N/2) commands of one VM run at a time, so one VM holding a
//     key can never take every worker (another VM's `true` is answered while it floods);
//   - round-robin: a free worker takes the next waiting job of the VM after the one it served
//     last (VMs at their share are skipped), so VMs are served in turn, not in arrival order;
//   - cid-time order within a VM (ties in submission order): the order the client made them.
//
// Admission: FreeShare(vm) is how many more jobs of `vm` the scheduler would hold without
// exceeding the share (queued + running). The pipeline claims at most that many requests per
// fetch, so whatever dom0 cannot start yet stays in the VM's pending/, where the client can still
// withdraw it. Submit itself never refuses (the restart's re-offered requests may go past the
// share): an over-share job simply waits its turn.
//
// Deadlines are not the scheduler's business: a job decides for itself, when it starts, whether
// its deadline passed while it waited (RequestPipeline::Decide answers `timeout` without running).
//
// Threads live as long as the Scheduler: PR_SET_PDEATHSIG fires when the thread that forked a
// child exits (daemon/processes.h), so no worker may be short-lived.
//
// Thread safety: every method may be called from any thread. Cost: Submit and each pick are
// O(VMs + log jobs) under one mutex.
#ifndef QVMR_DAEMON_SCHEDULER_H_
#define QVMR_DAEMON_SCHEDULER_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace qvmr {

class Scheduler {
 public:
  // REQUIRES: workers >= 1.
  explicit Scheduler(std::size_t workers);
  // Runs every job still queued (unless DropQueued was called), then joins the threads.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // max(1, workers / 2): the most jobs of one VM that run at once.
  std::size_t share() const { return share_; }
  std::size_t workers() const { return threads_.size(); }

  // Queues `job` for `vm`; `order` is its cid time (earlier runs first within the VM).
  void Submit(const std::string& vm, std::int64_t order, std::function<void()> job);

  // share() minus the jobs of `vm` queued or running; 0 when at or over the share.
  std::size_t FreeShare(const std::string& vm) const;
  // Blocks until FreeShare(vm) > 0 or `timeout_ms` passed. Returns FreeShare(vm).
  std::size_t WaitForFreeShare(const std::string& vm, std::int64_t timeout_ms) const;

  // Jobs queued or running, of all VMs / of `vm`.
  std::size_t Pending() const;
  std::size_t Pending(const std::string& vm) const;
  std::size_t Running() const;

  // Blocks until no job is queued or running.
  void WaitIdle() const;
  // As WaitIdle, giving up after `timeout_ms`. Returns true when idle.
  bool WaitIdleFor(std::int64_t timeout_ms) const;
  // Forgets every job not yet started (SIGTERM: they stay `accepted` in the journal and are
  // answered `interrupted` on the next start). Returns how many were dropped.
  std::size_t DropQueued();

 private:
  struct Job {
    std::function<void()> run;
  };
  struct VmQueue {
    std::multimap<std::pair<std::int64_t, std::uint64_t>, Job> waiting;  // (order, seq)
    std::size_t running = 0;
  };

  void Loop();
  // The next job under the round-robin, or false. REQUIRES: mu_ held.
  bool PickLocked(std::string* vm, Job* job);
  bool IdleLocked() const { return queued_ == 0 && running_ == 0; }

  const std::size_t share_;
  mutable std::mutex mu_;
  mutable std::condition_variable work_;
  mutable std::condition_variable changed_;  // a job started, finished or was dropped
  std::map<std::string, VmQueue> vms_;
  std::string last_served_;  // the VM a worker took a job of last
  std::uint64_t seq_ = 0;
  std::size_t queued_ = 0;
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_SCHEDULER_H_
