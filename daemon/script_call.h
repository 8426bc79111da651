// One call of the fixed script in a VM (engine/wire/fixed_script.h), whatever carries it:
// `/bin/sh -c 'SCRIPT; exit'` for the local transport, `qvm-run ... VM 'SCRIPT'` for poll. The
// transports differ only in the command they start; this file does the rest, once:
//   - the call's stdin gets the parameter line, then (deliver) the delivery batch, streaming
//     large result files from the spool in fixed-size pieces;
//   - its stdout goes only through the bounded frame readers (engine/wire/frame.h);
//   - its stderr is capped and kept as an escaped excerpt for one log line;
//   - a held fetch keeps the call open after a batch with claims, and sends the answers ready by
//     then through the same call (one `qvm-run` for a quick command, not two);
//   - a wall-clock limit: at expiry the call's process group is killed and the call counts as
//     cut short. dom0 judges a call only by the markers the script prints, never by the exit
//     status of the carrier (qvm-run's is meaningless for a halted VM).
//
// Thread safety: calls are independent; several may run at once (one per VM).
#ifndef QVMR_DAEMON_SCRIPT_CALL_H_
#define QVMR_DAEMON_SCRIPT_CALL_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "daemon/processes.h"
#include "engine/base/result.h"
#include "engine/wire/fixed_script.h"
#include "engine/wire/frame.h"

namespace qvmr {

// The command that carries the script, and its environment (exactly; nothing of the daemon's).
struct CallCommand {
  std::vector<std::string> argv;  // argv[0] absolute
  std::vector<std::string> env;
};

// A piece of what a delivery writes: bytes held in memory, or a whole file streamed from disk
// (a spool file: complete and no longer written when it is delivered).
struct DeliveryBlob {
  std::string bytes;
  std::string path;  // when non-empty, the file's content instead of `bytes`
};

struct DeliveryItem {
  std::string cid;
  DeliveryBlob out;
  DeliveryBlob err;
  std::string meta;
  std::string exit;
};

struct DeliveryBatch {
  std::vector<DeliveryItem> results;
  std::vector<std::pair<QueueDir, std::string>> removals;  // cid or cid.auth names only
  std::string audit_line;                                  // "" = none
  std::vector<std::string> audit_lines;  // more lines for ~/.qvm-remote/audit.log, in order
};

struct DeliveryOutcome {
  std::vector<Ack> acks;
  Status status = Ok{};
  std::string stderr_excerpt;
};

struct FetchOutcome {
  // Records the VM claimed: each needs an answer or a journal row, even when `status` failed
  // later in the stream (those bodies already sit in running/).
  std::vector<FetchRecord> records;
  FetchTrailer trailer;
  // ok iff the end marker came; else why not (cut short, a script error, a frame violation).
  Status status = Ok{};
  std::string stderr_excerpt;  // escaped, bounded
  // A held fetch's delivery (HeldDelivery returned a batch): its acknowledgements and status.
  std::optional<DeliveryOutcome> delivery;
};

// Called by a held fetch once its batch came back clean with at least one claim, while the call
// is kept open (the script waits on its stdin): returns the answers to deliver in the same call,
// or nullopt to end the call. It may take a while (the daemon waits for the commands it just
// claimed); the delivery's own time limit starts when it returns.
using HeldDelivery = std::function<std::optional<DeliveryBatch>(const FetchOutcome&)>;

struct CallLimits {
  std::int64_t fetch_ms = 6000;         // the script's own wait (≤ 1 s) + 5 s
  std::int64_t deliver_base_ms = 5000;  // + deliver_per_mib_ms per MiB sent
  std::int64_t deliver_per_mib_ms = 1000;
  std::size_t max_stderr_bytes = 4096;
};

// Runs a fetch or recover call. `params.op` must be kFetch or kRecover. With `then`, a fetch
// that claimed something is held open for `then`'s delivery (fixed_script.h "held fetch").
FetchOutcome CallFetch(Processes& processes, const CallCommand& command, const ScriptParams& params,
                       const CallLimits& limits = {}, const HeldDelivery& then = {});

// Runs a deliver call with `batch`. Files that vanished or cannot be read make the call fail
// before anything is sent (never a batch whose sizes lie).
DeliveryOutcome CallDeliver(Processes& processes, const CallCommand& command,
                            const DeliveryBatch& batch, const CallLimits& limits = {});

}  // namespace qvmr

#endif  // QVMR_DAEMON_SCRIPT_CALL_H_
