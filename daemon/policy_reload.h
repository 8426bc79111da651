// Loading the policy into the daemon's PolicyState, at start, on inotify and on SIGHUP
// (CONTRACT.md "Policy files"): the whole set of files is read, checked and compiled, and only
// then swapped in atomically; a load that fails puts the daemon in deny-all (never back on the
// older policy: it could keep rights the edit meant to remove), and each change of state is
// logged once — a new revision, or deny-all with its file:line — not every reload.
//
// A file that changes while the set is read (an editor still saving, a package upgrade) would
// give a policy no one wrote: the files' identity (inode, size, mtime, ctime) is taken before and
// after the read, and a difference means the load is retried after the debounce, up to
// kMaxAttempts; a set still changing after that is deny-all until the next event.
//
// Thread safety: Reload may be called from any thread; calls are serialised (one mutex), so the
// state a later call sets is never overwritten by an earlier, slower one.
#ifndef QVMR_DAEMON_POLICY_RELOAD_H_
#define QVMR_DAEMON_POLICY_RELOAD_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "daemon/policy_state.h"
#include "daemon/text_log.h"
#include "engine/base/env.h"
#include "engine/policy/policy_loader.h"

namespace qvmr {

class PolicyReloader {
 public:
  static constexpr int kMaxAttempts = 5;

  // All pointers must outlive the reloader.
  PolicyReloader(Env* env, LoadOptions options, PolicyState* state, TextLog* log,
                 std::int64_t debounce_ms);

  // Loads and swaps; `why` ("start", "inotify", "SIGHUP") goes into the log line. Returns true
  // when a policy is in force afterwards, false in deny-all.
  bool Reload(std::string_view why);

 private:
  std::string Fingerprint();  // the files' identities, "" when they cannot be listed

  Env* env_;
  LoadOptions options_;
  PolicyState* state_;
  TextLog* log_;
  std::int64_t debounce_ms_;
  std::mutex mu_;
  std::string last_logged_;  // the revision or the error last logged
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_POLICY_RELOAD_H_
