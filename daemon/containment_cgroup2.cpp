// Pure cgroup v2 with a delegated subtree (real dom0: Fedora's systemd, the unit asks for
// Delegate=yes). The daemon's own cgroup becomes the parent of one cgroup per command:
//   1. v2's "no internal processes" rule forbids enabling controllers for the children of a
//      cgroup that itself holds processes, so the daemon first moves into a leaf
//      `qvmr-<instance>-daemon` (every process listed in its cgroup: under Delegate=yes they are
//      the daemon's own);
//   2. it enables pids (required), memory and cpu (where delegated) in cgroup.subtree_control;
//   3. each command's cgroup `qvmr-<instance>-<cid>` gets pids.max, memory.max (swap 0) and
//      cpu.max, and cgroup.kill ends it.
// The cgroup root and /proc/self/cgroup are injectable, so tests drive this against a fake tree.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "daemon/cgroup_cell.h"
#include "daemon/containment.h"

namespace qvmr {
namespace {

constexpr int kCpuPeriodUs = 100000;

std::set<std::string> Words(const std::string& text) {
  std::set<std::string> words;
  std::string word;
  for (char c : text + " ") {
    if (c == ' ' || c == '\n' || c == '\t') {
      if (!word.empty() && word[0] == '+') word.erase(0, 1);
      if (!word.empty()) words.insert(word);
      word.clear();
    } else {
      word += c;
    }
  }
  return words;
}

class Cgroup2Containment : public Containment {
 public:
  explicit Cgroup2Containment(const ContainmentOptions& options) : options_(options) {}

  Status SetUp() {
    if (!IsDirectory(options_.cgroup_root) ||
        access((options_.cgroup_root + "/cgroup.controllers").c_str(), F_OK) != 0) {
      return MakeError("containment-unavailable",
                       options_.cgroup_root + " is not a cgroup v2 mount");
    }
    auto own = OwnCgroupPath(options_.proc_self_cgroup, "");
    if (!own) return MakeError("containment-unavailable", "no v2 line in /proc/self/cgroup");
    base_ = options_.cgroup_root + (*own == "/" ? "" : *own);
    auto controllers = ReadCgroupFile(base_, "cgroup.controllers");
    if (!controllers.ok() || Words(*controllers).count("pids") == 0) {
      return MakeError("containment-unavailable",
                       base_ + ": the pids controller is not delegated here");
    }
    const std::string prefix = "qvmr-" + options_.instance;
    // 1. The daemon leaves its cgroup for a leaf.
    const std::vector<pid_t> residents = CgroupMembers(base_);
    if (!residents.empty()) {
      leaf_ = base_ + "/" + prefix + "-daemon";
      if (mkdir(leaf_.c_str(), 0755) != 0 && errno != EEXIST) {
        return MakeError("containment-unavailable", leaf_ + ": " + std::strerror(errno));
      }
      for (pid_t pid : residents) {
        Status moved = WriteCgroupFile(leaf_, "cgroup.procs", std::to_string(pid));
        if (!moved.ok() && pid == getpid()) {
          return MakeError("containment-unavailable", moved.error().message);
        }
      }
    }
    // 2. Controllers for the commands' cgroups: all at once, else one by one.
    if (!WriteCgroupFile(base_, "cgroup.subtree_control", "+pids +memory +cpu").ok()) {
      for (const char* controller : {"+pids", "+memory", "+cpu"}) {
        (void)WriteCgroupFile(base_, "cgroup.subtree_control", controller);
      }
    }
    auto enabled = ReadCgroupFile(base_, "cgroup.subtree_control");
    const std::set<std::string> words = enabled.ok() ? Words(*enabled) : std::set<std::string>();
    if (words.count("pids") == 0) {
      return MakeError("containment-unavailable", base_ + ": could not enable the pids controller");
    }
    memory_ = words.count("memory") != 0;
    cpu_ = words.count("cpu") != 0;
    return Ok{};
  }

  ContainmentKind kind() const override { return ContainmentKind::kCgroup2; }

  std::string Describe() const override {
    std::string out = "cgroup2: per-command cgroups under " + base_ + " (pids.max " +
                      std::to_string(options_.max_pids) + ", cgroup.kill";
    out += memory_ ? ", memory.max" : ", memory cap by RLIMIT_AS per process";
    out += cpu_ ? ", cpu.max)" : ", no CPU quota)";
    if (!leaf_.empty()) out += "; the daemon runs in " + leaf_;
    return out;
  }

  Result<int> SweepLeftovers() override {
    auto cgroups = SweepCgroups(base_, "qvmr-" + options_.instance + "-");
    auto tmps = SweepPrivateTmps(options_);
    if (!cgroups.ok()) return cgroups.error();
    if (!tmps.ok()) return tmps.error();
    return *cgroups + *tmps;
  }

  Result<std::unique_ptr<Cell>> NewCell(std::string_view cid) override {
    CgroupDirSpec dir;
    dir.path = base_ + "/qvmr-" + options_.instance + "-" + std::string(cid);
    dir.settings.push_back({"pids.max", std::to_string(options_.max_pids), true});
    if (memory_) {
      dir.settings.push_back({"memory.max", std::to_string(options_.max_memory_bytes), true});
      dir.settings.push_back({"memory.swap.max", "0", false});  // absent without swap
    }
    if (cpu_ && options_.cpu_percent > 0) {
      dir.settings.push_back({"cpu.max",
                              std::to_string(kCpuPeriodUs / 100 * options_.cpu_percent) + " " +
                                  std::to_string(kCpuPeriodUs),
                              false});
    }
    auto tmp = MakePrivateTmp(options_, cid);
    if (!tmp.ok()) return tmp.error();
    const std::string path = dir.path;
    auto cell = CgroupCell::Make({std::move(dir)}, path, path,
                                 memory_ ? 0 : options_.max_memory_bytes, *tmp);
    if (!cell.ok()) (void)RemoveTree(*tmp);
    return cell;
  }

 private:
  ContainmentOptions options_;
  std::string base_;
  std::string leaf_;
  bool memory_ = false;
  bool cpu_ = false;
};

}  // namespace

Result<std::unique_ptr<Containment>> NewCgroup2Containment(const ContainmentOptions& options) {
  auto containment = std::make_unique<Cgroup2Containment>(options);
  Status set_up = containment->SetUp();
  if (!set_up.ok()) return set_up.error();
  return std::unique_ptr<Containment>(std::move(containment));
}

}  // namespace qvmr
