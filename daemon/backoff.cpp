#include "daemon/backoff.h"

#include <algorithm>

namespace qvmr {

Backoff::Backoff(MonotonicClock clock, BackoffOptions options)
    : clock_(std::move(clock)), options_(options) {}

bool Backoff::Ready(const std::string& key) const {
  return WaitMs(key) == 0;
}

MonotonicMs Backoff::WaitMs(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return 0;
  return std::max<MonotonicMs>(0, it->second.next_ms - clock_());
}

MonotonicMs Backoff::Failure(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= options_.max_keys) return 0;
    it = entries_.emplace(key, Entry{}).first;
  }
  Entry& e = it->second;
  e.delay_ms = e.failures == 0
                   ? options_.initial_ms
                   : std::min(options_.max_ms, std::max<MonotonicMs>(1, e.delay_ms) * 2);
  e.delay_ms = std::min(e.delay_ms, options_.max_ms);
  if (e.failures < UINT32_MAX) ++e.failures;
  e.next_ms = clock_() + e.delay_ms;
  return e.delay_ms;
}

void Backoff::Success(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(key);
}

std::uint32_t Backoff::Failures(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  return it == entries_.end() ? 0 : it->second.failures;
}

LogLimiter::LogLimiter(MonotonicClock clock, LogLimiterOptions options)
    : clock_(std::move(clock)), options_(options) {}

void LogLimiter::Roll(Entry& e, MonotonicMs now) const {
  if (now - e.window_start < options_.interval_ms) return;
  e.owed += e.suppressed;
  e.suppressed = 0;
  e.logged = false;
  e.window_start = now;
}

bool LogLimiter::ShouldLog(std::string_view fault_class) {
  std::lock_guard<std::mutex> lock(mu_);
  const MonotonicMs now = clock_();
  auto it = entries_.find(fault_class);
  if (it == entries_.end()) {
    std::string_view name = entries_.size() < options_.max_classes ? fault_class : "(other)";
    it = entries_.find(name);
    if (it == entries_.end())
      it = entries_.emplace(std::string(name), Entry{now, 0, 0, false}).first;
  }
  Entry& e = it->second;
  Roll(e, now);
  if (!e.logged) {
    e.logged = true;
    return true;
  }
  ++e.suppressed;
  return false;
}

std::vector<std::pair<std::string, std::uint64_t>> LogLimiter::TakeSummaries() {
  std::lock_guard<std::mutex> lock(mu_);
  const MonotonicMs now = clock_();
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    Roll(e, now);
    if (e.owed > 0) out.emplace_back(it->first, e.owed);
    e.owed = 0;
    // A class quiet for a whole interval is forgotten, so the table holds only live faults.
    if (!e.logged && e.suppressed == 0) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace qvmr
