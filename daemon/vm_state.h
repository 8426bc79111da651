// The VM state oracle: which VMs may get a qvm-run now. CONTRACT.md "Transports": only a VM in
// state `Running` gets a call. A halted VM's `qvm-run --no-autostart` runs nothing (and exits 0 or
// 1 by Qubes version), and a paused VM counts as running in Qubes, so a call to it hangs until
// someone unpauses it: dom0 asks first, and does not call.
//
// Where states come from: `qvm-ls --raw-data --fields NAME,STATE` (one Admin API call for every
// VM), at most every 5 s, and at once after RequestRefresh (the poll transport asks after a call
// that failed: the VM may have stopped). If qvm-ls fails or prints nothing usable, each VM asked
// about is checked with `qvm-check --running VM` and `qvm-check --paused VM` instead (cached for
// the same 5 s), and the failure is kept in last_status() for the daemon's log.
//
// Why the parser is strict: qvm-ls is dom0's own tool, but its output names VMs, and a VM name is
// the key to a queue; a line that is not exactly `NAME|STATE` with a valid VM name is ignored
// (counted), never guessed at. Output is bounded (1 MiB, 10000 VMs) and the call has a wall-clock
// limit (10 s): a stuck qvm-ls is killed and counts as a failure.
//
// Cost: a Get that finds the table fresh is a map lookup; otherwise it runs qvm-ls (tens of ms
// on Qubes) while holding the oracle's lock, so Gets from other threads wait for that refresh
// (at most the call limit) rather than start one of their own.
//
// Thread safety: every method is safe for concurrent use. The oracle must outlive the transports
// that hold it; its Processes must outlive it.
#ifndef QVMR_DAEMON_VM_STATE_H_
#define QVMR_DAEMON_VM_STATE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "daemon/processes.h"
#include "engine/base/result.h"

namespace qvmr {

enum class VmState {
  kRunning,  // the only state that gets calls
  kPaused,   // Qubes counts it as running; a call would hang
  kHalted,
  kOther,    // Transient, Halting, Dying, Crashed, Suspended, NA, ... (no calls)
  kMissing,  // not in qvm-ls's list: no such VM
  kUnknown,  // neither qvm-ls nor qvm-check answered (no calls)
};

// "Running", "Paused", "Halted", "other", "missing", "unknown".
std::string_view VmStateName(VmState state);

inline constexpr std::size_t kMaxQvmLsOutputBytes = 1 << 20;
inline constexpr std::size_t kMaxQvmLsVms = 10000;

struct VmStateTable {
  std::map<std::string, VmState, std::less<>> states;
  std::size_t ignored_lines = 0;  // lines that were not `NAME|STATE` with a valid name
};

// Parses `qvm-ls --raw-data --fields NAME,STATE` output: lines `NAME|STATE\n`. NAME must be a
// valid VM name (dom0 included); STATE one word of 1..32 letters: Running, Paused and Halted map
// to their states, any other word to kOther. Other lines, and a last line without its newline
// (a cut-short output), are ignored and counted. A name listed twice with different states gets
// kOther (never the more permissive one). Errors: "qvm-ls-too-large" (over
// kMaxQvmLsOutputBytes or kMaxQvmLsVms names), "qvm-ls-empty" (no valid line at all: qvm-ls
// always lists dom0, so an empty table is a broken qvm-ls, not a world without VMs).
Result<VmStateTable> ParseVmStates(std::string_view output);

struct VmStateOptions {
  // The daemon's own PATH (a colon list): where qvm-ls and qvm-check are found, once, at Create;
  // also the PATH of their environment (with LANG=C and nothing else).
  std::string search_path;
  MonotonicMs max_age_ms = 5000;      // a table older than this is refreshed on the next Get
  MonotonicMs call_limit_ms = 10000;  // wall-clock limit of one qvm-ls / qvm-check call
  bool fallback_to_qvm_check = true;  // when qvm-ls fails (and qvm-check was found)
};

class VmStateOracle {
 public:
  // Fails ("no-qvm-ls") when qvm-ls is not an executable file in any directory of
  // options.search_path. A missing qvm-check only disables the fallback.
  static Result<std::unique_ptr<VmStateOracle>> Create(Processes* processes,
                                                       VmStateOptions options);

  // `vm`'s state as of at most max_age_ms ago (refreshing first if needed). REQUIRES: `vm` is a
  // valid VM name.
  VmState Get(const std::string& vm);

  // The next Get refreshes whatever the table's age (after a call that returned no marker).
  void RequestRefresh();

  // Ok after a refresh that parsed; else why the last qvm-ls failed (the fallback may still
  // have answered).
  Status last_status() const;

  // Calls made so far, for status output and tests.
  std::uint64_t qvm_ls_calls() const;
  std::uint64_t qvm_check_calls() const;

 private:
  struct Cached {
    VmState state = VmState::kUnknown;
    MonotonicMs at = 0;
  };
  VmStateOracle(Processes* processes, VmStateOptions options, std::string qvm_ls,
                std::string qvm_check);
  bool StaleLocked(MonotonicMs at, MonotonicMs now) const;
  void RefreshLocked(MonotonicMs now);
  VmState CheckLocked(const std::string& vm);

  Processes* const processes_;
  const VmStateOptions options_;
  const std::string qvm_ls_;     // absolute
  const std::string qvm_check_;  // absolute, or "" when not found
  const std::string path_env_;

  mutable std::mutex mu_;
  bool have_table_ = false;  // the last refresh parsed
  bool refresh_requested_ = true;
  MonotonicMs refreshed_at_ = 0;
  VmStateTable table_;
  Status last_status_ = Ok{};
  std::map<std::string, Cached, std::less<>> checked_;  // the fallback's answers
  std::uint64_t qvm_ls_calls_ = 0;
  std::uint64_t qvm_check_calls_ = 0;
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_VM_STATE_H_
