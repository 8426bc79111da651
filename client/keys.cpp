#include "client/keys.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "engine/wire/key_fingerprint.h"

namespace qvmr::client {
namespace {

// A key file is 64 bytes (65 with a newline); anything far longer is not a key.
constexpr std::size_t kMaxKeyFileBytes = 256;

Error Io(const std::string& what, const std::string& path) {
  return MakeError("io", what + " " + path + ": " + std::strerror(errno));
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Io("cannot write", path);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return Io("cannot write", path);
  return Ok{};
}

// Writes `key` to a fresh 0600 temporary and renames it over the key file.
Status ReplaceKey(const Paths& paths, const std::string& key) {
  const std::string tmp = paths.key + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Io("cannot create", tmp);
  Status s = WriteAll(fd, key, tmp);
  ::close(fd);
  if (s && ::rename(tmp.c_str(), paths.key.c_str()) != 0) s = Io("cannot replace", paths.key);
  if (!s) ::unlink(tmp.c_str());
  return s;
}

Status EnsureDataDir(const Paths& paths) {
  if (::mkdir(paths.data.c_str(), 0700) != 0 && errno != EEXIST) {
    return Io("cannot create directory", paths.data);
  }
  return Ok{};
}

}  // namespace

Result<std::string> LoadKey(const Paths& paths) {
  int fd = ::open(paths.key.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return MakeError("no-key", "no key configured");
    return Io("cannot read", paths.key);
  }
  char buf[kMaxKeyFileBytes + 1];
  std::size_t got = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf + got, sizeof buf - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
    if (got == sizeof buf) break;
  }
  ::close(fd);
  auto key = ParseKeyText(std::string_view(buf, got));
  if (!key) return MakeError("bad-key", paths.key + ": " + key.error().message);
  return key;
}

Result<std::string> GenerateKey(const Paths& paths, bool force) {
  unsigned char raw[32];
  std::size_t got = 0;
  while (got < sizeof raw) {
    ssize_t n = ::getrandom(raw + got, sizeof raw - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return MakeError("io", std::string("getrandom: ") + std::strerror(errno));
    got += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key;
  for (unsigned char b : raw) {
    key += kHex[b >> 4];
    key += kHex[b & 0xf];
  }
  if (auto s = EnsureDataDir(paths); !s) return s.error();
  int fd = ::open(paths.key.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno != EEXIST) return Io("cannot create", paths.key);
    if (!force) return MakeError("exists", "a key already exists at " + paths.key);
    if (auto s = ReplaceKey(paths, key); !s) return s.error();
    return key;
  }
  Status s = WriteAll(fd, key, paths.key);
  ::close(fd);
  if (!s) {
    ::unlink(paths.key.c_str());
    return s.error();
  }
  return key;
}

Result<std::string> ImportKey(const Paths& paths, std::string_view key_text) {
  auto key = ParseKeyText(key_text);
  if (!key) return MakeError("bad-key", "invalid key (expected 64 hex characters)");
  if (auto s = EnsureDataDir(paths); !s) return s.error();
  if (auto s = ReplaceKey(paths, *key); !s) return s.error();
  return key;
}

std::string ThisVmName() {
  utsname u{};
  if (::uname(&u) == 0 && u.nodename[0] != '\0') return u.nodename;
  return "VMNAME";
}

std::string AuthorizeHint() {
  const std::string vm = ThisVmName();
  return "qvm-run --pass-io " + vm +
         " 'cat ~/.qvm-remote/auth.key' | sudo qvm-remote-dom0 authorize " + vm + " -";
}

}  // namespace qvmr::client
