// The exec path the daemon uses: remote.conf's QVM_REMOTE_EXEC_PATH with every directory that
// fails the policy files' trust check (engine/base/trust.h) dropped and logged (CONTRACT.md
// "Policy files", Trust): a directory another user can write is a directory whose programs that
// user chooses, and dom0 would run them as root.
//
// Cost: one trust check (a stat per path component) per directory. Thread safety: as `env`.
#ifndef QVMR_DAEMON_EXEC_PATH_TRUST_H_
#define QVMR_DAEMON_EXEC_PATH_TRUST_H_

#include <string>
#include <vector>

#include "daemon/exec_path.h"
#include "daemon/text_log.h"
#include "engine/base/env.h"

namespace qvmr {

// `dirs` in order, untrusted ones left out (one ERROR line each naming the directory and why).
// A missing directory is kept when its parent passes the check (it finds nothing until created).
ExecPath TrustedExecPath(Env& env, const std::vector<std::string>& dirs, TextLog& log);

}  // namespace qvmr

#endif  // QVMR_DAEMON_EXEC_PATH_TRUST_H_
