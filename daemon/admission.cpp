#include "daemon/admission.h"

#include <algorithm>
#include <cmath>

namespace qvmr {

Admission::Admission(MonotonicClock clock, AdmissionOptions options)
    : clock_(std::move(clock)), options_(options) {
  options_.rate_per_s = std::max<std::uint32_t>(options_.rate_per_s, 1);
  options_.burst = std::max<std::uint32_t>(options_.burst, 1);
}

Admission::Bucket& Admission::Refill(const std::string& vm) {
  const MonotonicMs now = clock_();
  auto [it, fresh] = buckets_.try_emplace(vm);
  Bucket& b = it->second;
  if (fresh) {
    b.tokens = options_.burst;
  } else if (now > b.last_ms) {
    b.tokens = std::min<double>(options_.burst,
                                b.tokens + (now - b.last_ms) * options_.rate_per_s / 1000.0);
  }
  b.last_ms = std::max(b.last_ms, now);
  return b;
}

std::uint32_t Admission::Available(const std::string& vm) {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<std::uint32_t>(std::floor(Refill(vm).tokens));
}

void Admission::Take(const std::string& vm, std::uint32_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = Refill(vm);
  b.tokens = std::max(0.0, b.tokens - n);
}

MonotonicMs Admission::WaitMs(const std::string& vm) {
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = Refill(vm);
  if (b.tokens >= 1) return 0;
  return static_cast<MonotonicMs>(std::ceil((1 - b.tokens) * 1000.0 / options_.rate_per_s));
}

}  // namespace qvmr
