// Every bound on what a VM can make dom0 hold, read or do, in one place, with a line of why.
// Everything a VM sends is hostile input (docs/threat-model.md): a bound here is the most dom0
// will read, store or wait for; the code that reads enforces it before it allocates.
// Values marked CONTRACT are pinned by ../shared/CONTRACT.md; change them only with it.
#ifndef QVMR_ENGINE_BASE_LIMITS_H_
#define QVMR_ENGINE_BASE_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace qvmr::limits {

// CONTRACT: a command body is 1 B..1 MiB; a larger one is judged by its size, never read.
inline constexpr std::uint64_t kMaxBodyBytes = 1048576;
// CONTRACT: `.auth` is one short line; 4 KiB leaves room for future fields.
inline constexpr std::size_t kMaxAuthBytes = 4096;
// CONTRACT: v2 timeout range in seconds (a day is the longest a request may hold a worker).
inline constexpr std::uint32_t kMaxTimeoutSeconds = 86400;
// CONTRACT: a body whose `.auth` has not appeared this long after it is answered `no-token`.
inline constexpr std::int64_t kPairingDelayMs = 5000;
// CONTRACT: freshness windows (v2 UTC cid time; v1 local time without a zone, so ±26 h).
inline constexpr std::int64_t kFreshnessV2Ms = 10LL * 60 * 1000;
inline constexpr std::int64_t kFreshnessV1Ms = 26LL * 3600 * 1000;
// CONTRACT: delivered rows are pruned past these windows (v1 keeps 2 × its freshness).
inline constexpr std::int64_t kPruneWindowV2Ms = 10LL * 60 * 1000;
inline constexpr std::int64_t kPruneWindowV1Ms = 52LL * 3600 * 1000;
// CONTRACT: journal rows per VM; a full journal refuses and never evicts.
inline constexpr std::size_t kJournalCapV2 = 20000;
inline constexpr std::size_t kJournalCapV1 = 50000;
// CONTRACT: each frame header line, so a script's `read` and dom0's reader stay small.
inline constexpr std::size_t kMaxFrameHeaderBytes = 128;
// Frames (docs/protocol.md "Frames"): what one fetch batch may make dom0 hold. A batch carries
// at most the claims dom0 asked for; these are the reader's defaults when the caller sets none.
inline constexpr std::size_t kMaxFetchRecordsPerBatch = 256;
// 256 claims of a 1 MiB body and a 4 KiB `.auth` fit, with headers.
inline constexpr std::uint64_t kMaxFetchBatchBytes = 260ULL * 1024 * 1024;
// Acknowledgements: one short line per delivered cid.
inline constexpr std::size_t kMaxAcksPerBatch = 1024;
// Delivery (dom0 -> VM): the sizes a writer accepts, so a result header stays within 128 B.
// `.out`/`.err` are capped by the policy's max_output long before this.
inline constexpr std::uint64_t kMaxDeliveredStreamBytes = 1ULL << 30;
inline constexpr std::uint64_t kMaxDeliveredMetaBytes = 64 * 1024;
inline constexpr std::uint64_t kMaxDeliveredExitBytes = 16;
// The VM-side audit line dom0 appends to ~/.qvm-remote/audit.log (one line, no newline inside).
inline constexpr std::size_t kMaxVmAuditLineBytes = 8192;
// The fixed script looks at no more names than this per pass over a queue directory, so a VM
// with 100,000 names in pending/ costs one bounded call, not an unbounded one.
inline constexpr std::uint32_t kMaxScanNamesPerPass = 1000;
// Claims one fetch call may make (the daemon asks for its free slots, never more than this).
inline constexpr std::uint32_t kMaxClaimsPerCall = 256;
// CONTRACT "Output": what one VM's spool files may hold together (`--spool-quota`), so one VM
// cannot fill dom0's disk with output, results waiting for delivery included.
inline constexpr std::uint64_t kSpoolQuotaBytes = 256ULL << 20;
// How long a fetch call waits in the VM for something to become ready.
inline constexpr std::int64_t kMaxFetchWaitMs = 1000;
// A `.meta` file the client reads: a dozen short lines; the engine's message in `reason` quotes
// VM text only as a bounded excerpt, so 64 KiB is far above any real one.
inline constexpr std::size_t kMaxMetaBytes = 65536;
// A VM name (Qubes: ^[a-zA-Z][a-zA-Z0-9_.-]{0,30}$).
inline constexpr std::size_t kMaxVmNameBytes = 31;
// CONTRACT: the audit line's excerpt of a command text, and its size under the volume cap.
inline constexpr std::size_t kAuditExcerptBytes = 4096;
inline constexpr std::size_t kAuditExcerptCappedBytes = 256;
// CONTRACT: audit bytes one VM may write per minute before its excerpts shrink; past twice this,
// its lines are only counted and summarised once a minute. The decision record embedded in a
// line is cut (plan and per-command list dropped) past kAuditRecordBytes.
inline constexpr std::size_t kAuditVolumePerMinuteBytes = 1 << 20;
inline constexpr std::size_t kAuditRecordBytes = 8192;
// RE2's memory budget for the compiled `blocked` set (program and DFA cache together): one
// search holds at most this much; a set that needs more fails to load, and a search that runs
// out denies (code `limit`), never reads as "not blocked".
inline constexpr std::int64_t kBlocklistMaxMemBytes = 64LL << 20;

}  // namespace qvmr::limits

#endif  // QVMR_ENGINE_BASE_LIMITS_H_
