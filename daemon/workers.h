// A fixed pool of worker threads taking jobs first in, first out. The per-VM share and the
// round-robin over VMs of CONTRACT.md "Execution" come with the scheduler issue; this pool is
// the plain version the pipeline needs now.
//
// The threads live as long as the pool: PR_SET_PDEATHSIG fires when the thread that forked a
// child exits (daemon/processes.h), so no worker may be short-lived.
// Thread safety: Submit, WaitIdle and Pending may be called from any thread.
#ifndef QVMR_DAEMON_WORKERS_H_
#define QVMR_DAEMON_WORKERS_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace qvmr {

class WorkerPool {
 public:
  // REQUIRES: threads >= 1.
  explicit WorkerPool(std::size_t threads);
  // Runs every job already submitted, then joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Submit(std::function<void()> job);
  // Blocks until no job is queued or running.
  void WaitIdle();
  // Jobs queued or running.
  std::size_t Pending() const;

 private:
  void Loop();

  mutable std::mutex mu_;
  std::condition_variable work_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> queue_;
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_WORKERS_H_
