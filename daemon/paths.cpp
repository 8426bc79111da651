#include "daemon/paths.h"

#include "engine/policy/policy_loader.h"

namespace qvmr {

DaemonPaths DaemonPaths::Under(const std::string& root) {
  DaemonPaths p;
  p.root = root;
  p.remote_conf = root + "/etc/qubes/remote.conf";
  p.key_dir = root + "/etc/qubes/remote.d";
  p.policy_dirs = DefaultPolicyDirs(root);
  p.grants_dir = root + "/run/qvm-remote/grants";
  p.work_dir = root + "/run/qvm-remote/work";
  p.state_dir = root + "/var/lib/qvm-remote";
  p.journal = p.state_dir + "/journal.db";
  p.spool_dir = p.state_dir + "/spool";
  p.lock_file = p.state_dir + "/daemon.lock";
  p.log_file = root + "/var/log/qubes/qvm-remote.log";
  p.audit_file = root + "/var/log/qubes/qvm-remote-audit.jsonl";
  return p;
}

}  // namespace qvmr
