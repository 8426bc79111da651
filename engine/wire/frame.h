// Frames: the byte streams between dom0 and the fixed script in a VM (docs/protocol.md "Frames").
// Three streams, each a version marker line first and an end marker line last, text header lines
// (at most limits::kMaxFrameHeaderBytes, newline included) with decimal sizes, and sized blobs
// right after their header (no separator):
//
//   fetch batch (VM -> dom0, printed by the script for `fetch`/`recover`):
//     qvm-remote-fetch 1
//     request <cid> paired <auth-size> <body-size>     blobs: .auth iff auth-size <= 4096,
//                                                      then body iff body-size <= 1048576
//     request <cid> no-token <body-size>               no blob
//     end <removed> <waiting>
//   acknowledgements (VM -> dom0, printed by the script for `deliver`):
//     qvm-remote-ack 1
//     ok <cid> | exists <cid> | failed <cid>
//     end
//   delivery batch (dom0 -> VM, read by the script for `deliver`):
//     qvm-remote-deliver 1
//     result <cid> <out> <err> <meta> <exit>           blobs: .out .err .meta .exit in order
//     remove pending|running <cid or cid.auth>
//     audit <size>                                     blob: one line for ~/.qvm-remote/audit.log
//     end
//
// Instead of its end marker (or its version marker), the script may print `error <code>`: it
// refused (bad parameters, a symlinked queue directory, a cut-short delivery). EOF before the
// end or error marker means the call was cut short.
//
// Everything the readers see comes from a VM and is hostile: they hold at most one header line
// and the blob in progress, count records and bytes against caps, and stop at the first
// violation with an Error naming it. The writers are for bytes dom0 (or a test) makes: they
// refuse what the grammar cannot carry instead of emitting it.
//
// Thread safety: readers are single-threaded objects (one per call); the functions are pure.
// History: version 1 (2026-11), the first.
#ifndef QVMR_ENGINE_WIRE_FRAME_H_
#define QVMR_ENGINE_WIRE_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/limits.h"
#include "engine/base/result.h"
#include "engine/wire/token.h"

namespace qvmr {

inline constexpr int kFrameVersion = 1;
inline constexpr std::string_view kFetchMarker = "qvm-remote-fetch 1";
inline constexpr std::string_view kAckMarker = "qvm-remote-ack 1";
inline constexpr std::string_view kDeliverMarker = "qvm-remote-deliver 1";

// Error codes of the readers (Error::code); the message says what was seen.
//   frame-version      first line is not the stream's version marker
//   frame-header       a header line longer than 128 B, unknown keyword, wrong field count,
//                      a field that is not canonical decimal, an invalid cid, a bad error code
//   frame-caps         more records or bytes than the reader's caps
//   frame-trailing     bytes after the end or error marker
//   frame-cut-short    (Finish) EOF before the end or error marker, or inside a blob
//   vm-script-error    (Finish) the script printed `error <code>`; the message is the code

// ---- Fetch batches ----------------------------------------------------------------------------

enum class FetchKind { kPaired, kNoToken };

// One claimed request as the VM saw it. The claim has happened in the VM (the body is in
// running/), so every record needs an answer or a journal entry.
struct FetchRecord {
  std::string cid;  // ClassifyCid(cid) != kInvalid, checked by the reader
  CidShape shape = CidShape::kInvalid;
  FetchKind kind = FetchKind::kPaired;
  std::uint64_t auth_size = 0;  // the `.auth`'s size in the VM (0 for no-token)
  std::uint64_t body_size = 0;  // the body's size in the VM
  // Present iff kind == kPaired and auth_size <= kMaxAuthBytes (a larger one is never sent:
  // validation answers it malformed-auth from auth_size).
  std::optional<std::string> auth;
  // Present iff kind == kPaired and body_size <= kMaxBodyBytes (a larger one is never sent:
  // validation answers it too-large from body_size).
  std::optional<std::string> body;
};

// The fetch batch's end marker: names the script removed from pending/ (bad names, non-regular
// files, symlinks) and bodies it saw but did not claim (not ready, or past max-claims).
struct FetchTrailer {
  std::uint64_t removed = 0;
  std::uint64_t waiting = 0;
};

struct FetchReaderLimits {
  std::size_t max_records = limits::kMaxFetchRecordsPerBatch;
  std::uint64_t max_bytes = limits::kMaxFetchBatchBytes;  // everything fed, headers included
};

// Reads one fetch batch incrementally. Memory: one header line (<= 128 B) plus the record in
// progress (<= 4 KiB + 1 MiB), plus the records not yet taken.
//
//   FetchBatchReader reader({.max_records = claims});
//   while (read chunk) { if (!reader.Feed(chunk).ok()) break; use(reader.TakeRecords()); }
//   Status end = reader.Finish();  // ok iff the end marker came
//
// Records already taken stay valid whatever comes later (they were claimed in the VM).
class FetchBatchReader {
 public:
  explicit FetchBatchReader(FetchReaderLimits limits = {});

