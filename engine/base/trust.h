// The trust check: a file that grants rights (policy, grant, key, remote.conf) or a directory
// whose programs dom0 runs must be writable by no one but root or the daemon's own user.
// CONTRACT.md "Policy files", "Trust".
#ifndef QVMR_ENGINE_BASE_TRUST_H_
#define QVMR_ENGINE_BASE_TRUST_H_

#include <string>

#include "engine/base/env.h"
#include "engine/base/result.h"

namespace qvmr {

// Owner and mode of `path` and every parent directory, after resolving symlinks: each must be
// owned by root or Env::EffectiveUid(), with no group or other write bit unless it is a
// root-owned sticky directory (/tmp). Fails with code "untrusted" naming the offending path and
// its mode or owner. Thread safety: as safe as `env`.
Status CheckTrusted(Env& env, const std::string& path);

}  // namespace qvmr

#endif  // QVMR_ENGINE_BASE_TRUST_H_
