// The policy in force: a loaded Policy shared as shared_ptr<const Policy> (immutable), or
// deny-all with the load error that caused it (CONTRACT.md "Policy files": a policy that does
// not load puts the daemon in deny-all, never back on an older or default policy).
//
// Thread safety: Get and Set may be called from any thread; a request decided with the snapshot
// Get returned keeps it alive however many reloads happen meanwhile.
#ifndef QVMR_DAEMON_POLICY_STATE_H_
#define QVMR_DAEMON_POLICY_STATE_H_

#include <memory>
#include <mutex>
#include <optional>

#include "engine/base/result.h"
#include "engine/policy/policy.h"

namespace qvmr {

struct PolicySnapshot {
  std::shared_ptr<const Policy> policy;  // null in deny-all
  std::optional<Error> load_error;       // why deny-all
};

class PolicyState {
 public:
  PolicySnapshot Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  void Set(Result<Policy> loaded) {
    PolicySnapshot next;
    if (loaded) {
      next.policy = std::make_shared<const Policy>(std::move(*loaded));
    } else {
      next.load_error = loaded.error();
    }
    std::lock_guard<std::mutex> lock(mu_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  PolicySnapshot current_{nullptr, MakeError("no-policy", "no policy loaded yet")};
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_POLICY_STATE_H_
