// Hybrid hosts (Debian with systemd's "hybrid" layout, and this team's machines): the v1 `pids`
// controller bounds the tree, v1 `memory` and `cpu` cap it where their hierarchies are writable,
// and the v2 tree at <root>/unified (no controllers, but cgroup.kill) kills it atomically. The
// child joins every one of them before exec. Each directory is made under this process's own
// cgroup in that hierarchy (from /proc/self/cgroup), so a daemon in a container stays inside it.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/cgroup_cell.h"
#include "daemon/containment.h"

namespace qvmr {
namespace {

constexpr int kCpuPeriodUs = 100000;

// `<root>/<hierarchy><own>` without a doubled slash.
std::string HierarchyBase(const ContainmentOptions& options, std::string_view hierarchy,
                          const std::string& own) {
  std::string base = options.cgroup_root + "/" + std::string(hierarchy);
  if (own != "/") base += own;
  return base;
}

// True when a directory can be made (and removed) under `base`.
bool CanMakeChild(const std::string& base, const std::string& probe_name) {
  const std::string probe = base + "/" + probe_name;
  if (mkdir(probe.c_str(), 0755) != 0 && errno != EEXIST) return false;
  return rmdir(probe.c_str()) == 0;
}

class HybridContainment : public Containment {
 public:
  explicit HybridContainment(const ContainmentOptions& options) : options_(options) {}

  Status SetUp() {
    const std::string prefix = "qvmr-" + options_.instance;
    auto own_pids = OwnCgroupPath(options_.proc_self_cgroup, "pids");
    if (!own_pids) return MakeError("containment-unavailable", "no v1 pids hierarchy");
    pids_base_ = HierarchyBase(options_, "pids", *own_pids);
    if (!IsDirectory(pids_base_) || !CanMakeChild(pids_base_, prefix + "-probe")) {
      return MakeError("containment-unavailable", pids_base_ + " is not writable");
    }
    if (auto own = OwnCgroupPath(options_.proc_self_cgroup, "")) {
      const std::string base = HierarchyBase(options_, "unified", *own);
      if (IsDirectory(base) && CanMakeChild(base, prefix + "-probe")) unified_base_ = base;
    }
    if (auto own = OwnCgroupPath(options_.proc_self_cgroup, "memory")) {
      const std::string base = HierarchyBase(options_, "memory", *own);
      if (IsDirectory(base) && CanMakeChild(base, prefix + "-probe")) memory_base_ = base;
    }
    if (auto own = OwnCgroupPath(options_.proc_self_cgroup, "cpu")) {
      const std::string base = HierarchyBase(options_, "cpu", *own);
      if (IsDirectory(base) && CanMakeChild(base, prefix + "-probe")) cpu_base_ = base;
    }
    return Ok{};
  }

  ContainmentKind kind() const override { return ContainmentKind::kHybrid; }

  std::string Describe() const override {
    std::string out = "hybrid: v1 pids at " + pids_base_ + " (pids.max " +
                      std::to_string(options_.max_pids) + ")";
    out += unified_base_.empty() ? ", no v2 tree (kill by listing)"
                                 : ", v2 cgroup.kill at " + unified_base_;
    out += memory_base_.empty() ? ", memory cap by RLIMIT_AS per process"
                                : ", v1 memory at " + memory_base_;
    out += cpu_base_.empty() ? ", no CPU quota" : ", v1 cpu at " + cpu_base_;
    return out;
  }

  Result<int> SweepLeftovers() override {
    const std::string prefix = "qvmr-" + options_.instance + "-";
    int removed = 0;
    std::string failed;
    // The v2 directory first: its cgroup.kill ends the members everywhere at once.
    for (const std::string* base : {&unified_base_, &pids_base_, &memory_base_, &cpu_base_}) {
      if (base->empty()) continue;
      auto swept = SweepCgroups(*base, prefix);
      if (swept.ok()) {
        removed += *swept;
      } else {
        failed += swept.error().message;
      }
    }
    auto tmps = SweepPrivateTmps(options_);
    if (!tmps.ok()) failed += tmps.error().message;
    if (!failed.empty()) return MakeError("cgroup", failed);
    return removed + *tmps;
  }

  Result<std::unique_ptr<Cell>> NewCell(std::string_view cid) override {
    const std::string name = "qvmr-" + options_.instance + "-" + std::string(cid);
    std::vector<CgroupDirSpec> dirs;
    const std::string pids_dir = pids_base_ + "/" + name;
    dirs.push_back({pids_dir, {{"pids.max", std::to_string(options_.max_pids), true}}});
    if (!memory_base_.empty()) {
      const std::string bytes = std::to_string(options_.max_memory_bytes);
      // memsw (memory + swap) must not be below the memory limit, so it comes second; it is
      // absent without swap accounting, which is fine: then only RAM is capped.
      dirs.push_back({memory_base_ + "/" + name,
                      {{"memory.limit_in_bytes", bytes, true},
                       {"memory.memsw.limit_in_bytes", bytes, false}}});
    }
    if (!cpu_base_.empty() && options_.cpu_percent > 0) {
      dirs.push_back({cpu_base_ + "/" + name,
                      {{"cpu.cfs_period_us", std::to_string(kCpuPeriodUs), false},
                       {"cpu.cfs_quota_us",
                        std::to_string(kCpuPeriodUs / 100 * options_.cpu_percent), false}}});
    }
    std::string kill_dir;
    if (!unified_base_.empty()) {
      kill_dir = unified_base_ + "/" + name;
      dirs.push_back({kill_dir, {}});
    }
    auto tmp = MakePrivateTmp(options_, cid);
    if (!tmp.ok()) return tmp.error();
    auto cell = CgroupCell::Make(std::move(dirs), pids_dir, kill_dir,
                                 memory_base_.empty() ? options_.max_memory_bytes : 0, *tmp);
    if (!cell.ok()) (void)RemoveTree(*tmp);
    return cell;
  }

 private:
  ContainmentOptions options_;
  std::string pids_base_, unified_base_, memory_base_, cpu_base_;
};

}  // namespace

Result<std::unique_ptr<Containment>> NewHybridContainment(const ContainmentOptions& options) {
  auto containment = std::make_unique<HybridContainment>(options);
  Status set_up = containment->SetUp();
  if (!set_up.ok()) return set_up.error();
  return std::unique_ptr<Containment>(std::move(containment));
}

}  // namespace qvmr
