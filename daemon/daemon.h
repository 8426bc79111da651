// The daemon as a whole: what `qvm-remote-dom0` runs after parsing its command line. It takes
// the single-instance lock, opens the journal, runs the restart table, loads the policy, and
// then sweeps its VMs (once, or until SIGTERM/SIGINT).
#ifndef QVMR_DAEMON_DAEMON_H_
#define QVMR_DAEMON_DAEMON_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "daemon/containment.h"
#include "engine/base/limits.h"

namespace qvmr {

enum class TransportChoice { kPoll, kWatch, kLocal };

struct DaemonOptions {
  std::string root;                      // --root ("" on a real dom0)
  std::vector<std::string> policy_dirs;  // --policy-dir (repeatable); empty = the defaults
  std::string grants_dir;                // --grants-dir; "" = <root>/run/qvm-remote/grants
  TransportChoice transport = TransportChoice::kPoll;  // --transport
  std::string local_dir;                            // --local-dir (the local transport's VM homes)
  std::size_t workers = 8;                          // --workers
  std::vector<std::string> vms;                     // --vm (repeatable); empty = remote.conf's
  bool once = false;                                // --once: one sweep, wait, deliver, exit
  bool dry_run = false;                             // --dry-run
  std::size_t journal_cap = limits::kJournalCapV2;  // --journal-cap
  std::size_t journal_cap_v1 = limits::kJournalCapV1;    // --journal-cap-v1
  std::uint64_t spool_quota = limits::kSpoolQuotaBytes;  // --spool-quota, per VM
  std::uint32_t vm_rate = 10;   // --vm-rate: requests admitted per second per VM
  std::uint32_t vm_burst = 64;  // tokens a quiet VM accumulates (tests lower it)
  bool log_to_stdout = true;
  std::string containment = "auto";                         // --containment (containment.h)
  int max_pids = kDefaultMaxPids;                           // --max-pids
  std::uint64_t max_memory_bytes = kDefaultMaxMemoryBytes;  // --max-memory
};

// Runs the daemon. Returns the process's exit status: 0 success; 1 a runtime failure (another
// daemon holds the lock, the journal cannot be opened, an untrusted remote.conf, and with
// --once a VM that could not be reached). Usage errors (2) are the command line's business.
int RunDaemon(const DaemonOptions& options);

}  // namespace qvmr

#endif  // QVMR_DAEMON_DAEMON_H_
