// Dev-mode grants: one VM's level raised until a deadline. Stored one YAML file per VM under
// /run/qvm-remote/grants/ (tmpfs: gone on reboot), mode 0600 in a 0700 directory. A grant is
// checked at every decision against the clock the decision is given — there is no timer, and
// an expired or malformed grant simply has no effect. CONTRACT.md "Grants".
//
// Thread safety: the pure functions (ParseGrant, SerializeGrant, MakeGrant, GrantedLevel) are
// safe for concurrent use; a GrantSet is a value, read-only once loaded, and may be shared by
// concurrent decisions. LoadGrants, WriteGrant and RevokeGrant go through the Env they are given
// (Env::Posix() is thread-safe; WriteGrant's temporary names are unique per thread). The daemon
// reads grants at each decision; it never removes the directory. Lifetime: a Grant owns its
// strings; a Decision holds a copy of the grant it used.
#ifndef QVMR_ENGINE_DECIDE_GRANTS_H_
#define QVMR_ENGINE_DECIDE_GRANTS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/env.h"
#include "engine/base/level.h"
#include "engine/base/result.h"
#include "engine/policy/policy.h"

namespace qvmr {

struct Grant {
  std::string vm;
  Level level = Level::kDeny;
  TimeMs expires_ms = 0;
  TimeMs created_ms = 0;
  std::string by;
  std::string file;  // where it was read from (empty for a new grant)
};

// {vm, level, expires, created, by}; times RFC 3339 UTC with milliseconds. Strict: unknown,
// missing or duplicate keys, a bad level or time, expires <= created → Error.
Result<Grant> ParseGrant(std::string_view text, const std::string& file);
std::string SerializeGrant(const Grant& grant);

struct GrantSet {
  std::map<std::string, Grant> by_vm;
  std::vector<Error> ignored;  // bad files: ignored, reported once by the caller
};

std::string GrantsDir(const std::string& root = "");

// Reads every `<vm>.yaml` in `dir` (a missing directory is an empty set). A file whose name and
// `vm` disagree, that does not parse, or that fails the policy files' trust check (owner root or
// the effective user, no group/other write on it or any parent) is ignored and reported in
// `ignored`.
GrantSet LoadGrants(Env& env, const std::string& dir);

// Builds a grant as `dev-mode grant` does: level defaults to the VM's max_dev_mode; refused
// (code "grant-refused") when the VM has no max_dev_mode, the level is above it or is `deny`, or
// the duration exceeds the VM's max_dev_duration.
Result<Grant> MakeGrant(const Policy& policy, const std::string& vm, std::int64_t seconds,
                        std::optional<Level> level, TimeMs now, const std::string& by);

Status WriteGrant(Env& env, const std::string& dir, const Grant& grant);
Status RevokeGrant(Env& env, const std::string& dir, const std::string& vm);

// The level a grant lends `vm` at `now`, capped by the VM's current max_dev_mode and
// max_dev_duration (a policy edit that lowers the cap takes effect at once). nullopt when it has
// expired (now >= expires), the VM may not have grants, or either expires - created or
// expires - now exceeds max_dev_duration (a clock set back does not stretch a grant).
std::optional<Level> GrantedLevel(const Policy& policy, const Grant& grant, TimeMs now);

}  // namespace qvmr

#endif  // QVMR_ENGINE_DECIDE_GRANTS_H_
