#include "daemon/key_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "engine/base/env.h"
#include "engine/base/trust.h"
#include "engine/base/vm_name.h"
#include "engine/wire/key_fingerprint.h"

namespace qvmr {
namespace {

constexpr std::string_view kKeySuffix = ".key";

Error BadVmName(std::string_view vm) {
  // The name is not quoted raw: it failed validation, so it may hold control bytes.
  return MakeError("bad-vm-name", "not a Qubes VM name (" + std::to_string(vm.size()) +
                                      " bytes; want ^[a-zA-Z][a-zA-Z0-9_.-]{0,30}$)");
}

KeyLookup Problem(KeyProblem problem, std::string reason) {
  return KeyLookup{std::nullopt, problem, std::move(reason)};
}

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

std::string KeyStore::KeyPath(std::string_view vm) const {
  return dir_ + "/" + std::string(vm) + std::string(kKeySuffix);
}

Result<KeyLookup> KeyStore::Read(std::string_view vm) const {
  if (!IsValidVmName(vm)) return BadVmName(vm);
  const std::string path = KeyPath(vm);
  // O_NOFOLLOW: a symlink could point the daemon at any file root can read. O_NONBLOCK: a FIFO
  // planted here must not hang the daemon in open(); fstat then refuses it.
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Problem(KeyProblem::kMissing, "no key file " + path);
    if (err == ELOOP) return Problem(KeyProblem::kUntrusted, path + " is a symlink");
    return Problem(KeyProblem::kUnreadable, "cannot open " + path + ": " + std::strerror(err));
  }
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { ::close(*f); });

  // Checked through the fd, so the file judged is the file read.
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return Problem(KeyProblem::kUnreadable, "cannot stat " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Problem(KeyProblem::kUntrusted, path + " is not a regular file");
  const uid_t euid = ::geteuid();
  if (st.st_uid != 0 && st.st_uid != euid) {
    return Problem(KeyProblem::kUntrusted,
                   path + " is owned by uid " + std::to_string(st.st_uid) + " (want root)");
  }
  // Group or world access of any kind: a readable key may have been copied, a writable one
  // replaced. Like ssh with a private key, refuse rather than trust it.
  if ((st.st_mode & 077) != 0) {
    return Problem(KeyProblem::kUntrusted,
                   path + " has mode " + Octal(st.st_mode) + " (want 0600; chmod 600 it)");
  }
  if (Status trusted = CheckTrusted(*Env::Posix(), dir_); !trusted) {
    return Problem(KeyProblem::kUntrusted, trusted.error().message);
  }

  std::string text;
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Problem(KeyProblem::kUnreadable, "cannot read " + path + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    if (text.size() + static_cast<std::size_t>(n) > kMaxKeyFileBytes) {
      return Problem(KeyProblem::kInvalid,
                     path + " is larger than " + std::to_string(kMaxKeyFileBytes) + " bytes");
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
  auto key = ParseKeyText(text);
  if (!key) return Problem(KeyProblem::kInvalid, path + ": " + key.error().message);
  return KeyLookup{std::move(key.value()), KeyProblem::kNone, ""};
}

Status KeyStore::Authorize(std::string_view vm, std::string_view key_text) {
  if (!IsValidVmName(vm)) return BadVmName(vm);
  auto key = ParseKeyText(key_text);
  if (!key) return key.error();
  Env& env = *Env::Posix();
  struct stat st {};
  if (::stat(dir_.c_str(), &st) != 0) {
    // Only a missing directory is created (and so made 0700); an existing one keeps its mode.
    if (Status made = env.MakeDirs(dir_, 0700); !made) return made.error();
  }
  if (Status trusted = CheckTrusted(env, dir_); !trusted) return trusted.error();
  // WriteFileAtomic creates the temporary file 0600 with O_NOFOLLOW and renames it over the
  // old key: the key is never readable by others, and a symlink at the key's path is replaced,
  // not followed.
  return env.WriteFileAtomic(KeyPath(vm), *key + "\n", 0600);
}

Status KeyStore::Revoke(std::string_view vm) {
  if (!IsValidVmName(vm)) return BadVmName(vm);
  const std::string path = KeyPath(vm);
  if (::unlink(path.c_str()) != 0) {
    int err = errno;
    if (err == ENOENT) return MakeError("no-key", "no key for VM " + std::string(vm));
    return MakeError("io", "cannot remove " + path + ": " + std::strerror(err));
  }
  return Ok{};
}

Result<std::vector<KeyInfo>> KeyStore::List() const {
  std::vector<KeyInfo> keys;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(dir_.c_str()), ::closedir);
  if (!dir) {
    if (errno == ENOENT) return keys;
    return MakeError("io", "cannot list " + dir_ + ": " + std::strerror(errno));
  }
  while (dirent* e = ::readdir(dir.get())) {
    std::string_view name = e->d_name;
    if (name.size() <= kKeySuffix.size() ||
        name.substr(name.size() - kKeySuffix.size()) != kKeySuffix) {
      continue;
    }
    std::string_view vm = name.substr(0, name.size() - kKeySuffix.size());
    if (!IsValidVmName(vm)) continue;
    auto lookup = Read(vm);
    if (!lookup) continue;  // cannot happen: the name was just validated
    KeyInfo info{std::string(vm), "", lookup->problem, lookup->reason};
    if (lookup->key) info.fingerprint = KeyFingerprint(*lookup->key);
    keys.push_back(std::move(info));
  }
  std::sort(keys.begin(), keys.end(),
            [](const KeyInfo& a, const KeyInfo& b) { return a.vm < b.vm; });
  return keys;
}

}  // namespace qvmr
