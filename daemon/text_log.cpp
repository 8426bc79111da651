#include "daemon/text_log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <array>
#include <filesystem>
#include <vector>

#include "engine/base/excerpt.h"

namespace qvmr {
namespace {

constexpr std::array<std::string_view, 15> kNames{
    "INFO", "EXEC",      "AUTH-OK", "AUTH-FAIL",   "REJECT", "DENIED", "REPLAY", "STALE",
    "DONE", "DONE-FAIL", "TIMEOUT", "INTERRUPTED", "TRUNC",  "DRY",    "ERROR"};

// Field values are short (names, codes, file:line); 256 bytes bounds a hostile one.
constexpr std::size_t kMaxFieldBytes = 256;
constexpr std::size_t kMaxNoteBytes = 2048;

void AppendField(std::string& line, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  line += ' ';
  line += key;
  line += '=';
  // Excerpt escapes control bytes; spaces would split fields, so they are escaped too.
  for (char c : Excerpt(value, kMaxFieldBytes)) {
    if (c == ' ') {
      line += "\\x20";
    } else {
      line += c;
    }
  }
}

}  // namespace

std::string_view LogCategoryName(LogCategory category) {
  return kNames[static_cast<std::size_t>(category)];
}

std::string TextLog::Format(LogCategory category, const LogFields& fields, std::string_view note) {
  std::string line(LogCategoryName(category));
  AppendField(line, "vm", fields.vm);
  AppendField(line, "id", fields.id);
  AppendField(line, "outcome", fields.outcome);
  AppendField(line, "rule", fields.rule);
  AppendField(line, "reason", fields.reason);
  if (!note.empty()) {
    line += ' ';
    line += Excerpt(note, kMaxNoteBytes);
  }
  return line;
}

Result<std::unique_ptr<TextLog>> TextLog::Open(const std::string& path, bool to_stdout) {
  std::vector<spdlog::sink_ptr> sinks;
  try {
    if (!path.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
      mode_t old = ::umask(027);
      auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
      ::umask(old);
      sinks.push_back(std::move(sink));
    }
    if (to_stdout) sinks.push_back(std::make_shared<spdlog::sinks::stdout_sink_mt>());
  } catch (const spdlog::spdlog_ex& e) {
    return MakeError("log", std::string("cannot open the log: ") + e.what(), {path});
  }
  auto logger = std::make_shared<spdlog::logger>("qvm-remote", sinks.begin(), sinks.end());
  // UTC with a Z, so lines from dom0 and VMs compare without knowing dom0's zone.
  logger->set_pattern("%Y-%m-%dT%H:%M:%SZ %v", spdlog::pattern_time_type::utc);
  logger->flush_on(spdlog::level::info);
  return std::unique_ptr<TextLog>(new TextLog(std::move(logger)));
}

TextLog::TextLog(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}
TextLog::~TextLog() = default;

void TextLog::Write(LogCategory category, const LogFields& fields, std::string_view note) {
  logger_->info(Format(category, fields, note));
}

}  // namespace qvmr
