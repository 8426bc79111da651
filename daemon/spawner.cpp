#include "daemon/spawner.h"

#include <pthread.h>
#include <signal.h>

#include <thread>

namespace qvmr {

Spawner& Spawner::Instance() {
  static Spawner* const spawner = [] {
    Spawner* made = new Spawner();
    // The new thread inherits this mask: block everything while creating it, then restore ours.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    std::thread(&Spawner::Loop, made).detach();
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return made;
  }();
  return *spawner;
}

void Spawner::Run(const std::function<void()>& step) {
  std::lock_guard<std::mutex> one_at_a_time(call_mu_);
  std::unique_lock<std::mutex> lock(mu_);
  task_ = &step;
  done_ = false;
  cv_.notify_all();
  cv_.wait(lock, [this] { return done_; });
}

void Spawner::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return task_ != nullptr; });
    const std::function<void()>* task = task_;
    // Never fork holding a lock another thread may wait on: the child would inherit it taken.
    lock.unlock();
    (*task)();
    lock.lock();
    task_ = nullptr;
    done_ = true;
    cv_.notify_all();
  }
}

}  // namespace qvmr
