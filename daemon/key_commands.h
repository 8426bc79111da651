// The key subcommands of `qvm-remote-dom0`: `authorize VM [KEY|-]`, `revoke VM`, `keys`
// (CONTRACT.md "Commands", DESIGN.md "Command lines"). main.cpp parses the command line and calls
// one of these; they talk to the KeyStore and print what happened.
//
// Output: results on `out` (`authorized work (fingerprint 0123456789abcdef)`), every error as one
// line on `err` starting `qvm-remote-dom0: ` and saying what to do next. No function here ever
// prints key material: a key is shown only as its fingerprint (engine/wire/key_fingerprint.h),
// the same 16 hex digits `qvm-remote key show` prints in the VM.
//
// Exit status: kDom0ExitOk (0) on success; kDom0ExitFailure (1) for a runtime refusal or
// failure — a text that is not a key (wherever it came from: it is data, not syntax), nothing to
// revoke, an untrusted key directory, an I/O error; kDom0ExitUsage (2) for a VM name that is not a
// Qubes name (main.cpp refuses those while parsing; the check here is for direct callers).
//
// Thread safety: none needed (one call per process); each function touches only its arguments
// and the key directory. Never throws (stream errors aside).
#ifndef QVMR_DAEMON_KEY_COMMANDS_H_
#define QVMR_DAEMON_KEY_COMMANDS_H_

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "engine/base/result.h"

namespace qvmr {

inline constexpr int kDom0ExitOk = 0;
inline constexpr int kDom0ExitFailure = 1;
inline constexpr int kDom0ExitUsage = 2;

// The most bytes read from stdin for a key: a key is 65, the rest is room for a mistake (a whole
// file piped by accident) to be reported as "not a key" instead of read without bound.
inline constexpr std::size_t kMaxKeyInputBytes = 4096;

// Reads a key's text from `fd`: until EOF, or — when `one_line` (a terminal) — through the first
// "\n". Fails ("bad-key") past kMaxKeyInputBytes or on an empty input, ("io") on a read error.
// The text is returned as read; ParseKeyText judges it.
Result<std::string> ReadKeyInput(int fd, bool one_line);

// `authorize VM [KEY|-]`. `key_arg` is the KEY word: std::nullopt or "-" reads the key from
// `in_fd` (when `in_fd` is a terminal: one line, after a prompt on `err`, with the terminal's echo
// off until the line is read or a signal ends the process); any other word is the key itself,
// accepted with a warning on `err` (a command line is visible to every process and lands in
// sudo's log). Prints `authorized VM (fingerprint F)`.
int AuthorizeCommand(const std::string& key_dir, std::string_view vm,
                     const std::optional<std::string>& key_arg, int in_fd, std::ostream& out,
                     std::ostream& err);

// `revoke VM`: removes the VM's key. Prints `revoked VM (fingerprint F)` (or without the
// fingerprint when the file was not a usable key). No key: exit 1 with a message.
int RevokeCommand(const std::string& key_dir, std::string_view vm, std::ostream& out,
                  std::ostream& err);

// `keys`: one line per VM, `VM  FINGERPRINT` or `VM  PROBLEM: reason` (untrusted, invalid,
// unreadable), VM names padded to one column. No keys: `no keys configured: nothing will run`.
// Exit 0 whenever the directory could be listed, problems or not (they are on the lines).
int KeysCommand(const std::string& key_dir, std::ostream& out, std::ostream& err);

}  // namespace qvmr

#endif  // QVMR_DAEMON_KEY_COMMANDS_H_
