// Env: the only way time and the filesystem reach the engine (LevelDB's idea). The engine's
// logic is pure and synchronous; the daemon and tools pass Env::Posix(), tests pass a fake.
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

  // Wall-clock time.
  virtual TimeMs NowMs() = 0;
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
  virtual Status WriteFileAtomic(const std::string& path, const std::string& data,
                                 std::uint32_t mode) = 0;
  // mkdir -p with the given mode for directories it creates; chmods the last one to mode.
  virtual Status MakeDirs(const std::string& path, std::uint32_t mode) = 0;
  // Remove a file; a missing file is success.
  virtual Status RemoveFile(const std::string& path) = 0;

  // The process-wide POSIX implementation.
  static Env* Posix();
};

}  // namespace qvmr

#endif  // QVMR_ENGINE_BASE_ENV_H_
