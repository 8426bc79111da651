// A request id's time and the journal's time rules: the freshness window, the low-water mark and
// the prune cutoff, as pure functions. The journal's storage is the daemon's; these say what it
// may accept and what it may forget. CONTRACT.md "Wire protocol v2" (Freshness) and "Journal";
// docs/protocol.md §7.
//
// Why both a window and a low-water mark: the window alone follows the clock, so a clock set back
// would re-open times whose journal rows were already pruned (a replay). The low-water mark is
// the highest cid time ever pruned; nothing at or below it is accepted, whatever the clock does.
// Pruning is bounded by the newest accepted cid time as well as by `now`, so a clock jumped
// forward prunes nothing it would later need.
//
// Thread safety: pure functions of their arguments; safe for concurrent use.
#ifndef QVMR_ENGINE_WIRE_FRESHNESS_H_
#define QVMR_ENGINE_WIRE_FRESHNESS_H_

#include <optional>
#include <string_view>

#include "engine/base/env.h"
#include "engine/wire/token.h"

namespace qvmr {

// The wire version a cid shape belongs to: kV2 → 2; kV1 and kV1Ping → 1; kInvalid → 0. The
// daemon fills ValidationInput's journal view for this version (each version has its own low-water
// mark and cap).
int CidVersion(CidShape shape);

// The instant a cid names, in ms since the epoch:
// - kV2: `YYYYMMDD-HHMMSS` read as UTC.
// - kV1: the same fields read as local time of an unknown zone (the reference writes
//   time.strftime without a zone). The caller passes `v1_utc_offset_ms`, the offset of the zone
//   it assumes (local = UTC + offset; dom0's own offset is the best guess, 0 is fine: the ±26 h
//   window covers every zone). Keep it constant: the low-water mark compares these times.
// - kV1Ping: `ping-<ns>-<pid>`: the nanoseconds since the epoch, truncated to ms.
// nullopt for kInvalid, a date that does not exist (month 13, 31 April, hour 24), or a ping whose
// nanoseconds overflow 64 bits. Cost: constant.
std::optional<TimeMs> CidTimeMs(std::string_view cid, CidShape shape,
                                std::int64_t v1_utc_offset_ms = 0);

// limits::kFreshnessV2Ms for version 2, limits::kFreshnessV1Ms otherwise.
std::int64_t FreshnessWindowMs(int version);
// limits::kPruneWindowV2Ms for version 2, limits::kPruneWindowV1Ms otherwise.
std::int64_t PruneWindowMs(int version);

// |cid_time - now| <= the version's freshness window (bounds included).
bool IsFresh(int version, TimeMs cid_time, TimeMs now);

// cid_time > low_water_mark: nothing at or below the mark is accepted. A journal that never
// pruned has no mark (pass nullopt): everything is above it.
bool IsAboveLowWaterMark(TimeMs cid_time, std::optional<TimeMs> low_water_mark);

// The prune cutoff of (VM, version): min(now, newest accepted cid time) - prune window. A
// delivered (or abandoned) row whose cid time is strictly below it may be pruned; the journal's
// new low-water mark is then the highest cid time it pruned (never lowered). With no accepted
// row yet, `now` alone bounds it. Accepted, started and finished rows are never pruned, whatever
// this says.
TimeMs PruneCutoff(int version, TimeMs now, std::optional<TimeMs> newest_accepted_cid_time);

}  // namespace qvmr

#endif  // QVMR_ENGINE_WIRE_FRESHNESS_H_
