#include "daemon/exec_path_trust.h"

#include "engine/base/trust.h"

namespace qvmr {

ExecPath TrustedExecPath(Env& env, const std::vector<std::string>& dirs, TextLog& log) {
  std::string joined;
  for (const std::string& dir : dirs) {
    // A missing directory finds nothing now; it is kept only when its parent is trusted, so no
    // other user can create it later.
    auto info = env.Stat(dir);
    const bool missing = info && !info->exists;
    std::string judged = dir;
    if (missing) {
      std::size_t slash = dir.find_last_of('/');
      judged = slash == 0 ? "/" : dir.substr(0, slash);
    }
    if (Status trusted = CheckTrusted(env, judged); !trusted) {
      log.Error("QVM_REMOTE_EXEC_PATH directory dropped: " + trusted.error().ToString());
      continue;
    }
    joined += (joined.empty() ? "" : ":") + dir;
  }
  return ExecPath::Parse(joined);
}

}  // namespace qvmr
