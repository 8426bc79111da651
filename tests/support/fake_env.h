// An in-memory Env for tests: files, directories, owners, modes and the clock are all set by the
// test, so trust checks and expiry can be exercised without root or sleeping.
#ifndef QVMR_TESTS_SUPPORT_FAKE_ENV_H_
#define QVMR_TESTS_SUPPORT_FAKE_ENV_H_

#include <map>
#include <string>

#include "engine/base/env.h"

namespace qvmr::testing {

class FakeEnv : public Env {
 public:
  struct Node {
    bool is_dir = false;
    std::string data;
    std::uint32_t uid = 0;
    std::uint32_t mode = 0644;
  };

  FakeEnv();

  // Adds a file (and any missing parent directories, root-owned 0755).
  void AddFile(const std::string& path, const std::string& data, std::uint32_t mode = 0644,
               std::uint32_t uid = 0);
  void AddDir(const std::string& path, std::uint32_t mode = 0755, std::uint32_t uid = 0);
  // Makes `path` resolve (RealPath) to `target`; Stat/Read follow it.
  void AddSymlink(const std::string& path, const std::string& target);
  Node* Find(const std::string& path);

  TimeMs now_ms = 1795400000000;  // 2026-11-23T02:13:20Z, an arbitrary fixed instant
  TimeMs monotonic_ms = 1000;     // the monotonic clock; tests advance it by hand
  std::uint32_t euid = 0;

  TimeMs NowMs() override { return now_ms; }
  TimeMs MonotonicMs() override { return monotonic_ms; }
  std::uint32_t EffectiveUid() override { return euid; }
  Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  Result<FileInfo> Stat(const std::string& path) override;
  Result<std::string> RealPath(const std::string& path) override;
  Status WriteFileAtomic(const std::string& path, const std::string& data,
                         std::uint32_t mode) override;
  Status MakeDirs(const std::string& path, std::uint32_t mode) override;
  Status RemoveFile(const std::string& path) override;

 private:
  std::string Resolve(const std::string& path) const;
  std::map<std::string, Node> nodes_;
  std::map<std::string, std::string> links_;
};

}  // namespace qvmr::testing

#endif  // QVMR_TESTS_SUPPORT_FAKE_ENV_H_
