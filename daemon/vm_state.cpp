#include "daemon/vm_state.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/exec_path.h"
#include "engine/base/excerpt.h"
#include "engine/base/vm_name.h"

namespace qvmr {
namespace {

constexpr std::size_t kMaxStateWordBytes = 32;

VmState StateFromWord(std::string_view word) {
  if (word == "Running") return VmState::kRunning;
  if (word == "Paused") return VmState::kPaused;
  if (word == "Halted") return VmState::kHalted;
  return VmState::kOther;
}

bool IsStateWord(std::string_view word) {
  if (word.empty() || word.size() > kMaxStateWordBytes) return false;
  for (char c : word) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

struct Captured {
  bool started = false;
  bool timed_out = false;
  bool too_large = false;
  ExitState exit;
  std::string out;
  std::string error;  // why it did not start
};

// Runs `argv` with stdin from /dev/null and stderr discarded (a dom0 tool's complaint says
// nothing the exit status does not), keeps at most `max_out` bytes of stdout (more: too_large,
// and the tool is killed), and kills it at the deadline.
Captured RunCaptured(Processes& processes, std::vector<std::string> argv,
                     std::vector<std::string> env, MonotonicMs limit_ms, std::size_t max_out) {
  Captured c;
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  int out[2];
  if (null_fd < 0 || ::pipe2(out, O_CLOEXEC | O_NONBLOCK) != 0) {
    c.error = std::strerror(errno);
    if (null_fd >= 0) ::close(null_fd);
    return c;
  }
  SpawnResult spawned =
      processes.Spawn(SpawnSpec{std::move(argv), std::move(env), null_fd, out[1], null_fd});
  ::close(out[1]);
  ::close(null_fd);
  if (spawned.kind != SpawnResult::Kind::kStarted) {
    c.error = std::strerror(spawned.error_number);
    ::close(out[0]);
    return c;
  }
  c.started = true;
  Child child = spawned.child;
  const MonotonicMs deadline = processes.NowMonotonicMs() + limit_ms;
  char buf[16384];
  int fd = out[0];
  while (fd >= 0) {
    MonotonicMs left = deadline - processes.NowMonotonicMs();
    if (left <= 0) {
      c.timed_out = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::min<MonotonicMs>(left, 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got > 0) {
      if (c.out.size() + static_cast<std::size_t>(got) > max_out) {
        c.too_large = true;
        break;
      }
      c.out.append(buf, static_cast<std::size_t>(got));
    } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
      break;
    }
  }
  ::close(fd);
  // Whatever the tool does after closing its stdout (or failing to), it ends here.
  std::optional<ExitState> exit;
  if (!c.timed_out && !c.too_large) {
    exit = processes.WaitUntil(child, std::max(processes.NowMonotonicMs(), deadline));
  }
  if (!exit) {
    if (!c.too_large) c.timed_out = true;
    processes.Signal(KillTree{{child.pid}}, SIGKILL);
  }
  c.exit = processes.Release(child);
  return c;
}

}  // namespace

std::string_view VmStateName(VmState state) {
  switch (state) {
    case VmState::kRunning:
      return "Running";
    case VmState::kPaused:
      return "Paused";
    case VmState::kHalted:
      return "Halted";
    case VmState::kOther:
      return "other";
    case VmState::kMissing:
      return "missing";
    case VmState::kUnknown:
      return "unknown";
  }
  return "unknown";
}

Result<VmStateTable> ParseVmStates(std::string_view output) {
  if (output.size() > kMaxQvmLsOutputBytes) {
    return MakeError("qvm-ls-too-large", "qvm-ls printed more than 1 MiB");
  }
  VmStateTable table;
  std::size_t pos = 0;
  while (pos < output.size()) {
    std::size_t nl = output.find('\n', pos);
    if (nl == std::string_view::npos) {
      // A last line without its newline: the output was cut; its state word may be cut too
      // ("Run" of "Running"), so it is not believed.
      ++table.ignored_lines;
      break;
    }
    std::string_view line = output.substr(pos, nl - pos);
    pos = nl + 1;
    std::size_t bar = line.find('|');
    if (bar == std::string_view::npos) {
      ++table.ignored_lines;
      continue;
    }
    std::string_view name = line.substr(0, bar);
    std::string_view word = line.substr(bar + 1);
    if (!IsValidVmName(name) || !IsStateWord(word)) {
      ++table.ignored_lines;
      continue;
    }
    VmState state = StateFromWord(word);
    auto it = table.states.find(name);
    if (it != table.states.end()) {
      if (it->second != state) it->second = VmState::kOther;
      continue;
    }
    if (table.states.size() >= kMaxQvmLsVms) {
      return MakeError("qvm-ls-too-large", "qvm-ls listed more than 10000 VMs");
    }
    table.states.emplace(std::string(name), state);
  }
  if (table.states.empty()) {
    return MakeError("qvm-ls-empty", "qvm-ls listed no VM in NAME|STATE form (" +
                                         std::to_string(table.ignored_lines) + " other lines)");
  }
  return table;
}

Result<std::unique_ptr<VmStateOracle>> VmStateOracle::Create(Processes* processes,
                                                             VmStateOptions options) {
  ExecPath path = ExecPath::Parse(options.search_path);
  ProgramLookup ls = path.Lookup("qvm-ls");
  if (ls.kind != ProgramLookup::Kind::kFound) {
    return MakeError("no-qvm-ls", "qvm-ls is not an executable file in any directory of PATH (" +
                                      Excerpt(options.search_path, 200) + ")");
  }
  ProgramLookup check = path.Lookup("qvm-check");
  std::string check_path = check.kind == ProgramLookup::Kind::kFound ? check.path : "";
  return std::unique_ptr<VmStateOracle>(
      new VmStateOracle(processes, std::move(options), ls.path, std::move(check_path)));
}

VmStateOracle::VmStateOracle(Processes* processes, VmStateOptions options, std::string qvm_ls,
                             std::string qvm_check)
    : processes_(processes),
      options_(std::move(options)),
      qvm_ls_(std::move(qvm_ls)),
      qvm_check_(std::move(qvm_check)),
      path_env_("PATH=" + ExecPath::Parse(options_.search_path).Joined()) {}

bool VmStateOracle::StaleLocked(MonotonicMs at, MonotonicMs now) const {
  return refresh_requested_ || now - at >= options_.max_age_ms || now < at;
}

void VmStateOracle::RefreshLocked(MonotonicMs now) {
  ++qvm_ls_calls_;
  Captured c = RunCaptured(*processes_, {qvm_ls_, "--raw-data", "--fields", "NAME,STATE"},
                           {path_env_, "LANG=C"}, options_.call_limit_ms, kMaxQvmLsOutputBytes);
  refreshed_at_ = now;
  refresh_requested_ = false;
  checked_.clear();
  Status status = Ok{};
  if (!c.started) {
    status = MakeError("qvm-ls-failed", "cannot start qvm-ls: " + c.error);
  } else if (c.timed_out) {
    status = MakeError("qvm-ls-failed", "qvm-ls did not finish in time");
  } else if (c.too_large) {
    status = MakeError("qvm-ls-too-large", "qvm-ls printed more than 1 MiB");
  } else if (c.exit.signaled || c.exit.code != 0) {
    status =
        MakeError("qvm-ls-failed", "qvm-ls exited with status " + std::to_string(c.exit.Status()));
  } else {
    auto parsed = ParseVmStates(c.out);
    if (parsed) {
      table_ = std::move(*parsed);
      have_table_ = true;
      last_status_ = Ok{};
      return;
    }
    status = parsed.error();
  }
  // No table rather than an old one: a VM halted or paused since would get a call that hangs.
  have_table_ = false;
  table_ = VmStateTable{};
  last_status_ = status;
}

VmState VmStateOracle::CheckLocked(const std::string& vm) {
  auto run = [&](const char* flag) -> std::optional<int> {
    ++qvm_check_calls_;
    Captured c = RunCaptured(*processes_, {qvm_check_, "--quiet", flag, vm}, {path_env_, "LANG=C"},
                             options_.call_limit_ms, 4096);
    if (!c.started || c.timed_out || c.too_large || c.exit.signaled) return std::nullopt;
    return c.exit.code;
  };
  // As qubesadmin's is_running(): --running holds for a paused VM too, so both are asked.
  std::optional<int> running = run("--running");
  if (!running) return VmState::kUnknown;
  if (*running == 1) return VmState::kHalted;
  if (*running != 0) return VmState::kUnknown;
  std::optional<int> paused = run("--paused");
  if (!paused) return VmState::kUnknown;
  if (*paused == 0) return VmState::kPaused;
  return *paused == 1 ? VmState::kRunning : VmState::kUnknown;
}

VmState VmStateOracle::Get(const std::string& vm) {
  std::lock_guard<std::mutex> lock(mu_);
  const MonotonicMs now = processes_->NowMonotonicMs();
  if (StaleLocked(refreshed_at_, now)) RefreshLocked(now);
  if (have_table_) {
    auto it = table_.states.find(vm);
    return it == table_.states.end() ? VmState::kMissing : it->second;
  }
  if (!options_.fallback_to_qvm_check || qvm_check_.empty()) return VmState::kUnknown;
  auto it = checked_.find(vm);
  if (it != checked_.end() && now - it->second.at < options_.max_age_ms) return it->second.state;
  VmState state = CheckLocked(vm);
  checked_[vm] = Cached{state, now};
  return state;
}

void VmStateOracle::RequestRefresh() {
  std::lock_guard<std::mutex> lock(mu_);
  refresh_requested_ = true;
}

Status VmStateOracle::last_status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_status_;
}

std::uint64_t VmStateOracle::qvm_ls_calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return qvm_ls_calls_;
}

std::uint64_t VmStateOracle::qvm_check_calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return qvm_check_calls_;
}

}  // namespace qvmr
