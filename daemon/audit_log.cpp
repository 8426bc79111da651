#include "daemon/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "engine/base/excerpt.h"
#include "engine/base/limits.h"
#include "engine/decide/decision_record.h"
#include "engine/wire/token.h"

namespace qvmr {

namespace {

// The VM's bytes as JSON text: an excerpt of at most `max_bytes`, escaped as excerpt.h does (so
// a line never holds a control byte), its SHA-256 and length over the whole text.
nlohmann::json TextJson(std::string_view text, std::size_t max_bytes) {
  return {
      {"excerpt", Excerpt(text, max_bytes)}, {"sha256", Sha256Hex(text)}, {"bytes", text.size()}};
}

// The decision record without `cmd` (the text is in "text", once and bounded); a record whose
// plan or per-command list quotes much VM text is cut to its verdict.
nlohmann::json BoundedRecord(nlohmann::json record) {
  record.erase("cmd");
  if (DumpJson(record).size() > limits::kAuditRecordBytes) {
    record.erase("plan");
    record.erase("commands");
    record["record_cut"] = true;
    if (DumpJson(record).size() > limits::kAuditRecordBytes) {
      // Only the engine's message can still be long (it may quote the text): bound it.
      if (record.contains("message") && record["message"].is_string()) {
        record["message"] = Excerpt(record["message"].get<std::string>(), 512);
      }
    }
  }
  return record;
}

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path, MonotonicClock clock,
                                                 AuditLogOptions options) {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return MakeError("io", "cannot create " + dir.string() + ": " + ec.message());
    ::chmod(dir.c_str(), 0750);
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return MakeError("io", "cannot open " + path + ": " + std::strerror(errno));
  // The lines quote VM text and decisions: readable by root (and the daemon's user) only.
  ::fchmod(fd, 0600);
  return std::unique_ptr<AuditLog>(new AuditLog(fd, std::move(clock), options));
}

AuditLog::AuditLog(int fd, MonotonicClock clock, AuditLogOptions options)
    : fd_(fd), clock_(std::move(clock)), options_(options) {}

AuditLog::~AuditLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    FlushLocked(clock_(), /*all=*/true);
  }
  ::close(fd_);
}

std::uint64_t AuditLog::write_failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return write_failures_;
}

std::string AuditLog::Format(const AuditEntry& e, std::size_t excerpt_bytes) {
  nlohmann::json line = {{"v", 1},
                         {"time", FormatTimeMs(e.time_ms)},
                         {"vm", e.vm},
                         {"cid", e.cid},
                         {"outcome", e.outcome},
                         {"reason_code", e.reason_code},
                         {"policy", e.policy}};
  if (e.decision) line["decision"] = BoundedRecord(*e.decision);
  if (e.text) line["text"] = TextJson(*e.text, excerpt_bytes);
  if (e.exit) line["exit"] = *e.exit;
  if (e.duration_ms) line["duration_ms"] = *e.duration_ms;
  line["stdout_bytes"] = e.stdout_bytes;
  line["stderr_bytes"] = e.stderr_bytes;
  line["truncated"] = e.truncated;
  return DumpJson(line);
}

void AuditLog::WriteLine(std::string line) {
  line.push_back('\n');
  // O_APPEND and one write per line: concurrent lines never interleave.
  ssize_t n = ::write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) ++write_failures_;
}

void AuditLog::Record(const AuditEntry& entry) {
  std::lock_guard<std::mutex> lock(mu_);
  const MonotonicMs now = clock_();
  FlushLocked(now, /*all=*/false);

  if (entry.outcome != "ok") {
    Failure& f = failures_[entry.vm + " " + entry.outcome + " " + entry.reason_code];
    if (f.written && now - f.last_written < options_.failure_interval_ms) {
      ++f.withheld;
      return;
    }
    f.written = true;
    f.last_written = now;
  }

  auto [slot, fresh] = volumes_.try_emplace(entry.vm);
  Volume& v = slot->second;
  if (fresh) v.window_start = now;
  if (v.bytes >= 2 * options_.volume_bytes) {
    ++v.withheld[entry.outcome];
    return;
  }
  const std::size_t excerpt = v.bytes >= options_.volume_bytes ? limits::kAuditExcerptCappedBytes
                                                               : limits::kAuditExcerptBytes;
  std::string line = Format(entry, excerpt);
  v.bytes += line.size() + 1;
  WriteLine(std::move(line));
}

void AuditLog::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  FlushLocked(clock_(), /*all=*/false);
}

void AuditLog::FlushLocked(MonotonicMs now, bool all) {
  for (auto it = failures_.begin(); it != failures_.end();) {
    Failure& f = it->second;
    const bool passed = now - f.last_written >= options_.failure_interval_ms;
    if (f.withheld > 0 && (passed || all)) {
      // "vm outcome reason": the class key; the VM name and codes hold no space.
      std::string key = it->first;
      std::size_t a = key.find(' '), b = key.find(' ', a + 1);
      nlohmann::json line = {{"v", 1},
                             {"summary", "repeated-failures"},
                             {"vm", key.substr(0, a)},
                             {"outcome", key.substr(a + 1, b - a - 1)},
                             {"reason_code", key.substr(b + 1)},
                             {"count", f.withheld}};
      f.withheld = 0;
      std::string text = DumpJson(line);
      auto [slot, fresh] = volumes_.try_emplace(key.substr(0, a));
      if (fresh) slot->second.window_start = now;
      slot->second.bytes += text.size() + 1;
      WriteLine(std::move(text));
    }
    // A class quiet for a whole interval is forgotten: memory follows activity.
    if (f.withheld == 0 && passed) {
      it = failures_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = volumes_.begin(); it != volumes_.end();) {
    Volume& v = it->second;
    if (now - v.window_start < options_.volume_window_ms && !all) {
      ++it;
      continue;
    }
    if (!v.withheld.empty()) {
      std::uint64_t count = 0;
      for (const auto& [outcome, n] : v.withheld) count += n;
      WriteLine(DumpJson({{"v", 1},
                          {"summary", "volume-cap"},
                          {"vm", it->first},
                          {"count", count},
                          {"by_outcome", v.withheld}}));
    }
    if (v.bytes == 0 && v.withheld.empty()) {
      it = volumes_.erase(it);
      continue;
    }
    v.window_start = now;
    v.bytes = 0;
    v.withheld.clear();
    ++it;
  }
}

std::string VmAuditLine(TimeMs time_ms, std::string_view cid, std::string_view exit,
                        std::int64_t duration_ms) {
  return "[" + FormatTimeMs(time_ms) + "] id=" + std::string(cid) + " exit=" + std::string(exit) +
         " duration=" + std::to_string(duration_ms) + "ms";
}

}  // namespace qvmr
