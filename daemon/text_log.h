// The daemon's text log: /var/log/qubes/qvm-remote.log and stdout (journald under systemd).
// CONTRACT.md "Logs and audit": one line per event, a category and `key=value` fields:
//
//   2026-11-30T12:00:00Z DENIED vm=work id=20261130-120000-42-0123456789abcdef outcome=denied
//       rule=/etc/qubes/remote-policy.d/50-work.yaml:12 reason=no-rule
//
// It never carries command text, output, or the engine's message: those quote VM text, and a
// `monitor` VM may read this log through journalctl. Field values and notes are escaped
// (engine/base/excerpt.h), so no VM byte can forge a line or drive a terminal.
//
// Thread safety: Write may be called from any thread (spdlog's _mt sinks).
#ifndef QVMR_DAEMON_TEXT_LOG_H_
#define QVMR_DAEMON_TEXT_LOG_H_

#include <memory>
#include <string>
#include <string_view>

#include "engine/base/result.h"

namespace spdlog {
class logger;
}

namespace qvmr {

enum class LogCategory {
  kInfo,
  kExec,
  kAuthOk,
  kAuthFail,
  kReject,
  kDenied,
  kReplay,
  kStale,
  kDone,
  kDoneFail,
  kTimeout,
  kInterrupted,
  kTrunc,
  kDry,
  kError,
};

// "INFO", "EXEC", "AUTH-OK", ... as CONTRACT.md spells them.
std::string_view LogCategoryName(LogCategory category);

// The fields a line may carry; empty ones are left out.
struct LogFields {
  std::string_view vm = {};
  std::string_view id = {};
  std::string_view outcome = {};
  std::string_view rule = {};
  std::string_view reason = {};  // a reason code, never a message
};

class TextLog {
 public:
  // Appends to `path` (created 0640 with its directory when missing; "" = no file) and, when
  // `to_stdout`, writes the same lines to stdout. Fails when the file cannot be opened.
  static Result<std::unique_ptr<TextLog>> Open(const std::string& path, bool to_stdout);
  ~TextLog();

  // `note` is daemon-made text (counts, paths, load errors of dom0's own files): never VM text.
  void Write(LogCategory category, const LogFields& fields, std::string_view note = {});
  void Info(std::string_view note) { Write(LogCategory::kInfo, {}, note); }
  void Error(std::string_view note) { Write(LogCategory::kError, {}, note); }

  // The line Write would log, without the time stamp (for tests).
  static std::string Format(LogCategory category, const LogFields& fields, std::string_view note);

 private:
  explicit TextLog(std::shared_ptr<spdlog::logger> logger);
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_TEXT_LOG_H_
