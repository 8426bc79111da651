#include "daemon/started_cell.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string_view>

namespace qvmr {
namespace {

// Reads at most `limit` bytes of a small kernel file; nullopt if it cannot be opened.
std::optional<std::string> ReadSmall(const std::string& path, std::size_t limit) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buffer[4096];
  while (out.size() < limit) {
    ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    out.append(buffer, static_cast<std::size_t>(got));
  }
  close(fd);
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::optional<std::int64_t> ParsePositive(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 1) return std::nullopt;
  return value;
}

bool LeaderIsTheSame(pid_t pid, std::uint64_t start_time, const std::string& proc_root) {
  auto now = ProcessStartTime(pid, proc_root);
  return now && start_time != 0 && *now == start_time;
}

void KillCgroup(const std::string& dir) {
  // A cgroup directory name never holds "..": it is "<base>/qvmr-<instance>-<cell id>".
  if (dir.empty() || dir[0] != '/' || dir.find("/..") != std::string::npos) return;
  int fd = open((dir + "/cgroup.kill").c_str(), O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t wrote = write(fd, "1", 1);
    close(fd);
    if (wrote == 1) return;
  }
  // v1 (or a v2 without cgroup.kill): kill by listing; a fork racing this is caught by the
  // start-time sweep of the cgroups (Containment::SweepLeftovers).
  for (int round = 0; round < 16; ++round) {
    auto procs = ReadSmall(dir + "/cgroup.procs", 1 << 20);
    if (!procs || procs->empty()) return;
    std::string_view rest = *procs;
    while (!rest.empty()) {
      std::size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      if (auto pid = ParsePositive(line)) kill(static_cast<pid_t>(*pid), SIGKILL);
    }
  }
}

}  // namespace

std::string StartedContainmentId(ContainmentKind kind, const Cell* cell, pid_t leader) {
  if (cell != nullptr && (kind == ContainmentKind::kCgroup2 || kind == ContainmentKind::kHybrid)) {
    return "cgroup:" + cell->Describe();
  }
  if (cell != nullptr && kind == ContainmentKind::kPidns) {
    return "pidns:" + std::to_string(leader);
  }
  return "pgid:" + std::to_string(leader);  // every spawned child leads its own group
}

std::optional<std::uint64_t> ProcessStartTime(pid_t pid, const std::string& proc_root) {
  if (pid <= 0) return std::nullopt;
  auto stat = ReadSmall(proc_root + "/" + std::to_string(pid) + "/stat", 4096);
  if (!stat) return std::nullopt;
  // "pid (comm) state ppid ...": comm may hold spaces and ')' — the fields start after the last.
  std::size_t close_paren = stat->rfind(')');
  if (close_paren == std::string::npos) return std::nullopt;
  std::string_view rest = std::string_view(*stat).substr(close_paren + 1);
  // Fields 3.. follow; starttime is field 22, the 20th after the ')'.
  for (int field = 3; field <= 22; ++field) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    std::size_t end = rest.find(' ');
    std::string_view value = rest.substr(0, end);
    if (field == 22) {
      std::uint64_t ticks = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), ticks);
      if (ec != std::errc() || value.empty()) return std::nullopt;
      (void)p;
      return ticks;
    }
    if (end == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(end);
  }
  return std::nullopt;
}

LeftoverKill KillStartedLeftovers(const std::string& containment_id,
                                  std::uint64_t leader_start_time, const std::string& proc_root) {
  std::string_view id = containment_id;
  if (id.starts_with("cgroup:")) {
    id.remove_prefix(7);
    if (id.empty()) return LeftoverKill::kUnrecognised;
    while (!id.empty()) {
      std::size_t comma = id.find(',');
      KillCgroup(std::string(id.substr(0, comma)));
      id = comma == std::string_view::npos ? std::string_view() : id.substr(comma + 1);
    }
    return LeftoverKill::kKilled;
  }
  bool pidns = false;
  if (id.starts_with("pidns:")) {
    pidns = true;
    id.remove_prefix(6);
  } else if (id.starts_with("pgid:")) {
    id.remove_prefix(5);
  }
  auto leader = ParsePositive(id);
  if (!leader) return LeftoverKill::kUnrecognised;
  const pid_t pid = static_cast<pid_t>(*leader);
  if (!LeaderIsTheSame(pid, leader_start_time, proc_root)) return LeftoverKill::kNotOurs;
  kill(pidns ? pid : -pid, SIGKILL);
  return LeftoverKill::kKilled;
}

}  // namespace qvmr
