// Admission per VM: a token bucket (CONTRACT.md "Logs and audit", budgets). Each request a sweep
// claims costs one token; a VM earns `rate` tokens a second up to `burst`. The sweep asks the
// VM's script for at most Available(vm) claims, so requests beyond the rate simply wait in the
// VM's pending/ — nothing is refused, and a flooding VM costs dom0 no more journal rows, audit
// lines or workers than its rate. Other VMs have their own buckets and are served meanwhile.
//
// Time comes from an injected monotonic clock (tests pass a variable). Memory: one entry per VM
// served (VM names are bounded by the daemon's VM list). Thread safety: every method is safe for
// concurrent use.
#ifndef QVMR_DAEMON_ADMISSION_H_
#define QVMR_DAEMON_ADMISSION_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "daemon/backoff.h"

namespace qvmr {

struct AdmissionOptions {
  std::uint32_t rate_per_s = 10;  // --vm-rate
  std::uint32_t burst = 64;       // tokens a quiet VM accumulates
};

class Admission {
 public:
  explicit Admission(MonotonicClock clock, AdmissionOptions options = {});

  // Whole tokens `vm` has now (a new VM starts with a full bucket).
  std::uint32_t Available(const std::string& vm);
  // Spends `n` tokens (claims made); more than Available leaves the bucket empty.
  void Take(const std::string& vm, std::uint32_t n);
  // Milliseconds until `vm` has at least one token (0 when it has one now).
  MonotonicMs WaitMs(const std::string& vm);

 private:
  struct Bucket {
    double tokens = 0;
    MonotonicMs last_ms = 0;
  };
  Bucket& Refill(const std::string& vm);  // REQUIRES: mu_ held

  MonotonicClock clock_;
  AdmissionOptions options_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_ADMISSION_H_
