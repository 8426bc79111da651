// The client's exit status: the one mapping from an answered request (its `.meta` outcome and its
// `.exit` text) to the number `qvm-remote CMD` exits with. CONTRACT.md "Exit codes and outcomes";
// docs/protocol.md §8. The daemon's side (the status written to `.exit` when nothing ran) is
// OutcomeExitStatus in engine/base/codes.h; this is the client's.
//
// Thread safety: pure functions; safe for concurrent use.
#ifndef QVMR_ENGINE_WIRE_EXIT_STATUS_H_
#define QVMR_ENGINE_WIRE_EXIT_STATUS_H_

#include <optional>
#include <string_view>

#include "engine/base/codes.h"

namespace qvmr {

// The client's own statuses (CONTRACT.md): no answer by claim + timeout + 15 s, denied by policy,
// Ctrl-C, and qvm-remote's own failure (usage, no key, auth, malformed, dom0 error, ...).
inline constexpr int kExitTimeout = 124;
inline constexpr int kExitDenied = 126;
inline constexpr int kExitInterrupted = 130;
inline constexpr int kExitFailure = 255;

// A parsed `.exit`: a status 0..255, or a death by signal 1..127 (written `-N`).
struct ExitFile {
  int status = 0;             // 0..255; 0 when `signal` is set
  std::optional<int> signal;  // N of `-N`
};

// Strict: ASCII decimal 0..255 without sign or leading zeros, or `-N` with N 1..127, optionally
// followed by one "\n" (the reference writes none; we tolerate one). nullopt for anything else
// (an empty `.exit`, which the reference misreads as 1, included).
std::optional<ExitFile> ParseExitFile(std::string_view text);

// The status `qvm-remote CMD` exits with for an answered request:
// - outcome ok, or none (a reference daemon writes no `outcome=`): the remote status, or 128+N
//   for a death by signal N; an `.exit` that does not parse is qvm-remote's failure, 255;
// - denied 126, timeout 124; auth, malformed, interrupted and error 255.
// `exit_text` is read only for ok.
int ClientExitStatus(std::optional<Outcome> outcome, std::string_view exit_text);

}  // namespace qvmr

#endif  // QVMR_ENGINE_WIRE_EXIT_STATUS_H_
