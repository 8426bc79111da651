// The client's exit status. engine/wire/exit_status.h.
#include "engine/wire/exit_status.h"

namespace qvmr {
namespace {

// 1..3 decimal digits, no leading zero (except "0" itself), value <= max.
std::optional<int> ParseSmall(std::string_view s, int max) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s.front() == '0')) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

}  // namespace

std::optional<ExitFile> ParseExitFile(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  ExitFile exit;
  if (!text.empty() && text.front() == '-') {
    std::optional<int> n = ParseSmall(text.substr(1), 127);
    if (!n || *n == 0) return std::nullopt;
    exit.signal = *n;
    return exit;
  }
  std::optional<int> status = ParseSmall(text, 255);
  if (!status) return std::nullopt;
  exit.status = *status;
  return exit;
}

int ClientExitStatus(std::optional<Outcome> outcome, std::string_view exit_text) {
  if (outcome && *outcome != Outcome::kOk) return OutcomeExitStatus(*outcome);
  std::optional<ExitFile> exit = ParseExitFile(exit_text);
  if (!exit) return kExitFailure;
  return exit->signal ? 128 + *exit->signal : exit->status;
}

}  // namespace qvmr
