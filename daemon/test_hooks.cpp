#include "daemon/test_hooks.h"

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

namespace qvmr {

#ifdef QVMR_TEST_HOOKS

namespace {

// Forwards everything to the real Env; NowMs adds the offset file's value.
class OffsetClockEnv final : public EnvWrapper {
 public:
  OffsetClockEnv(Env* base, std::string offset_file)
      : EnvWrapper(base), offset_file_(std::move(offset_file)) {}

  TimeMs NowMs() override { return target()->NowMs() + Offset(); }

 private:
  TimeMs Offset() {
    auto text = target()->ReadFile(offset_file_, 64);
    if (!text) return 0;
    std::string_view s = *text;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
    TimeMs offset = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), offset);
    return ec == std::errc() && end == s.data() + s.size() ? offset : 0;
  }

  std::string offset_file_;
};

}  // namespace

bool TestHooksEnabled() {
  return true;
}

Env* WithTestClock(Env* base, const std::string& offset_file) {
  // Kept for the process's life, like Env::Posix(): it must outlive every thread that reads the
  // clock. One per (base, file), so a test running the daemon many times does not grow.
  static std::mutex mu;
  static std::map<std::pair<Env*, std::string>, std::unique_ptr<OffsetClockEnv>> envs;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = envs[{base, offset_file}];
  if (!slot) slot = std::make_unique<OffsetClockEnv>(base, offset_file);
  return slot.get();
}

void TestCrashPoint(std::string_view point) {
  const char* at = std::getenv("QVMR_TEST_CRASH_AT");
  if (at != nullptr && point == at) ::_exit(kTestCrashExitStatus);
}

std::int64_t TestPairingDelayMs(std::int64_t fallback) {
  const char* text = std::getenv("QVMR_TEST_PAIRING_DELAY_MS");
  if (text == nullptr) return fallback;
  std::string_view s = text;
  std::int64_t ms = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), ms);
  if (ec != std::errc() || end != s.data() + s.size() || ms < 0 || ms > fallback) return fallback;
  return ms;
}

#else  // !QVMR_TEST_HOOKS

bool TestHooksEnabled() {
  return false;
}
Env* WithTestClock(Env* base, const std::string&) {
  return base;
}
void TestCrashPoint(std::string_view) {}
std::int64_t TestPairingDelayMs(std::int64_t fallback) {
  return fallback;
}

#endif

}  // namespace qvmr
