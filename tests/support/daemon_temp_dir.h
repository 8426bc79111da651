// A scratch directory for daemon tests that touch the real filesystem (spool files, an exec path
// of symlinks and tiny scripts), removed with everything in it when the test ends.
#ifndef QVMR_TESTS_SUPPORT_DAEMON_TEMP_DIR_H_
#define QVMR_TESTS_SUPPORT_DAEMON_TEMP_DIR_H_

#include <string>

namespace qvmr::testing {

class TempDir {
 public:
  TempDir();  // mkdtemp under $TMPDIR or /tmp; aborts the test program if it cannot
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

  // Creates the directory `name` (and parents) under path().
  std::string MakeDir(const std::string& name) const;
  // Writes a file with the given mode.
  void WriteFile(const std::string& name, const std::string& data, unsigned mode) const;
  // Symlink `name` -> `target`.
  void Symlink(const std::string& name, const std::string& target) const;

 private:
  std::string path_;
};

// Whole file, or "<missing>" when it cannot be read.
std::string ReadWholeFile(const std::string& path);

}  // namespace qvmr::testing

#endif  // QVMR_TESTS_SUPPORT_DAEMON_TEMP_DIR_H_
