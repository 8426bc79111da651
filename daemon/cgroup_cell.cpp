// CgroupCell: mkdir, limits, join descriptors, kill and drain, rmdir.
#include "daemon/cgroup_cell.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace qvmr {
namespace {

constexpr std::size_t kMaxControlFileBytes = 64 * 1024;
constexpr long kDrainPollNs = 10 * 1000 * 1000;

std::string Join(const std::string& dir, std::string_view file) {
  return dir + "/" + std::string(file);
}

void SleepNs(long ns) {
  struct timespec ts = {0, ns};
  nanosleep(&ts, nullptr);
}

}  // namespace

std::optional<std::string> OwnCgroupPath(const std::string& proc_self_cgroup,
                                         std::string_view controller) {
  std::ifstream in(proc_self_cgroup);
  std::string line;
  while (std::getline(in, line)) {
    // "hierarchy-id:controller,list:/path"
    const std::size_t first = line.find(':');
    const std::size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string_view controllers =
        std::string_view(line).substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (controller.empty()) {
      if (line.compare(0, first, "0") == 0 && controllers.empty()) return path;
      continue;
    }
    std::size_t start = 0;
    while (start <= controllers.size()) {
      std::size_t end = controllers.find(',', start);
      if (end == std::string_view::npos) end = controllers.size();
      if (controllers.substr(start, end - start) == controller) return path;
      start = end + 1;
    }
  }
  return std::nullopt;
}

Status WriteCgroupFile(const std::string& dir, std::string_view file, std::string_view value) {
  const std::string path = Join(dir, file);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return MakeError("cgroup", path + ": " + std::strerror(errno));
  const ssize_t wrote = write(fd, value.data(), value.size());
  const int write_errno = errno;
  close(fd);
  if (wrote != static_cast<ssize_t>(value.size())) {
    return MakeError("cgroup", path + ": " + std::strerror(wrote < 0 ? write_errno : EIO));
  }
  return Ok{};
}

Result<std::string> ReadCgroupFile(const std::string& dir, std::string_view file) {
  const std::string path = Join(dir, file);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return MakeError("cgroup", path + ": " + std::strerror(errno));
  std::string out;
  char buffer[4096];
  for (;;) {
    const ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    out.append(buffer, static_cast<std::size_t>(got));
    if (out.size() >= kMaxControlFileBytes) break;
  }
  close(fd);
  return out;
}

std::vector<pid_t> CgroupMembers(const std::string& dir) {
  std::vector<pid_t> pids;
  auto text = ReadCgroupFile(dir, "cgroup.procs");
  if (!text.ok()) return pids;
  long value = 0;
  bool in_number = false;
  for (char c : *text) {
    if (c >= '0' && c <= '9') {
      value = value * 10 + (c - '0');
      in_number = true;
    } else {
      if (in_number && value > 0) pids.push_back(static_cast<pid_t>(value));
      value = 0;
      in_number = false;
    }
  }
  if (in_number && value > 0) pids.push_back(static_cast<pid_t>(value));
  return pids;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<int> SweepCgroups(const std::string& base, const std::string& prefix) {
  DIR* dir = opendir(base.c_str());
  if (dir == nullptr) return 0;
  std::vector<std::string> stale;
  while (struct dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.compare(0, prefix.size(), prefix) == 0 && name != prefix + "daemon") {
      stale.push_back(base + "/" + name);
    }
  }
  closedir(dir);
  std::string failed;
  int removed = 0;
  for (const std::string& path : stale) {
    if (!IsDirectory(path)) continue;
    const long rounds = kCellDrainMs * 1000000L / kDrainPollNs;
    for (long round = 0; round < rounds && !CgroupMembers(path).empty(); ++round) {
      if (!WriteCgroupFile(path, "cgroup.kill", "1").ok()) {
        for (pid_t pid : CgroupMembers(path)) kill(pid, SIGKILL);
      }
      SleepNs(kDrainPollNs);
    }
    if (rmdir(path.c_str()) == 0) {
      ++removed;
    } else {
      failed += path + ": " + std::strerror(errno) + "; ";
    }
  }
  if (!failed.empty()) return MakeError("cgroup", failed);
  return removed;
}

