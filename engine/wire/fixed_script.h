// The one fixed script dom0 runs in a VM (docs/protocol.md "What the fixed scripts do"), and the
// parameter line that tells it what to do. The script text never changes: no VM byte and no
// parameter is ever pasted into it; parameters reach it as data, on the first line of its stdin.
//
// How the daemon's transports use it:
//   fetch/recover: write ScriptParamsLine({.op = kFetch, .max_claims = n}) to the call's stdin
//     and feed the call's stdout to a FetchBatchReader (frame.h). A fetch that claimed nothing
//     ends after its end marker. One that claimed something (a "held fetch") then waits for one
//     more line on stdin: dom0 closes stdin (the script exits 0), or sends a delivery batch
//     exactly as for deliver below and reads the AckReader stream that follows — so the answers
//     of commands that finished meanwhile go back in the call that claimed them;
//   deliver: write ScriptParamsLine({.op = kDeliver}), then a delivery batch (frame.h's
//     DeliveryBeginLine, ResultHeaderLine + the blobs, RemovalLine, AuditLine, DeliveryEndLine),
//     and feed stdout to an AckReader. (The script prints the ack stream's version line only
//     after reading the batch's first line, so a held fetch's stdout is the fetch batch, then the
//     ack stream, never interleaved.)
// The call itself is `qvm-run --no-gui --pass-io --no-autostart -- VM FixedScript()` (Qubes'
// VMShell feeds bash `SCRIPT; exit\n`, then our stdin, on one stream) or, for the local transport
// and tests, `/bin/sh -c FixedScriptCommand()` with HOME = the VM's directory.
//
// The script is one line of POSIX sh for bash, dash and busybox sh, using only applets busybox
// has (stat -c, dd iflag=count_bytes,fullblock, head -c on files, mv -T, ln -T, sleep 0.1). It
// reads stdin only with `read` (byte by byte in every shell) and `dd ... iflag=count_bytes`
// (which never reads past its count), never with busybox `head -c`, which over-reads a pipe.
// It contains no single quote, so it survives being wrapped in one.
#ifndef QVMR_ENGINE_WIRE_FIXED_SCRIPT_H_
#define QVMR_ENGINE_WIRE_FIXED_SCRIPT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/base/limits.h"
#include "engine/base/result.h"

namespace qvmr {

// The script, one line, no trailing newline. Valid on its own and with "; exit" appended.
std::string_view FixedScript();
// FixedScript() + "; exit": the argument of `sh -c` for the local transport.
std::string FixedScriptCommand();

enum class ScriptOp { kFetch, kRecover, kDeliver };

struct ScriptParams {
  ScriptOp op = ScriptOp::kFetch;
  std::uint32_t max_claims = 0;                             // 0..kMaxClaimsPerCall
  std::int64_t pairing_delay_ms = limits::kPairingDelayMs;  // 0..1 day
  std::int64_t wait_ms = limits::kMaxFetchWaitMs;           // 0..kMaxFetchWaitMs
  std::uint32_t max_scan = limits::kMaxScanNamesPerPass;    // 1..kMaxScanNamesPerPass
};

// "<op> <max-claims> <pairing-delay-ms> <wait-ms> <max-scan>\n", e.g. "fetch 4 5000 1000 1000\n".
// Error "script-params" for a value out of its range. (deliver ignores all but the op.)
Result<std::string> ScriptParamsLine(const ScriptParams& params);

}  // namespace qvmr

#endif  // QVMR_ENGINE_WIRE_FIXED_SCRIPT_H_
