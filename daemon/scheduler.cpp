#include "daemon/scheduler.h"

#include <algorithm>
#include <chrono>

namespace qvmr {

Scheduler::Scheduler(std::size_t workers) : share_(std::max<std::size_t>(1, workers / 2)) {
  for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { Loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_.notify_all();
  for (auto& t : threads_) t.join();
}

void Scheduler::Submit(const std::string& vm, std::int64_t order, std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    vms_[vm].waiting.emplace(std::make_pair(order, seq_++), Job{std::move(job)});
    ++queued_;
  }
  work_.notify_one();
}

std::size_t Scheduler::FreeShare(const std::string& vm) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = vms_.find(vm);
  const std::size_t held = it == vms_.end() ? 0 : it->second.waiting.size() + it->second.running;
  return held >= share_ ? 0 : share_ - held;
}

std::size_t Scheduler::WaitForFreeShare(const std::string& vm, std::int64_t timeout_ms) const {
  std::unique_lock<std::mutex> lock(mu_);
  auto held = [&] {
    auto it = vms_.find(vm);
    return it == vms_.end() ? std::size_t{0} : it->second.waiting.size() + it->second.running;
  };
  changed_.wait_for(lock, std::chrono::milliseconds(std::max<std::int64_t>(timeout_ms, 0)),
                    [&] { return held() < share_; });
  const std::size_t h = held();
  return h >= share_ ? 0 : share_ - h;
}

std::size_t Scheduler::Pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_ + running_;
}

std::size_t Scheduler::Pending(const std::string& vm) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = vms_.find(vm);
  return it == vms_.end() ? 0 : it->second.waiting.size() + it->second.running;
}

std::size_t Scheduler::Running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

void Scheduler::WaitIdle() const {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return IdleLocked(); });
}

bool Scheduler::WaitIdleFor(std::int64_t timeout_ms) const {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, std::chrono::milliseconds(std::max<std::int64_t>(timeout_ms, 0)),
                           [this] { return IdleLocked(); });
}

std::size_t Scheduler::DropQueued() {
  std::size_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [vm, q] : vms_) {
      dropped += q.waiting.size();
      q.waiting.clear();
    }
    queued_ = 0;
  }
  changed_.notify_all();
  return dropped;
}

bool Scheduler::PickLocked(std::string* vm, Job* job) {
  if (queued_ == 0 || vms_.empty()) return false;
  // Round-robin: start with the VM after the one served last, wrap around once.
  auto start = vms_.upper_bound(last_served_);
  for (std::size_t i = 0; i < vms_.size(); ++i) {
    if (start == vms_.end()) start = vms_.begin();
    VmQueue& q = start->second;
    if (!q.waiting.empty() && q.running < share_) {
      auto first = q.waiting.begin();
      *job = std::move(first->second);
      q.waiting.erase(first);
      ++q.running;
      --queued_;
      ++running_;
      *vm = start->first;
      last_served_ = start->first;
      return true;
    }
    ++start;
  }
  return false;
}

void Scheduler::Loop() {
  while (true) {
    std::string vm;
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_.wait(lock, [&] { return PickLocked(&vm, &job) || (stopping_ && queued_ == 0); });
      if (!job.run) return;  // stopping, and everything submitted has run
    }
    changed_.notify_all();
    job.run();
    {
      std::lock_guard<std::mutex> lock(mu_);
      VmQueue& q = vms_[vm];
      --q.running;
      --running_;
      // A VM with nothing left is forgotten, so the map holds only VMs with work.
      if (q.running == 0 && q.waiting.empty()) vms_.erase(vm);
    }
    changed_.notify_all();
    // A job of this VM may have waited only for its share: wake a worker for it.
    work_.notify_all();
  }
}

}  // namespace qvmr