  // Consumes `bytes`. Returns the first violation (and keeps returning it; the reader stops);
  // ok otherwise, including after the end or error marker (then only an empty chunk is ok).
  Status Feed(std::string_view bytes);
  // Complete records since the last call, in stream order.
  std::vector<FetchRecord> TakeRecords();
  // True once the end or error marker was read.
  bool finished() const { return end_seen_ || script_error_.has_value(); }
  // Call at EOF: ok iff the end marker was read and no violation happened; else the violation,
  // vm-script-error, or frame-cut-short.
  Status Finish() const;
  // Valid once the end marker was read.
  const FetchTrailer& trailer() const { return trailer_; }
  // The script's `error <code>`, if it printed one.
  const std::optional<std::string>& script_error() const { return script_error_; }

 private:
  Status Fail(std::string code, std::string message);
  Status OnLine(std::string_view line);
  void CompleteRecord();

  FetchReaderLimits limits_;
  std::string line_;  // header in progress (without its newline)
  bool version_seen_ = false;
  bool end_seen_ = false;
  std::optional<std::string> script_error_;
  std::optional<Error> error_;
  std::uint64_t bytes_fed_ = 0;
  std::size_t records_seen_ = 0;
  // The record whose blobs are arriving: auth first, then body.
  std::optional<FetchRecord> pending_;
  std::uint64_t auth_left_ = 0;
  std::uint64_t body_left_ = 0;
  std::vector<FetchRecord> ready_;
  FetchTrailer trailer_;
};

// ---- Acknowledgements -------------------------------------------------------------------------

// ok: written, `.exit` placed; exists: `results/<cid>.exit` was there, nothing written; failed:
// the VM could not write it (disk full, a directory in the way), `.exit` not placed.
enum class AckKind { kOk, kExists, kFailed };

struct Ack {
  std::string cid;
  AckKind kind = AckKind::kOk;
};

// Reads one acknowledgement stream; same contract as FetchBatchReader (no blobs).
class AckReader {
 public:
  explicit AckReader(std::size_t max_acks = limits::kMaxAcksPerBatch);
  Status Feed(std::string_view bytes);
  std::vector<Ack> TakeAcks();
  bool finished() const { return end_seen_ || script_error_.has_value(); }
  Status Finish() const;
  const std::optional<std::string>& script_error() const { return script_error_; }

 private:
  Status Fail(std::string code, std::string message);
  Status OnLine(std::string_view line);

  std::size_t max_acks_;
  std::string line_;
  bool version_seen_ = false;
  bool end_seen_ = false;
  std::optional<std::string> script_error_;
  std::optional<Error> error_;
  std::size_t acks_seen_ = 0;
  std::vector<Ack> ready_;
};

// ---- Delivery batches (dom0 -> VM) ------------------------------------------------------------
// A batch is: DeliveryBeginLine(), then any number of results, removals and audit lines, then
// DeliveryEndLine(). Each function returns the exact bytes to write; nothing is buffered here.

std::string DeliveryBeginLine();  // "qvm-remote-deliver 1\n"
std::string DeliveryEndLine();    // "end\n"

struct ResultSizes {
  std::uint64_t out = 0;   // <= kMaxDeliveredStreamBytes
  std::uint64_t err = 0;   // <= kMaxDeliveredStreamBytes
  std::uint64_t meta = 0;  // <= kMaxDeliveredMetaBytes
  std::uint64_t exit = 0;  // 1..kMaxDeliveredExitBytes (`.exit` is never empty)
};

// The header of one result; the caller then writes exactly sizes.out bytes of `.out`, then
// `.err`, `.meta` and `.exit` (e.g. streaming `.out` from its spool file). Error
// "frame-writer" for a cid that is not a cid shape or a size past its cap.
Result<std::string> ResultHeaderLine(std::string_view cid, const ResultSizes& sizes);
// Header and the four blobs, for results held in memory.
Result<std::string> FormatResult(std::string_view cid, std::string_view out, std::string_view err,
                                 std::string_view meta, std::string_view exit);

enum class QueueDir { kPending, kRunning };
// "remove pending <name>\n". `name` must be a cid shape or `<cid>.auth` (nothing else can be
// named, so no removal can reach outside the two directories or touch a `.cmd`).
Result<std::string> RemovalLine(QueueDir dir, std::string_view name);
// "audit <size>\n<line>": one line appended to ~/.qvm-remote/audit.log (the script adds the
// newline). Refuses a line with a newline or NUL inside, or longer than kMaxVmAuditLineBytes.
Result<std::string> AuditLine(std::string_view line);

// ---- Writers of the VM's streams (tests; a future agent) --------------------------------------

std::string FetchBeginLine();  // "qvm-remote-fetch 1\n"
// The record's header and the blobs it carries; `record.auth`/`body` must be present exactly
// when the grammar says they follow (FetchRecord's comments) and match the sizes.
Result<std::string> FormatFetchRecord(const FetchRecord& record);
std::string FetchEndLine(const FetchTrailer& trailer);  // "end <removed> <waiting>\n"
std::string AckBeginLine();                             // "qvm-remote-ack 1\n"
Result<std::string> AckLine(const Ack& ack);            // "ok <cid>\n", ...
std::string AckEndLine();                               // "end\n"
// "error <code>\n"; code is 1..32 of [a-z-].
Result<std::string> ScriptErrorLine(std::string_view code);

}  // namespace qvmr

#endif  // QVMR_ENGINE_WIRE_FRAME_H_