Result<std::unique_ptr<Cell>> CgroupCell::Make(std::vector<CgroupDirSpec> dirs,
                                               std::string members_dir, std::string kill_dir,
                                               std::uint64_t rlimit_as_bytes, std::string tmpdir) {
  std::unique_ptr<CgroupCell> cell(new CgroupCell());
  cell->members_dir_ = std::move(members_dir);
  cell->kill_dir_ = std::move(kill_dir);
  cell->tmpdir_ = std::move(tmpdir);
  cell->entry_.address_space_bytes = rlimit_as_bytes;
  if (dirs.size() > static_cast<std::size_t>(CellEntry::kMaxJoinFds)) {
    return MakeError("cgroup", "too many cgroup hierarchies");
  }
  for (const CgroupDirSpec& dir : dirs) {
    if (mkdir(dir.path.c_str(), 0755) != 0) {
      if (errno != EEXIST) {
        const std::string message = dir.path + ": " + std::strerror(errno);
        (void)cell->Close();
        return MakeError("cgroup", message);
      }
    }
    cell->dirs_.push_back(dir.path);
    for (const CgroupDirSpec::Setting& setting : dir.settings) {
      Status wrote = WriteCgroupFile(dir.path, setting.file, setting.value);
      if (!wrote.ok() && setting.required) {
        (void)cell->Close();
        return wrote.error();
      }
    }
    const std::string procs = Join(dir.path, "cgroup.procs");
    const int fd = open(procs.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      const std::string message = procs + ": " + std::strerror(errno);
      (void)cell->Close();
      return MakeError("cgroup", message);
    }
    cell->entry_.join_fds[cell->entry_.join_count++] = fd;
  }
  // A directory that already existed may hold a crashed daemon's leftovers: they die now.
  if (!cell->Empty()) cell->Signal(SIGKILL);
  return std::unique_ptr<Cell>(std::move(cell));
}

CgroupCell::~CgroupCell() {
  (void)Close();
}

void CgroupCell::Signal(int signal) {
  if (signal == SIGKILL && !kill_dir_.empty()) {
    // Atomic: the kernel kills every member, including ones forking right now.
    if (WriteCgroupFile(kill_dir_, "cgroup.kill", "1").ok()) return;
  }
  // One pass over the members; a member forking meanwhile is caught by the next pass (Close
  // repeats) and pids.max bounds how many there can be.
  for (pid_t pid : CgroupMembers(members_dir_)) kill(pid, signal);
}

bool CgroupCell::Empty() {
  return CgroupMembers(members_dir_).empty();
}

std::string CgroupCell::Describe() const {
  std::string out;
  for (const std::string& dir : dirs_) out += (out.empty() ? "" : ",") + dir;
  return out;
}

Status CgroupCell::Close() {
  if (closed_) return Ok{};
  closed_ = true;
  for (int i = 0; i < entry_.join_count; ++i) close(entry_.join_fds[i]);
  entry_.join_count = 0;
  std::string failed;
  if (!members_dir_.empty() && IsDirectory(members_dir_)) {
    const long rounds = kCellDrainMs * 1000000L / kDrainPollNs;
    for (long round = 0; round < rounds && !Empty(); ++round) {
      Signal(SIGKILL);
      SleepNs(kDrainPollNs);
    }
    if (!Empty()) failed += members_dir_ + ": processes survived SIGKILL; ";
  }
  for (auto dir = dirs_.rbegin(); dir != dirs_.rend(); ++dir) {
    if (rmdir(dir->c_str()) != 0 && errno != ENOENT) {
      failed += *dir + ": " + std::strerror(errno) + "; ";
    }
  }
  if (!tmpdir_.empty()) {
    Status removed = RemoveTree(tmpdir_);
    if (!removed.ok()) failed += removed.error().message + "; ";
  }
  if (!failed.empty()) return MakeError("cgroup", failed);
  return Ok{};
}

}  // namespace qvmr
