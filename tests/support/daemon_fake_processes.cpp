#include "tests/support/daemon_fake_processes.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <climits>

namespace qvmr::testing {

FakeProcesses::~FakeProcesses() {
  for (auto& [pid, child] : children_) close(child.event_fd);
}

void FakeProcesses::On(const std::string& path, Script script) {
  std::lock_guard<std::mutex> lock(mu_);
  scripts_[path] = std::move(script);
}

MonotonicMs FakeProcesses::NowMonotonicMs() {
  return Processes::Posix()->NowMonotonicMs();
}

void FakeProcesses::ExitLocked(FakeChild& child, ExitState exit) {
  if (child.exited) return;
  child.exited = true;
  child.exit = exit;
  const std::uint64_t one = 1;
  (void)!write(child.event_fd, &one, sizeof one);
}

SpawnResult FakeProcesses::Spawn(const SpawnSpec& spec) {
  std::lock_guard<std::mutex> lock(mu_);
  spawns_.push_back(spec);
  Script script;
  if (!spec.argv.empty()) {
    if (auto it = scripts_.find(spec.argv[0]); it != scripts_.end()) script = it->second;
  }
  SpawnResult result;
  result.kind = script.kind;
  result.error_number = script.error_number;
  if (script.kind != SpawnResult::Kind::kStarted) return result;
  if (!script.stdout_text.empty()) {
    (void)!write(spec.stdout_fd, script.stdout_text.data(), script.stdout_text.size());
  }
  if (!script.stderr_text.empty()) {
    (void)!write(spec.stderr_fd, script.stderr_text.data(), script.stderr_text.size());
  }
  const pid_t pid = next_pid_++;
  FakeChild& child = children_[pid];
  child.event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (!script.runs_until_signaled) ExitLocked(child, script.exit);
  result.child = Child{pid, child.event_fd};
  return result;
}

std::optional<ExitState> FakeProcesses::Peek(const Child& child) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(child.pid);
  if (it == children_.end() || !it->second.exited) return std::nullopt;
  return it->second.exit;
}

std::optional<ExitState> FakeProcesses::WaitUntil(const Child& child, MonotonicMs deadline) {
  for (;;) {
    if (auto exit = Peek(child)) return exit;
    const MonotonicMs left = deadline - NowMonotonicMs();
    if (left <= 0) return std::nullopt;
    pollfd p = {child.pidfd, POLLIN, 0};
    poll(&p, 1, left > INT_MAX ? INT_MAX : static_cast<int>(left));
  }
}

void FakeProcesses::Signal(const KillTree& tree, int signal) {
  std::lock_guard<std::mutex> lock(mu_);
  signals_.emplace_back(tree, signal);
  for (pid_t group : tree.process_groups) {
    if (auto it = children_.find(group); it != children_.end()) {
      ExitLocked(it->second, ExitState{true, signal});
    }
  }
}

ExitState FakeProcesses::Release(Child& child) {
  std::lock_guard<std::mutex> lock(mu_);
  ExitState exit;
  if (auto it = children_.find(child.pid); it != children_.end()) {
    // A real Release waits; a fake child that never got a signal is reported as killed.
    exit = it->second.exited ? it->second.exit : ExitState{true, 9};
    close(it->second.event_fd);
    children_.erase(it);
  }
  child = Child{};
  return exit;
}

std::vector<SpawnSpec> FakeProcesses::spawns() const {
  std::lock_guard<std::mutex> lock(mu_);
  return spawns_;
}

std::vector<std::pair<KillTree, int>> FakeProcesses::signals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return signals_;
}

std::size_t FakeProcesses::unreleased() const {
  std::lock_guard<std::mutex> lock(mu_);
  return children_.size();
}

}  // namespace qvmr::testing
