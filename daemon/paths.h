// Where the daemon keeps things. Every configuration and state path hangs off one optional
// root (`--root DIR`, for tests and the simulated dom0); programs never do (CONTRACT.md
// "Commands": `QVM_REMOTE_EXEC_PATH`, /bin/sh, qvm-run are found as on a real dom0).
#ifndef QVMR_DAEMON_PATHS_H_
#define QVMR_DAEMON_PATHS_H_

#include <string>
#include <vector>

namespace qvmr {

struct DaemonPaths {
  std::string root;                      // "" on a real dom0
  std::string remote_conf;               // /etc/qubes/remote.conf
  std::string key_dir;                   // /etc/qubes/remote.d (0700; <vm>.key 0600)
  std::vector<std::string> policy_dirs;  // shipped, then /etc/qubes/remote-policy.d
  std::string grants_dir;                // /run/qvm-remote/grants
  std::string work_dir;                  // /run/qvm-remote/work
  std::string state_dir;                 // /var/lib/qvm-remote
  std::string journal;                   // <state>/journal.db
  std::string spool_dir;                 // <state>/spool
  std::string lock_file;                 // <state>/daemon.lock
  std::string log_file;                  // /var/log/qubes/qvm-remote.log
  std::string audit_file;                // /var/log/qubes/qvm-remote-audit.jsonl

  // The standard layout under `root` ("" for /). `root` must be absolute or empty.
  static DaemonPaths Under(const std::string& root);
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_PATHS_H_
