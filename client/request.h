// One request's walk, top to bottom: load the key → check the body → submit → wait → show the
// answer (or withdraw) → record it. `qvm-remote CMD`, `ping` and `status` all go through here.
// CONTRACT.md "Exit codes and outcomes", "Wire protocol v2".
#ifndef QVMR_CLIENT_REQUEST_H_
#define QVMR_CLIENT_REQUEST_H_

#include <cstdint>
#include <string>

#include "client/queue.h"

namespace qvmr::client {

struct CommandOptions {
  std::uint32_t timeout_seconds = 300;
  bool quiet = false;
  bool verbose = false;
  bool json = false;
};

// Sends `body` as a command and returns the status to exit with: the remote status (signal N →
// 128+N), 124, 126, 130, or 255 (CONTRACT.md). Prints the answer's `.out` on stdout and `.err` on
// stderr (or the `--json` object), and one line naming what to do next on every failure.
// An empty or over-1-MiB body is refused before anything is written (255). Blocks SIGINT just
// before it submits (the waiter reads Ctrl-C from then on).
int RunCommand(const Paths& paths, const CommandOptions& options, const std::string& body);

enum class PingResult { kResponding, kNotResponding, kRefused, kNoKey };
// A v2 ping (kind=ping, empty body), waited for at most `budget_ms`; withdrawn if unanswered and
// unclaimed. Prints nothing. `detail` gets dom0's `.err` line when it refused (kRefused).
// Blocks SIGINT before it submits.
PingResult Ping(const Paths& paths, std::int64_t budget_ms, std::string* detail);

// `qvm-remote ping`: 0 responding ("qvm-remote-dom0 is responding."), 1 otherwise, with the
// reference's troubleshooting text.
int PingCommand(const Paths& paths);
// `qvm-remote status`: key fingerprint, queue counts, a 5 s ping; 0 only if responding.
int StatusCommand(const Paths& paths);

}  // namespace qvmr::client

#endif  // QVMR_CLIENT_REQUEST_H_
