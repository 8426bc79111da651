// Durations, sizes and times as policy files and grants write them.
#ifndef QVMR_ENGINE_BASE_UNITS_H_
#define QVMR_ENGINE_BASE_UNITS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/base/env.h"

namespace qvmr {

// "90s", "30m", "2h" or a bare number of seconds. nullopt if malformed, zero or above max.
std::optional<std::int64_t> ParseDurationSeconds(std::string_view text, std::int64_t max_seconds);
// "2h", "30m", "90s": the largest unit that divides exactly.
std::string FormatDuration(std::int64_t seconds);

// "10MiB", "512KiB", "1GiB", "100B" or a bare number of bytes. nullopt if malformed or above max.
std::optional<std::uint64_t> ParseSizeBytes(std::string_view text, std::uint64_t max_bytes);

// RFC 3339 UTC with milliseconds: "2026-11-23T10:00:00.000Z".
std::string FormatTimeMs(TimeMs ms);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fff]Z" (UTC only; 'T' and 'Z' case-sensitive).
std::optional<TimeMs> ParseTimeMs(std::string_view text);

}  // namespace qvmr

#endif  // QVMR_ENGINE_BASE_UNITS_H_
