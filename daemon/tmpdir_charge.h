// A command's private TMPDIR counted in its VM's spool quota (CONTRACT.md "Execution": "a private
// `TMPDIR` under `/var/lib/qvm-remote/tmp/<id>`, removed with the command and counted in its VM's
// spool quota"). Without it a key-holding VM could fill dom0's disk through $TMPDIR instead of
// through its output.
//
// MeasureTmpdir walks what a TMPDIR holds; a TmpdirCharge holds the latest measurement in the
// VM's SpoolQuota (`used`), next to the bytes of its spool files, and gives it all back when the
// charge ends (the cell's Close has removed the directory by then). The executor measures every
// kTmpdirMeasureIntervalMs while the command runs and once when its stages have exited; when the
// VM's total passes the quota it kills the command as at a deadline (outcome `error`).
//
// Why the walk is built as it is — the directory's contents are written by the (hostile) command
// while dom0 reads them:
// - Each entry is charged max(st_blocks * 512, kTmpdirEntryMinCharge): an inode and a directory
//   entry cost disk even when empty, so a million empty files cannot slip under the quota, and a
//   sparse file costs what it really holds. A hard link is charged once per name (never less
//   than the disk really holds).
// - It never follows a symlink (fstatat AT_SYMLINK_NOFOLLOW; directories are opened with
//   O_NOFOLLOW | O_DIRECTORY relative to their parent), so a link to a big file or to `/` costs
//   one entry. It opens nothing but directories (O_NONBLOCK, and O_DIRECTORY refuses a FIFO or a
//   device swapped in after the stat), so no FIFO or device is ever opened.
// - It never leaves the TMPDIR's filesystem (a mount below it is one entry, not walked).
// - It stops as soon as the charge passes `budget` (what the quota has left for this TMPDIR): each
//   name read costs at least kTmpdirEntryMinCharge, so one measurement reads at most
//   budget / kTmpdirEntryMinCharge + 1 entries, whatever the command made.
// - It keeps one descriptor open per level it is in, and goes at most kTmpdirMaxDepth levels
//   deep: a directory nested deeper is not walked but reported (too_deep), and the executor
//   treats that as past the quota — what dom0 cannot measure cheaply it does not let grow.
// - A directory it may not read (EACCES, EPERM: only when the daemon runs without root's
//   CAP_DAC_READ_SEARCH, e.g. unprivileged containment) is reported (unreadable) and treated the
//   same way, or `chmod 000` on a full subdirectory would hide it.
// A running command can rename or remove entries during a walk: a measurement is then a snapshot
// of roughly that moment, which the next one (or the last one, after the stages exit) corrects.
//
// Thread safety: MeasureTmpdir is safe to call from any thread. A TmpdirCharge is used by one
// thread at a time; several charges (one per running command of the VM) share one SpoolQuota,
// whose counter is atomic. Nothing throws.
#ifndef QVMR_DAEMON_TMPDIR_CHARGE_H_
#define QVMR_DAEMON_TMPDIR_CHARGE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "daemon/spool.h"

namespace qvmr {

// What an entry costs at least: one filesystem block, for its inode and its directory entry.
inline constexpr std::uint64_t kTmpdirEntryMinCharge = 4096;
// How deep the walk goes (and so at most how many descriptors one measurement holds open).
inline constexpr int kTmpdirMaxDepth = 64;
// How often the executor measures a running command's TMPDIR; a measurement that took longer
// pushes the next one further out (at least 4x its own cost apart), so measuring takes at most a
// fifth of one CPU per command however much the TMPDIR holds.
inline constexpr std::int64_t kTmpdirMeasureIntervalMs = 250;

struct TmpdirUsage {
  // The charge of what was walked: complete when no flag below is set, else a lower bound.
  std::uint64_t bytes = 0;
  std::uint64_t entries = 0;  // names charged
  // The walk stopped because bytes passed the budget.
  bool over_budget = false;
  // A directory deeper than kTmpdirMaxDepth was found (and not walked).
  bool too_deep = false;
  // A directory dom0 may not open (EACCES, EPERM) was found (and not walked).
  bool unreadable = false;
};

// Charges what the directory `path` holds (not the directory itself: an empty TMPDIR costs 0).
// Stops as soon as the charge exceeds `budget`. A missing `path` (or one that is not a directory:
// it was never made, or already removed) holds nothing. An entry that vanishes or cannot be
// stat'ed while being walked still costs kTmpdirEntryMinCharge; a subdirectory that vanished or
// was replaced before it could be opened is charged as an entry and not walked; one dom0 may not
// open stops the walk (unreadable). too_deep and unreadable stop it at once. Cost: at most budget /
// kTmpdirEntryMinCharge + 1 fstatat calls and the getdents reading them, at most kTmpdirMaxDepth +
// 1 descriptors.
TmpdirUsage MeasureTmpdir(const std::string& path, std::uint64_t budget);

// One command's TMPDIR held in its VM's quota. RAII: the destructor gives back what it holds.
class TmpdirCharge {
 public:
  // `tmpdir` is the cell's private directory ("" : none, every Update charges nothing); `quota`
  // the VM's (null: nothing is counted and nothing is ever over).
  TmpdirCharge(std::string tmpdir, std::shared_ptr<SpoolQuota> quota);
  ~TmpdirCharge();
  TmpdirCharge(const TmpdirCharge&) = delete;
  TmpdirCharge& operator=(const TmpdirCharge&) = delete;

  // Measures the TMPDIR against what the quota has left for it (its limit less everything else
  // the VM holds: its spool files and its other commands' TMPDIRs) and holds the new charge in
  // the quota in place of the previous one. Returns over(). Cost: one MeasureTmpdir.
  bool Update();
  // The last Update found the VM's total past its quota (or a TMPDIR too deep or unreadable to
  // measure). Stays true once set: the command is being killed.
  bool over() const { return over_; }
  // The last measurement (its bytes are what the quota holds for this TMPDIR).
  const TmpdirUsage& last() const { return last_; }
  bool active() const { return !tmpdir_.empty() && quota_ != nullptr; }
  // For the `.err` note that ends a killed command: " (its TMPDIR held N bytes)" ("at least N"
  // when the walk stopped early), " (its TMPDIR nests directories deeper than 64 levels)",
  // " (its TMPDIR holds a directory dom0 cannot read)", or "" when the last measurement found
  // nothing.
  std::string Describe() const;

  // Gives back everything held; Update may charge again afterwards. Idempotent.
  void Release();

 private:
  std::string tmpdir_;
  std::shared_ptr<SpoolQuota> quota_;
  std::uint64_t held_ = 0;  // what this charge has added to quota_->used
  TmpdirUsage last_;
  bool over_ = false;
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_TMPDIR_CHARGE_H_
