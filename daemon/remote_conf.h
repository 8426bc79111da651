// /etc/qubes/remote.conf: the reference's shell-style configuration, read (never sourced: dom0
// runs no shell over a configuration file) as `NAME=value` lines.
//
//   QVM_REMOTE_VMS="vm1 vm2"            the VMs served (as the reference)
//   QVM_REMOTE_EXEC_PATH=/usr/bin:/bin  where the argv executor finds programs
//                                       (default /usr/local/bin:/usr/bin:/bin)
//   QVM_REMOTE_AGENT=qvm-remote         the VM-side agent for the `watch` transport
//
// Values may be bare, "double-quoted" or 'single-quoted' (no escapes, no expansions); blank
// lines and `#` comments are skipped; an `export ` prefix is accepted. Anything else — a
// `$`, a backquote, an unknown name, a VM name Qubes would refuse, a relative exec-path
// directory — is an error naming file:line, because a configuration that means something other
// than what the administrator thinks must not run.
#ifndef QVMR_DAEMON_REMOTE_CONF_H_
#define QVMR_DAEMON_REMOTE_CONF_H_

#include <string>
#include <string_view>
#include <vector>

#include "daemon/exec_path.h"
#include "engine/base/env.h"
#include "engine/base/result.h"

namespace qvmr {

struct RemoteConf {
  std::vector<std::string> vms;        // validated VM names, in file order, no duplicates
  std::vector<std::string> exec_path;  // absolute directories, in order
  std::string agent = "qvm-remote";
};

// Parses the text of a remote.conf; `file` names it in errors. Never throws.
Result<RemoteConf> ParseRemoteConf(std::string_view text, const std::string& file);

// Reads and parses `path`. A missing file is the default configuration (no VMs). The file must
// pass the trust check (engine/base/trust.h); an untrusted one is an error (the daemon exits 1).
Result<RemoteConf> LoadRemoteConf(Env& env, const std::string& path);

}  // namespace qvmr

#endif  // QVMR_DAEMON_REMOTE_CONF_H_
