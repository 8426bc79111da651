#include "engine/decide/grants.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "engine/base/trust.h"
#include "engine/base/units.h"
#include "engine/base/vm_name.h"
#include "engine/policy/policy_loader.h"

namespace qvmr {

Result<Grant> ParseGrant(std::string_view text, const std::string& file) {
  auto bad = [&](const std::string& why) { return MakeError("bad-grant", why, {file}); };
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return bad("not YAML: " + e.msg);
  }
  if (!root.IsMap()) return bad("a grant is a mapping");
  std::set<std::string> seen;
  Grant g;
  g.file = file;
  for (const auto& kv : root) {
    if (!kv.first.IsScalar() || !kv.second.IsScalar()) return bad("keys and values are text");
    const std::string key = kv.first.Scalar();
    const std::string value = kv.second.Scalar();
    if (!seen.insert(key).second) return bad("duplicate key " + key);
    if (key == "vm") {
      if (!IsValidVmName(value)) return bad("bad VM name " + value);
      g.vm = value;
    } else if (key == "level") {
      auto level = ParseLevel(value);
      if (!level || *level == Level::kDeny) return bad("bad level " + value);
      g.level = *level;
    } else if (key == "expires" || key == "created") {
      auto t = ParseTimeMs(value);
      if (!t) return bad("bad time " + value);
      (key == "expires" ? g.expires_ms : g.created_ms) = *t;
    } else if (key == "by") {
      g.by = value;
    } else {
      return bad("unknown key " + key);
    }
  }
  for (const char* key : {"vm", "level", "expires", "created", "by"}) {
    if (!seen.count(key)) return bad(std::string("missing key ") + key);
  }
  if (g.expires_ms <= g.created_ms) return bad("expires is not after created");
  return g;
}

std::string SerializeGrant(const Grant& g) {
  // Values are validated names, levels and fixed-format times; `by` is quoted as YAML text.
  std::string by;
  for (char c : g.by) {
    if (c == '\'')
      by += "''";
    else if (static_cast<unsigned char>(c) >= 0x20)
      by += c;
  }
  return "vm: " + g.vm + "\nlevel: " + std::string(LevelName(g.level)) +
         "\nexpires: " + FormatTimeMs(g.expires_ms) + "\ncreated: " + FormatTimeMs(g.created_ms) +
         "\nby: '" + by + "'\n";
}

std::string GrantsDir(const std::string& root) {
  return root + "/run/qvm-remote/grants";
}

GrantSet LoadGrants(Env& env, const std::string& dir) {
  GrantSet set;
  auto info = env.Stat(dir);
  if (!info || !info->exists) return set;
  auto names = env.ListDir(dir);
  if (!names) {
    set.ignored.push_back(names.error());
    return set;
  }
  for (const auto& name : *names) {
    if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".yaml") != 0) continue;
    std::string path = dir + "/" + name;
    // A grant raises a level: it must be as trustworthy as a policy file.
    if (auto trusted = CheckTrusted(env, path); !trusted) {
      set.ignored.push_back(MakeError("bad-grant", trusted.error().message, {path}));
      continue;
    }
    auto text = env.ReadFile(path, 4096);
    if (!text) {
      set.ignored.push_back(text.error());
      continue;
    }
    auto grant = ParseGrant(*text, path);
    if (!grant) {
      set.ignored.push_back(grant.error());
      continue;
    }
    if (grant->vm + ".yaml" != name) {
      set.ignored.push_back(
          MakeError("bad-grant", "file name does not match vm " + grant->vm, {path}));
      continue;
    }
    set.by_vm[grant->vm] = std::move(*grant);
  }
  return set;
}

Result<Grant> MakeGrant(const Policy& policy, const std::string& vm, std::int64_t seconds,
                        std::optional<Level> level, TimeMs now, const std::string& by) {
  auto refuse = [](const std::string& why) { return MakeError("grant-refused", why); };
  if (!IsValidVmName(vm)) return refuse("'" + vm + "' is not a valid VM name");
  const VmPolicy* p = policy.FindVm(vm);
  if (!p || !p->max_dev_mode) {
    return refuse("VM '" + vm + "' has no max_dev_mode in the policy, so it may not have grants");
  }
  Level cap = p->max_dev_mode->value;
  Level want = level.value_or(cap);
  if (want == Level::kDeny) return refuse("a grant of level deny grants nothing");
  if (want > cap) {
    return refuse("level " + std::string(LevelName(want)) + " is above VM '" + vm +
                  "'s max_dev_mode " + std::string(LevelName(cap)) + " (" +
                  p->max_dev_mode->pos.ToString() + ")");
  }
  std::int64_t max = policy.MaxDevDurationSeconds(vm);
  if (seconds <= 0 || seconds > max) {
    return refuse("duration " + FormatDuration(seconds) + " is longer than max_dev_duration " +
                  FormatDuration(max));
  }
  Grant g;
  g.vm = vm;
  g.level = want;
  g.created_ms = now;
  g.expires_ms = now + seconds * 1000;
  g.by = by;
  return g;
}

Status WriteGrant(Env& env, const std::string& dir, const Grant& grant) {
  auto made = env.MakeDirs(dir, 0700);
  if (!made) return made;
  return env.WriteFileAtomic(dir + "/" + grant.vm + ".yaml", SerializeGrant(grant), 0600);
}

Status RevokeGrant(Env& env, const std::string& dir, const std::string& vm) {
  if (!IsValidVmName(vm)) return MakeError("bad-vm-name", "'" + vm + "' is not a valid VM name");
  return env.RemoveFile(dir + "/" + vm + ".yaml");
}

std::optional<Level> GrantedLevel(const Policy& policy, const Grant& grant, TimeMs now) {
  if (now >= grant.expires_ms) return std::nullopt;
  const VmPolicy* p = policy.FindVm(grant.vm);
  if (!p || !p->max_dev_mode) return std::nullopt;
  // Both spans are capped: the one the grant was written with, and the one left from `now`, so
  // a clock set back (or a forged `created`) cannot stretch a grant past max_dev_duration.
  const TimeMs cap_ms = policy.MaxDevDurationSeconds(grant.vm) * 1000;
  if (grant.expires_ms - grant.created_ms > cap_ms || grant.expires_ms - now > cap_ms) {
    return std::nullopt;
  }
  return std::min(grant.level, p->max_dev_mode->value);
}

}  // namespace qvmr
