// Env: the only way time and the filesystem reach the engine (LevelDB's idea). The engine's
// logic is pure and synchronous; the daemon and tools pass Env::Posix(), tests pass a fake
// (tests/support/fake_env.h).
//
// Thread safety: Env::Posix() is safe for concurrent use by any number of threads (it holds no
// mutable state but an atomic counter). A fake is single-threaded unless it says otherwise.
// Lifetime: Env::Posix() lives for the whole process; never delete it.
// Failure: every operation that can fail returns a Result/Status with code "io" (message: what,
// the path, the errno text) or the code its comment names; none throws.
#ifndef QVMR_ENGINE_BASE_ENV_H_
#define QVMR_ENGINE_BASE_ENV_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/result.h"

namespace qvmr {

// Milliseconds since the Unix epoch, UTC.
using TimeMs = std::int64_t;

struct FileInfo {
  bool exists = false;
  bool is_dir = false;
  bool is_regular = false;
  std::uint32_t uid = 0;
  std::uint32_t mode = 0;  // permission bits incl. sticky (st_mode & 07777)
};

class Env {
 public:
  virtual ~Env() = default;

  // Wall-clock time (CLOCK_REALTIME): for cid freshness, grants and timestamps. It may jump
  // either way; never measure a duration with it.
  virtual TimeMs NowMs() = 0;
  // Milliseconds on a clock that never goes back and ignores changes to the wall clock
  // (CLOCK_MONOTONIC): for deadlines and durations. Its origin is arbitrary: compare
  // its values only with each other, within one boot.
  virtual TimeMs MonotonicMs() = 0;
  // The effective uid that policy files may be owned by (besides root).
  virtual std::uint32_t EffectiveUid() = 0;

  // Whole file. Fails with code "io" (message names the path and errno text), or "too-large"
  // when the file exceeds max_bytes.
  virtual Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes) = 0;
  // Names (not paths) in a directory, excluding "." and "..", in no particular order.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  // lstat-free stat (follows symlinks). A missing path is {exists=false}, not an error.
  virtual Result<FileInfo> Stat(const std::string& path) = 0;
  // realpath(3).
  virtual Result<std::string> RealPath(const std::string& path) = 0;
  // Write via a temporary file in the same directory and rename; mode applied before rename.
  // The temporary name (`<path>.tmp.<pid>.<tid>.<counter>`, created O_EXCL) is unique per
  // process, thread and call, so concurrent writers of the same path never share one; the last
  // rename wins. REQUIRES: the directory exists.
  virtual Status WriteFileAtomic(const std::string& path, const std::string& data,
                                 std::uint32_t mode) = 0;
  // mkdir -p with the given mode for directories it creates; chmods the last one to mode.
  virtual Status MakeDirs(const std::string& path, std::uint32_t mode) = 0;
  // Remove a file; a missing file is success.
  virtual Status RemoveFile(const std::string& path) = 0;

  // The process-wide POSIX implementation.
  static Env* Posix();
};

// An Env that forwards every call to another (as LevelDB's EnvWrapper): a decorator overrides
// only what it changes. `target` must outlive the wrapper. Thread-safe as `target` is.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  TimeMs NowMs() override { return target_->NowMs(); }
  TimeMs MonotonicMs() override { return target_->MonotonicMs(); }
  std::uint32_t EffectiveUid() override { return target_->EffectiveUid(); }
  Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes) override {
    return target_->ReadFile(path, max_bytes);
  }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return target_->ListDir(path);
  }
  Result<FileInfo> Stat(const std::string& path) override { return target_->Stat(path); }
  Result<std::string> RealPath(const std::string& path) override { return target_->RealPath(path); }
  Status WriteFileAtomic(const std::string& path, const std::string& data,
                         std::uint32_t mode) override {
    return target_->WriteFileAtomic(path, data, mode);
  }
  Status MakeDirs(const std::string& path, std::uint32_t mode) override {
    return target_->MakeDirs(path, mode);
  }
  Status RemoveFile(const std::string& path) override { return target_->RemoveFile(path); }

 private:
  Env* target_;
};

}  // namespace qvmr

#endif  // QVMR_ENGINE_BASE_ENV_H_
