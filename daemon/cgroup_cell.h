// A command's cell made of cgroup directories, shared by the cgroup2 and hybrid containments: the
// file operations on a cgroupfs (or on a fake tree of plain files in tests: every control file is
// opened with O_CREAT, which a real cgroupfs ignores for its existing files).
//
// Thread safety: a CgroupCell belongs to one worker. Errors are values.
#ifndef QVMR_DAEMON_CGROUP_CELL_H_
#define QVMR_DAEMON_CGROUP_CELL_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/containment.h"

namespace qvmr {

// This process's cgroup path in one hierarchy from a /proc/self/cgroup file: `controller` "" is
// the v2 line ("0::/path"), else a v1 controller name ("pids"). nullopt when absent.
std::optional<std::string> OwnCgroupPath(const std::string& proc_self_cgroup,
                                         std::string_view controller);
// Writes `value` to `dir/file` (one write, as the kernel wants it).
Status WriteCgroupFile(const std::string& dir, std::string_view file, std::string_view value);
// Reads up to 64 KiB of `dir/file`.
Result<std::string> ReadCgroupFile(const std::string& dir, std::string_view file);
// The pids listed in `dir/cgroup.procs`.
std::vector<pid_t> CgroupMembers(const std::string& dir);
bool IsDirectory(const std::string& path);
// Kills the members of every directory `<base>/<prefix><anything>` except `<prefix>daemon`,
// waits for it to empty (kCellDrainMs at most) and removes it. Returns how many it removed.
Result<int> SweepCgroups(const std::string& base, const std::string& prefix);

// One directory of a cell: made by the cell, joined by the child, removed by Close.
struct CgroupDirSpec {
  std::string path;
  // Control files to write right after mkdir, in order; a failed write fails NewCell only when
  // `required`.
  struct Setting {
    std::string file;
    std::string value;
    bool required = false;
  };
  std::vector<Setting> settings;
};

class CgroupCell : public Cell {
 public:
  // Makes every directory (a leftover of a crashed daemon under the same name is killed and
  // reused), writes its settings, opens its cgroup.procs for the child. `members_dir` is the one
  // whose cgroup.procs lists the cell's processes; `kill_dir` is one with cgroup.kill ("" none).
  static Result<std::unique_ptr<Cell>> Make(std::vector<CgroupDirSpec> dirs,
                                            std::string members_dir, std::string kill_dir,
                                            std::uint64_t rlimit_as_bytes, std::string tmpdir);
  ~CgroupCell() override;

  const CellEntry& entry() const override { return entry_; }
  const std::string& tmpdir() const override { return tmpdir_; }
  void Adopt(pid_t) override {}
  void Signal(int signal) override;
  bool Empty() override;
  std::string Describe() const override;
  Status Close() override;

 private:
  CgroupCell() = default;
  std::vector<std::string> dirs_;  // in creation order
  std::string members_dir_;
  std::string kill_dir_;
  std::string tmpdir_;
  CellEntry entry_;
  bool closed_ = false;
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_CGROUP_CELL_H_
