// Cid times and the journal's time rules. CONTRACT.md "Journal"; engine/wire/freshness.h.
#include "engine/wire/freshness.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "engine/base/limits.h"
#include "engine/base/units.h"

namespace qvmr {

int CidVersion(CidShape shape) {
  switch (shape) {
    case CidShape::kV2:
      return 2;
    case CidShape::kV1:
    case CidShape::kV1Ping:
      return 1;
    case CidShape::kInvalid:
      break;
  }
  return 0;
}

std::optional<TimeMs> CidTimeMs(std::string_view cid, CidShape shape,
                                std::int64_t v1_utc_offset_ms) {
  if (shape == CidShape::kV1Ping) {
    // "ping-<ns>-<pid>", shape already checked: digits up to the second dash.
    std::string_view ns = cid.substr(5, cid.find('-', 5) - 5);
    std::uint64_t v = 0;
    for (char c : ns) {
      auto d = static_cast<std::uint64_t>(c - '0');
      if (v > (UINT64_MAX - d) / 10) return std::nullopt;  // 20 digits may overflow
      v = v * 10 + d;
    }
    return static_cast<TimeMs>(v / 1000000);
  }
  if (shape != CidShape::kV2 && shape != CidShape::kV1) return std::nullopt;
  // YYYYMMDD-HHMMSS → "YYYY-MM-DDTHH:MM:SSZ"; ParseTimeMs rejects dates that do not exist.
  std::string iso;
  iso.reserve(20);
  iso.append(cid.substr(0, 4)).append("-").append(cid.substr(4, 2)).append("-");
  iso.append(cid.substr(6, 2)).append("T").append(cid.substr(9, 2)).append(":");
  iso.append(cid.substr(11, 2)).append(":").append(cid.substr(13, 2)).append("Z");
  std::optional<TimeMs> t = ParseTimeMs(iso);
  if (!t) return std::nullopt;
  return shape == CidShape::kV1 ? *t - v1_utc_offset_ms : *t;
}

std::int64_t FreshnessWindowMs(int version) {
  return version == 2 ? limits::kFreshnessV2Ms : limits::kFreshnessV1Ms;
}

std::int64_t PruneWindowMs(int version) {
  return version == 2 ? limits::kPruneWindowV2Ms : limits::kPruneWindowV1Ms;
}

bool IsFresh(int version, TimeMs cid_time, TimeMs now) {
  const std::int64_t window = FreshnessWindowMs(version);
  return cid_time >= now - window && cid_time <= now + window;
}

bool IsAboveLowWaterMark(TimeMs cid_time, std::optional<TimeMs> low_water_mark) {
  return !low_water_mark || cid_time > *low_water_mark;
}

TimeMs PruneCutoff(int version, TimeMs now, std::optional<TimeMs> newest_accepted_cid_time) {
  TimeMs bound = newest_accepted_cid_time ? std::min(now, *newest_accepted_cid_time) : now;
  return bound - PruneWindowMs(version);
}

}  // namespace qvmr
