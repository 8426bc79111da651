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

// Forwards everything to `base_`; NowMs adds the offset file's value.
class OffsetClockEnv final : public Env {
 public:
  OffsetClockEnv(Env* base, std::string offset_file)
      : base_(base), offset_file_(std::move(offset_file)) {}

  TimeMs NowMs() override { return base_->NowMs() + Offset(); }
  TimeMs MonotonicMs() override { return base_->MonotonicMs(); }
  std::uint32_t EffectiveUid() override { return base_->EffectiveUid(); }
  Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes) override {
    return base_->ReadFile(path, max_bytes);
  }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  Result<FileInfo> Stat(const std::string& path) override { return base_->Stat(path); }
  Result<std::string> RealPath(const std::string& path) override { return base_->RealPath(path); }
  Status WriteFileAtomic(const std::string& path, const std::string& data,
                         std::uint32_t mode) override {
    return base_->WriteFileAtomic(path, data, mode);
  }
  Status MakeDirs(const std::string& path, std::uint32_t mode) override {
    return base_->MakeDirs(path, mode);
  }
  Status RemoveFile(const std::string& path) override { return base_->RemoveFile(path); }

 private:
  TimeMs Offset() {
    auto text = base_->ReadFile(offset_file_, 64);
    if (!text) return 0;
    std::string_view s = *text;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
    TimeMs offset = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), offset);
    return ec == std::errc() && end == s.data() + s.size() ? offset : 0;
  }

  Env* base_;
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
