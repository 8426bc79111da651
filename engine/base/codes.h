// The two closed vocabularies a client sees in `.meta`: the outcome of a request and the reason
// code of a refusal. CONTRACT.md "Exit codes and outcomes" and "Request validation";
// docs/protocol.md lists the same words and a test keeps the two in step. Codes that never reach
// a client (engine-internal errors) stay out of these lists; the engine's own deny codes (shell
// analysis, argv reading, rules) travel as strings in the decision record.
#ifndef QVMR_ENGINE_BASE_CODES_H_
#define QVMR_ENGINE_BASE_CODES_H_

#include <optional>
#include <string_view>

namespace qvmr {

enum class Outcome { kOk, kDenied, kAuth, kMalformed, kTimeout, kInterrupted, kError };

// "ok", "denied", "auth", "malformed", "timeout", "interrupted", "error".
std::string_view OutcomeName(Outcome outcome);
std::optional<Outcome> OutcomeFromName(std::string_view name);

// The one function that turns an outcome into the status written to `.exit` when nothing ran:
// denied 126, timeout 124, every other refusal or failure 255. For kOk the command's own status
// is the answer; this returns 0.
int OutcomeExitStatus(Outcome outcome);

// Reason codes of refusals made before or instead of the policy decision (CONTRACT.md's table,
// steps 3–12 and 14–15), in table order.
enum class ReasonCode {
  kNone,
  kNoToken,          // 3: a body whose .auth never came
  kMalformedAuth,    // 4
  kShapeMismatch,    // 5
  kTooLarge,         // 6
  kEmpty,            // 6
  kNotEmpty,         // 6: a ping with a body
  kBinary,           // 6
  kNoKey,            // 7
  kBadMac,           // 8
  kV1NotAccepted,    // 9
  kStale,            // 10
  kJournalFull,      // 11
  kJournal,          // 12: the accepted record could not be made durable
  kPolicyError,      // 14: deny-all after a failed policy load
  kNoShellExecutor,  // 15: retired, never answered: `full` runs in daemon/executor_shell.cpp
};

// "no-token", "malformed-auth", ... as in CONTRACT.md; kNone is "".
std::string_view ReasonCodeName(ReasonCode code);
std::optional<ReasonCode> ReasonCodeFromName(std::string_view name);

}  // namespace qvmr

#endif  // QVMR_ENGINE_BASE_CODES_H_
