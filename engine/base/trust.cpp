#include "engine/base/trust.h"

#include <cstdio>

namespace qvmr {
namespace {

std::string ModeString(std::uint32_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

}  // namespace

Status CheckTrusted(Env& env, const std::string& path) {
  auto real = env.RealPath(path);
  if (!real) return MakeError("untrusted", real.error().message, {path});
  const std::uint32_t euid = env.EffectiveUid();
  std::string p = *real;
  bool is_file = true;
  while (true) {
    auto info = env.Stat(p);
    if (!info) return MakeError("untrusted", info.error().message, {path});
    if (!info->exists) return MakeError("untrusted", p + " does not exist", {path});
    if (info->uid != 0 && info->uid != euid) {
      return MakeError("untrusted",
                       p + " is owned by uid " + std::to_string(info->uid) +
                           " (policy files and their directories must be owned by root" +
                           (euid != 0 ? " or uid " + std::to_string(euid) : std::string()) + ")",
                       {path});
    }
    bool writable_by_others = (info->mode & 022) != 0;
    bool sticky_root_dir = !is_file && info->uid == 0 && (info->mode & 01000) != 0;
    if (writable_by_others && !sticky_root_dir) {
      return MakeError(
          "untrusted",
          p + " has mode " + ModeString(info->mode) + " (group or others may write it; chmod go-w)",
          {path});
    }
    if (p == "/") break;
    std::size_t slash = p.rfind('/');
    p = slash == 0 ? "/" : p.substr(0, slash);
    is_file = false;
  }
  return Ok{};
}

}  // namespace qvmr
