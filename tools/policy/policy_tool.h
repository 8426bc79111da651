// qvm-remote-policy: the pieces main.cpp wires into subcommands. Each Run* function returns the
// process exit code (CONTRACT.md "Exit codes"): 0 allow / success, 1 deny / lint errors / failing
// tests / nothing to revoke, 2 usage or a policy that does not load.
#ifndef QVMR_TOOLS_POLICY_POLICY_TOOL_H_
#define QVMR_TOOLS_POLICY_POLICY_TOOL_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/env.h"
#include "engine/base/result.h"
#include "engine/decide/grants.h"
#include "engine/policy/policy.h"
#include "engine/policy/policy_loader.h"

namespace qvmr::tool {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFail = 1;
inline constexpr int kExitUsage = 2;

// The options every subcommand takes.
struct CommonOptions {
  std::vector<std::string> policy_dirs;  // empty: DefaultPolicyDirs(root)
  std::string grants_dir;                // empty: GrantsDir(root)
  std::string root;                      // prefixes every default dom0 path

  LoadOptions MakeLoadOptions() const;
  std::string GrantsDirectory() const;
};

// Loads the policy of `common` (plus `extra_files`); on failure prints the error
// (`file:line:col: error: ...`) on stderr and returns nullopt.
std::optional<Policy> LoadOrReport(Env& env, const CommonOptions& common,
                                   const std::vector<std::string>& extra_files = {});

// Loads the grants directory, printing a warning on stderr for every ignored file.
GrantSet LoadGrantsOrWarn(Env& env, const std::string& dir);

// Runs of blanks folded to one space, leading and trailing blanks removed.
std::string NormalizeSpace(std::string_view text);

// "1h05m", "4m30s", "12s": a short human form of a non-negative number of milliseconds.
std::string FormatRemaining(TimeMs ms);

// Who runs the tool: SUDO_USER, else the effective user's name, else "uid N".
std::string InvokingUser();

// "read-only", "monitor", "manage" (a class rule) or "vms.NAME.allow".
std::string RuleOrigin(const Rule& rule);

// True if the rule uses `<vm>` anywhere (operand or option value).
bool RuleUsesVm(const Rule& rule);

struct CheckOptions {
  std::string vm;
  std::string cmd;
  bool explain = false;
  bool json = false;
  std::string at;  // empty: now
};
int RunCheck(Env& env, const CommonOptions& common, const CheckOptions& options);

int RunList(Env& env, const CommonOptions& common, const std::string& vm);

int RunLint(Env& env, const CommonOptions& common, const std::vector<std::string>& paths);

// Shadowed-rule warnings (lint). See shadow.cpp for exactly what is detected.
std::vector<Diagnostic> FindShadowedRules(const Policy& policy);

struct TestOptions {
  std::vector<std::string> files;
  bool coverage = false;
  bool use_grants = false;  // --grants-dir given: evaluate with those grants
};
int RunTests(Env& env, const CommonOptions& common, const TestOptions& options);

int RunDevModeGrant(Env& env, const CommonOptions& common, const std::string& vm,
                    const std::string& duration, const std::string& level);
int RunDevModeList(Env& env, const CommonOptions& common);
int RunDevModeRevoke(Env& env, const CommonOptions& common, const std::string& vm);

int RunDump(Env& env, const CommonOptions& common, bool json);

}  // namespace qvmr::tool

#endif  // QVMR_TOOLS_POLICY_POLICY_TOOL_H_
