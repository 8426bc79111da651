#include "engine/base/codes.h"

#include <array>
#include <utility>

namespace qvmr {
namespace {

constexpr std::array<std::pair<Outcome, std::string_view>, 7> kOutcomes{{
    {Outcome::kOk, "ok"},
    {Outcome::kDenied, "denied"},
    {Outcome::kAuth, "auth"},
    {Outcome::kMalformed, "malformed"},
    {Outcome::kTimeout, "timeout"},
    {Outcome::kInterrupted, "interrupted"},
    {Outcome::kError, "error"},
}};

constexpr std::array<std::pair<ReasonCode, std::string_view>, 16> kReasons{{
    {ReasonCode::kNone, ""},
    {ReasonCode::kNoToken, "no-token"},
    {ReasonCode::kMalformedAuth, "malformed-auth"},
    {ReasonCode::kShapeMismatch, "shape-mismatch"},
    {ReasonCode::kTooLarge, "too-large"},
    {ReasonCode::kEmpty, "empty"},
    {ReasonCode::kNotEmpty, "not-empty"},
    {ReasonCode::kBinary, "binary"},
    {ReasonCode::kNoKey, "no-key"},
    {ReasonCode::kBadMac, "bad-mac"},
    {ReasonCode::kV1NotAccepted, "v1-not-accepted"},
    {ReasonCode::kStale, "stale"},
    {ReasonCode::kJournalFull, "journal-full"},
    {ReasonCode::kJournal, "journal"},
    {ReasonCode::kPolicyError, "policy-error"},
    {ReasonCode::kNoShellExecutor, "no-shell-executor"},
}};

}  // namespace

std::string_view OutcomeName(Outcome outcome) {
  for (const auto& [o, name] : kOutcomes) {
    if (o == outcome) return name;
  }
  return "error";
}

std::optional<Outcome> OutcomeFromName(std::string_view name) {
  for (const auto& [o, n] : kOutcomes) {
    if (n == name) return o;
  }
  return std::nullopt;
}

int OutcomeExitStatus(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return 0;
    case Outcome::kDenied:
      return 126;
    case Outcome::kTimeout:
      return 124;
    case Outcome::kAuth:
    case Outcome::kMalformed:
    case Outcome::kInterrupted:
    case Outcome::kError:
      return 255;
  }
  return 255;
}

std::string_view ReasonCodeName(ReasonCode code) {
  for (const auto& [c, name] : kReasons) {
    if (c == code) return name;
  }
  return "";
}

std::optional<ReasonCode> ReasonCodeFromName(std::string_view name) {
  for (const auto& [c, n] : kReasons) {
    if (n == name) return c;
  }
  return std::nullopt;
}

}  // namespace qvmr
