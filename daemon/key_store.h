// The VMs' keys in dom0: one file per VM, `/etc/qubes/remote.d/<vm>.key` (under --root), holding
// the 64 lowercase hex characters and a newline, 0600 in a 0700 directory (DESIGN.md "Paths").
// A key is the VM's whole authority to ask dom0 for anything, so the store is strict both ways:
// what it writes is private from the first byte, and what it reads is used only when nobody but
// root (or the daemon's own user) could have written or read it.
//
// Keys are read from the file at every verification (validation step 7), never cached, so
// `revoke` takes effect for the next request without a signal to the daemon.
//
// VM names are checked with IsValidVmName (engine/base/vm_name.h) before they become part of a
// path: a name like `../x`, `a/b` or `` never reaches the filesystem.
//
// Thread safety: a KeyStore holds only its directory; all methods are safe for concurrent use
// (Authorize writes through a temporary file and rename, so a concurrent Read sees the old key or
// the new one, never half of one). It touches the real filesystem (no Env seam: the key file is
// opened with O_NOFOLLOW and checked through its fd, which Env cannot express).
#ifndef QVMR_DAEMON_KEY_STORE_H_
#define QVMR_DAEMON_KEY_STORE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"

namespace qvmr {

// Why a VM has no usable key. Every value but kNone is answered `auth` / `no-key`; the caller
// logs `reason` (which never contains key material) so an administrator can fix the file.
enum class KeyProblem {
  kNone,        // the key is usable
  kMissing,     // no <vm>.key file
  kInvalid,     // the file's content is not one key (wrong length, CRLF, not hex, > 4 KiB)
  kUntrusted,   // a symlink, not a regular file, owned by another user, readable or writable
                // by group or others, or in a directory that fails CheckTrusted
  kUnreadable,  // any other I/O error (the message has errno's text)
};

struct KeyLookup {
  std::optional<std::string> key;  // 64 lowercase hex; set exactly when problem == kNone
  KeyProblem problem = KeyProblem::kMissing;
  std::string reason;  // empty when problem == kNone
};

struct KeyInfo {
  std::string vm;
  std::string fingerprint;  // KeyFingerprint(key); empty when problem != kNone
  KeyProblem problem = KeyProblem::kNone;
  std::string reason;
};

class KeyStore {
 public:
  // The largest key file read; a key is 65 bytes, the rest is room for mistakes to be reported
  // as kInvalid rather than read whole.
  static constexpr std::size_t kMaxKeyFileBytes = 4096;

  // `dir` is the key directory (`<root>/etc/qubes/remote.d`); it need not exist yet.
  explicit KeyStore(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  // `<dir>/<vm>.key`. REQUIRES: IsValidVmName(vm).
  std::string KeyPath(std::string_view vm) const;

  // The VM's key as the file holds it now. Fails (code "bad-vm-name") only for a VM name that
  // is not a Qubes name; every problem with the file is a KeyLookup with a problem and reason.
  // Cost: an open, an fstat, a read of at most 4 KiB and a stat per parent directory.
  Result<KeyLookup> Read(std::string_view vm) const;

  // Stores `key_text` (ParseKeyText's form: 64 hex digits of either case, one optional "\n";
  // stored lowercased with one "\n") as the VM's key, replacing any previous one atomically.
  // Creates the directory 0700 when missing; the file is 0600 from its creation. Fails with
  // "bad-vm-name", "bad-key" (never quoting the key), "untrusted" when the directory fails the
  // trust check (a key stored there would be refused at every read), or "io".
  Status Authorize(std::string_view vm, std::string_view key_text);

  // Removes the VM's key (a symlink in its place is removed too, never followed). Fails with
  // "bad-vm-name", "no-key" ("no key for VM <vm>") when there is none, or "io".
  Status Revoke(std::string_view vm);

  // Every `<valid vm name>.key` entry of the directory, sorted by VM, with its fingerprint or its
  // problem; other names (temporary files, `README`, `../`-like names) are skipped. A missing
  // directory is an empty list; an unreadable one fails with "io". Never returns key material.
  Result<std::vector<KeyInfo>> List() const;

 private:
  const std::string dir_;
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_KEY_STORE_H_
