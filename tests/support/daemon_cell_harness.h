// Test support for containment: start a shell script inside a Cell the way the daemon's Processes
// does (ForkIntoCell, EnterCell, own session, stdin /dev/null), and find the processes a test
// started by a marker in their environment, so a test can prove that none survived.
#ifndef QVMR_TESTS_SUPPORT_DAEMON_CELL_HARNESS_H_
#define QVMR_TESTS_SUPPORT_DAEMON_CELL_HARNESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "daemon/containment.h"

namespace qvmr::testing {

// A directory made with mkdtemp and removed (recursively) at the end.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A marker unique to this test program run and `name`: put it in a child's environment as
// QVMR_TEST_MARK=<marker>.
std::string UniqueMarker(const std::string& name);

// Starts `shell script` (shell an absolute path, e.g. /bin/sh or /bin/bash) in `cell` with the
// environment PATH=/usr/bin:/bin QVMR_TEST_MARK=<marker> (+ TMPDIR=cell.tmpdir() when it has
// one); stdout and stderr go to `out_fd` (or /dev/null when -1). Adopts the pid into the cell.
// Returns the pid, or -1 (the test fails).
pid_t StartInCell(Cell& cell, const std::string& shell, const std::string& script,
                  const std::string& marker, int out_fd = -1);

// Waits up to `timeout_ms` for `pid` (our child) to exit; reaps it. Returns its wait status, or
// -1 at the timeout (not reaped).
int WaitForExit(pid_t pid, int timeout_ms);

// Live (non-zombie) processes whose environment holds QVMR_TEST_MARK=<marker>.
std::vector<pid_t> MarkedProcesses(const std::string& marker);
// Polls until at least `count` marked processes are alive, up to `timeout_ms`. Returns the count.
std::size_t WaitForMarked(const std::string& marker, std::size_t count, int timeout_ms);

// The whole file (tests read small outputs).
std::string ReadAll(const std::string& path);

// Options for a containment under test: instance from `scratch`, tmp_parent scratch/tmp.
ContainmentOptions TestOptions(const std::string& scratch);

}  // namespace qvmr::testing

#endif  // QVMR_TESTS_SUPPORT_DAEMON_CELL_HARNESS_H_
