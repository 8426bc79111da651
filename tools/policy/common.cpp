// Helpers shared by the subcommands: loading with error reporting, small text formatting.
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "tools/policy/policy_tool.h"

namespace qvmr::tool {

LoadOptions CommonOptions::MakeLoadOptions() const {
  LoadOptions options;
  options.dirs = policy_dirs.empty() ? DefaultPolicyDirs(root) : policy_dirs;
  return options;
}

std::string CommonOptions::GrantsDirectory() const {
  return grants_dir.empty() ? GrantsDir(root) : grants_dir;
}

std::optional<Policy> LoadOrReport(Env& env, const CommonOptions& common,
                                   const std::vector<std::string>& extra_files) {
  LoadOptions options = common.MakeLoadOptions();
  options.extra_files = extra_files;
  auto policy = LoadPolicy(env, options);
  if (!policy) {
    std::cerr << policy.error().ToString() << "\n";
    return std::nullopt;
  }
  return std::move(*policy);
}

GrantSet LoadGrantsOrWarn(Env& env, const std::string& dir) {
  GrantSet grants = LoadGrants(env, dir);
  for (const Error& e : grants.ignored) {
    std::cerr << e.pos.ToString() << ": warning: grant ignored: " << e.message << "\n";
  }
  return grants;
}

std::string NormalizeSpace(std::string_view text) {
  std::string out;
  bool blank = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      blank = true;
      continue;
    }
    if (blank && !out.empty()) out += ' ';
    blank = false;
    out += c;
  }
  return out;
}

std::string FormatRemaining(TimeMs ms) {
  if (ms < 0) ms = 0;
  std::int64_t s = ms / 1000;
  std::int64_t h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
  auto two = [](std::int64_t v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  if (h > 0) return std::to_string(h) + "h" + two(m) + "m";
  if (m > 0) return std::to_string(m) + "m" + two(sec) + "s";
  return std::to_string(sec) + "s";
}

std::string InvokingUser() {
  if (const char* sudo = std::getenv("SUDO_USER"); sudo && *sudo) return sudo;
  uid_t uid = geteuid();
  if (const passwd* pw = getpwuid(uid); pw && pw->pw_name && *pw->pw_name) return pw->pw_name;
  return "uid " + std::to_string(uid);
}

std::string RuleOrigin(const Rule& rule) {
  return rule.origin.empty() ? std::string(LevelName(rule.level)) : rule.origin;
}

bool RuleUsesVm(const Rule& rule) {
  for (const auto& op : rule.operands) {
    if (op.pattern.kind == ValuePattern::Kind::kVm) return true;
  }
  for (const auto& opt : rule.options) {
    if (opt.value && opt.value->kind == ValuePattern::Kind::kVm) return true;
  }
  return false;
}

}  // namespace qvmr::tool
