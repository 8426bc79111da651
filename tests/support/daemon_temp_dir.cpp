#include "tests/support/daemon_temp_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace qvmr::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/qvmr-daemon-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::MakeDir(const std::string& name) const {
  std::filesystem::create_directories(Sub(name));
  return Sub(name);
}

void TempDir::WriteFile(const std::string& name, const std::string& data, unsigned mode) const {
  {
    std::ofstream out(Sub(name), std::ios::binary | std::ios::trunc);
    out << data;
  }
  chmod(Sub(name).c_str(), mode);
}

void TempDir::Symlink(const std::string& name, const std::string& target) const {
  if (symlink(target.c_str(), Sub(name).c_str()) != 0) std::abort();
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "<missing>";
  std::ostringstream data;
  data << in.rdbuf();
  return data.str();
}

}  // namespace qvmr::testing
