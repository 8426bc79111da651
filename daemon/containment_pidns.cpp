// A PID namespace per command (root without a writable cgroup): the command's first process is
// made with clone(CLONE_NEWPID) and becomes the namespace's init; when it dies the kernel kills
// every other member and waits for them, so "the main process exited" already means "the tree is
// gone". Members are found by their /proc/<pid>/ns/pid link.
//
// Limits, said plainly: a namespace bounds no fork bomb (there is no pids.max) — use a cgroup
// mechanism where one exists; the memory cap is RLIMIT_AS per process. Init ignores signals it
// has no handler for, so SIGTERM at the deadline reaches the other members and the init gets the
// SIGKILL 2 s later.
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "daemon/containment.h"

namespace qvmr {
namespace {

constexpr long kDrainPollNs = 10 * 1000 * 1000;

std::string PidNamespaceOf(pid_t pid) {
  const std::string link = "/proc/" + std::to_string(pid) + "/ns/pid";
  char target[128];
  const ssize_t got = readlink(link.c_str(), target, sizeof target - 1);
  if (got <= 0) return std::string();
  return std::string(target, static_cast<std::size_t>(got));
}

// Every live process whose PID namespace is `ns`.
std::vector<pid_t> MembersOf(const std::string& ns) {
  std::vector<pid_t> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (struct dirent* entry = readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (pid <= 0 || end == nullptr || *end != '\0') continue;
    if (PidNamespaceOf(static_cast<pid_t>(pid)) == ns) out.push_back(static_cast<pid_t>(pid));
  }
  closedir(proc);
  return out;
}

class PidnsCell : public Cell {
 public:
  explicit PidnsCell(std::uint64_t memory_bytes, std::string tmpdir) : tmpdir_(std::move(tmpdir)) {
    entry_.new_pid_namespace = true;
    entry_.address_space_bytes = memory_bytes;
  }
  ~PidnsCell() override { (void)Close(); }

  const CellEntry& entry() const override { return entry_; }
  const std::string& tmpdir() const override { return tmpdir_; }

  void Adopt(pid_t pid) override {
    const std::string ns = PidNamespaceOf(pid);
    if (!ns.empty()) namespaces_.push_back(ns);
  }

  void Signal(int signal) override {
    for (const std::string& ns : namespaces_) {
      // Only processes seen in the namespace right now: a recycled pid is never signalled.
      for (pid_t pid : MembersOf(ns)) kill(pid, signal);
    }
  }

  bool Empty() override {
    for (const std::string& ns : namespaces_) {
      if (!MembersOf(ns).empty()) return false;
    }
    return true;
  }

  std::string Describe() const override {
    std::string out = "pidns";
    for (const std::string& ns : namespaces_) out += " " + ns;
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
    if (!Empty()) failed += "processes survived SIGKILL; ";
    if (!tmpdir_.empty()) {
      Status removed = RemoveTree(tmpdir_);
      if (!removed.ok()) failed += removed.error().message;
    }
    if (!failed.empty()) return MakeError("pidns", failed);
    return Ok{};
  }

 private:
  CellEntry entry_;
  std::string tmpdir_;
  std::vector<std::string> namespaces_;
  bool closed_ = false;
};

class PidnsContainment : public Containment {
 public:
  explicit PidnsContainment(const ContainmentOptions& options) : options_(options) {}
  ContainmentKind kind() const override { return ContainmentKind::kPidns; }
  std::string Describe() const override {
    return "pidns: a PID namespace per command (no fork-bomb bound; memory cap by RLIMIT_AS per "
           "process)";
  }
  // Leftover processes died with the daemon (PR_SET_PDEATHSIG); only TMPDIRs can remain.
  Result<int> SweepLeftovers() override { return SweepPrivateTmps(options_); }

  Result<std::unique_ptr<Cell>> NewCell(std::string_view cid) override {
    auto tmp = MakePrivateTmp(options_, cid);
    if (!tmp.ok()) return tmp.error();
    return std::unique_ptr<Cell>(new PidnsCell(options_.max_memory_bytes, *tmp));
  }

 private:
  ContainmentOptions options_;
};

}  // namespace

Result<std::unique_ptr<Containment>> NewPidnsContainment(const ContainmentOptions& options) {
  // Probe: can this process make a namespace (root, no seccomp filter refusing it)?
  CellEntry probe;
  probe.new_pid_namespace = true;
  const pid_t pid = ForkIntoCell(probe);
  if (pid == 0) _exit(getpid() == 1 ? 0 : 1);
  if (pid < 0) {
    return MakeError("containment-unavailable",
                     std::string("clone(CLONE_NEWPID): ") + std::strerror(errno));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return MakeError("containment-unavailable", "the PID namespace probe failed");
  }
  return std::unique_ptr<Containment>(new PidnsContainment(options));
}

}  // namespace qvmr
