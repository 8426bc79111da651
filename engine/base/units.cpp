#include "engine/base/units.h"

#include <charconv>
#include <cstdio>

namespace qvmr {
namespace {

// Digits only, no sign, no leading '+', at most 18 digits (no overflow).
std::optional<std::uint64_t> ParseDigits(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

// Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's algorithm.
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void CivilFromDays(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

}  // namespace

std::optional<std::int64_t> ParseDurationSeconds(std::string_view text, std::int64_t max_seconds) {
  std::uint64_t unit = 1;
  if (text.ends_with("s")) {
    text.remove_suffix(1);
  } else if (text.ends_with("m")) {
    unit = 60;
    text.remove_suffix(1);
  } else if (text.ends_with("h")) {
    unit = 3600;
    text.remove_suffix(1);
  }
  auto n = ParseDigits(text);
  if (!n || *n == 0 || *n > static_cast<std::uint64_t>(max_seconds)) return std::nullopt;
  std::uint64_t seconds = *n * unit;
  if (seconds > static_cast<std::uint64_t>(max_seconds)) return std::nullopt;
  return static_cast<std::int64_t>(seconds);
}

std::string FormatDuration(std::int64_t seconds) {
  if (seconds > 0 && seconds % 3600 == 0) return std::to_string(seconds / 3600) + "h";
  if (seconds > 0 && seconds % 60 == 0) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds) + "s";
}

std::optional<std::uint64_t> ParseSizeBytes(std::string_view text, std::uint64_t max_bytes) {
  std::uint64_t unit = 1;
  if (text.ends_with("KiB")) {
    unit = 1ull << 10;
    text.remove_suffix(3);
  } else if (text.ends_with("MiB")) {
    unit = 1ull << 20;
    text.remove_suffix(3);
  } else if (text.ends_with("GiB")) {
    unit = 1ull << 30;
    text.remove_suffix(3);
  } else if (text.ends_with("B")) {
    text.remove_suffix(1);
  }
  auto n = ParseDigits(text);
  if (!n || *n > max_bytes || *n * unit > max_bytes) return std::nullopt;
  return *n * unit;
}

std::string FormatTimeMs(TimeMs ms) {
  std::int64_t days = ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000;
  std::int64_t rem = ms - days * 86400000;
  std::int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600000),
                static_cast<long long>(rem / 60000 % 60), static_cast<long long>(rem / 1000 % 60),
                static_cast<long long>(rem % 1000));
  return buf;
}

std::optional<TimeMs> ParseTimeMs(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' ||
      t.back() != 'Z') {
    return std::nullopt;
  }
  auto num = [&](std::size_t pos, std::size_t len) { return ParseDigits(t.substr(pos, len)); };
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
       s = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !s) return std::nullopt;
  if (*mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *s > 60) {
    return std::nullopt;
  }
  std::int64_t ms = 0;
  std::string_view frac = t.substr(19, t.size() - 20);
  if (!frac.empty()) {
    if (frac[0] != '.' || frac.size() < 2 || frac.size() > 10) return std::nullopt;
    auto f = ParseDigits(frac.substr(1));
    if (!f) return std::nullopt;
    std::string digits(frac.substr(1));
    digits.resize(3, '0');
    ms = static_cast<std::int64_t>(*ParseDigits(digits));
  }
  static constexpr unsigned kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*d > kDays[*mo - 1]) return std::nullopt;
  std::int64_t days = DaysFromCivil(static_cast<std::int64_t>(*y), static_cast<unsigned>(*mo),
                                    static_cast<unsigned>(*d));
  if (FormatTimeMs(days * 86400000).substr(0, 10) != t.substr(0, 10)) return std::nullopt;
  return days * 86400000 + static_cast<std::int64_t>(*h * 3600000 + *mi * 60000 + *s * 1000) + ms;
}

}  // namespace qvmr
