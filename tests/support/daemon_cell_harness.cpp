#include "tests/support/daemon_cell_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace qvmr::testing {

ScratchDir::ScratchDir() {
  char templ[] = "/tmp/qvmr-cell-XXXXXX";
  if (mkdtemp(templ) == nullptr) std::abort();
  path_ = templ;
}

ScratchDir::~ScratchDir() {
  (void)RemoveTree(path_);
}

std::string UniqueMarker(const std::string& name) {
  return name + "-" + std::to_string(getpid()) + "-" + std::to_string(time(nullptr));
}

pid_t StartInCell(Cell& cell, const std::string& shell, const std::string& script,
                  const std::string& marker, int out_fd) {
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "QVMR_TEST_MARK=" + marker};
  if (!cell.tmpdir().empty()) env.push_back("TMPDIR=" + cell.tmpdir());
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string arg0 = shell, arg1 = "-c", arg2 = script;
  char* argv[] = {arg0.data(), arg1.data(), arg2.data(), nullptr};
  const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  const CellEntry& entry = cell.entry();
  const pid_t pid = ForkIntoCell(entry);
  if (pid == 0) {
    if (EnterCell(entry) != 0) _exit(121);
    setsid();
    dup2(null_fd, 0);
    dup2(out_fd >= 0 ? out_fd : null_fd, 1);
    dup2(out_fd >= 0 ? out_fd : null_fd, 2);
    execve(argv[0], argv, envp.data());
    _exit(127);
  }
  close(null_fd);
  if (pid > 0) cell.Adopt(pid);
  return pid;
}

int WaitForExit(pid_t pid, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    int status = 0;
    const pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid) return status;
    if (got < 0) return -1;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  return -1;
}

std::vector<pid_t> MarkedProcesses(const std::string& marker) {
  const std::string needle = "QVMR_TEST_MARK=" + marker;
  std::vector<pid_t> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (struct dirent* entry = readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    std::ifstream environ("/proc/" + std::string(entry->d_name) + "/environ");
    std::stringstream text;
    text << environ.rdbuf();
    const std::string env = text.str();
    std::size_t at = 0;
    bool found = false;
    while (at < env.size()) {
      const std::size_t nul = env.find('\0', at);
      const std::size_t len = (nul == std::string::npos ? env.size() : nul) - at;
      if (env.compare(at, len, needle) == 0) found = true;
      if (nul == std::string::npos) break;
      at = nul + 1;
    }
    if (!found) continue;
    std::ifstream stat("/proc/" + std::string(entry->d_name) + "/stat");
    std::string line;
    std::getline(stat, line);
    const std::size_t paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z') continue;
    out.push_back(static_cast<pid_t>(pid));
  }
  closedir(proc);
  return out;
}

std::size_t WaitForMarked(const std::string& marker, std::size_t count, int timeout_ms) {
  std::size_t seen = 0;
  for (int waited = 0; waited <= timeout_ms; waited += 20) {
    seen = MarkedProcesses(marker).size();
    if (seen >= count) return seen;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  return seen;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

ContainmentOptions TestOptions(const std::string& scratch) {
  ContainmentOptions options;
  options.instance = InstanceTag(scratch);
  options.tmp_parent = scratch + "/tmp";
  return options;
}

}  // namespace qvmr::testing
