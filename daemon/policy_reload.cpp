#include "daemon/policy_reload.h"

#include <sys/stat.h>

#include <chrono>
#include <thread>

namespace qvmr {

PolicyReloader::PolicyReloader(Env* env, LoadOptions options, PolicyState* state, TextLog* log,
                               std::int64_t debounce_ms)
    : env_(env),
      options_(std::move(options)),
      state_(state),
      log_(log),
      debounce_ms_(debounce_ms) {}

std::string PolicyReloader::Fingerprint() {
  auto files = ListPolicyFiles(*env_, options_);
  if (!files) return "";
  std::string fp;
  for (const std::string& file : *files) {
    struct stat st;
    fp += file;
    if (::stat(file.c_str(), &st) == 0) {
      fp += ' ' + std::to_string(st.st_ino) + ' ' + std::to_string(st.st_size) + ' ' +
            std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec) + ' ' +
            std::to_string(st.st_ctim.tv_sec) + '.' + std::to_string(st.st_ctim.tv_nsec);
    }
    fp += '\n';
  }
  return fp;
}

bool PolicyReloader::Reload(std::string_view why) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<Policy> loaded = MakeError("policy-changing",
                                    "the policy files kept changing while being read; waiting "
                                    "for the next change");
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(debounce_ms_));
    std::string before = Fingerprint();
    Result<Policy> candidate = LoadPolicy(*env_, options_);
    if (Fingerprint() == before) {
      loaded = std::move(candidate);
      break;
    }
  }
  std::string now_logged = loaded ? "revision " + loaded->revision : loaded.error().ToString();
  const bool ok = static_cast<bool>(loaded);
  state_->Set(std::move(loaded));
  if (now_logged != last_logged_) {
    last_logged_ = now_logged;
    if (ok) {
      log_->Info("policy loaded (" + std::string(why) + "), " + now_logged);
    } else {
      log_->Error("policy does not load (" + std::string(why) +
                  "), every request is denied: " + now_logged);
    }
  }
  return ok;
}

}  // namespace qvmr
