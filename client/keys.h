// `~/.qvm-remote/auth.key`: the VM's half of the shared key (64 lowercase hex, no newline, 0600).
// `key gen|show|import`; the dom0 half is `qvm-remote-dom0 authorize VM -`, fed by the pull form
// printed here (never a key on a command line: CONTRACT.md "Commands").
// Thread safety: none needed (one process, one file).
#ifndef QVMR_CLIENT_KEYS_H_
#define QVMR_CLIENT_KEYS_H_

#include <string>
#include <string_view>

#include "client/queue.h"
#include "engine/base/result.h"

namespace qvmr::client {

// The key, lowercased (ParseKeyText: 64 hex, one trailing "\n" allowed). Error code "no-key"
// when the file is missing, "bad-key" when it holds anything else, "io" otherwise.
Result<std::string> LoadKey(const Paths& paths);

// Generates 32 bytes from getrandom(2) as 64 lowercase hex and stores them: created 0600 with
// O_EXCL (so no moment exists where another user could read it); an existing key is kept and the
// call fails with code "exists" unless `force`, which replaces it atomically (a 0600 temporary
// renamed over it). Returns the key.
Result<std::string> GenerateKey(const Paths& paths, bool force);

// Stores `key_text` (ParseKeyText's rules) atomically, replacing any key. Returns the key.
Result<std::string> ImportKey(const Paths& paths, std::string_view key_text);

// This VM's name as dom0 knows it (the hostname; "VMNAME" if there is none).
std::string ThisVmName();

// The one line that tells dom0's admin how to take this VM's key:
// qvm-run --pass-io VM 'cat ~/.qvm-remote/auth.key' | sudo qvm-remote-dom0 authorize VM -
std::string AuthorizeHint();

}  // namespace qvmr::client

#endif  // QVMR_CLIENT_KEYS_H_
