// Runs the fixed script the ways a VM runs it, for tests/wire/: `SH -c 'SCRIPT; exit'` with the
// data on stdin (bash, dash, busybox sh; with GNU coreutils or with busybox applets only), and
// Qubes' VMShell way, `bash -s` fed `SCRIPT; exit\n` and then the data on the same stdin.
#ifndef QVMR_TESTS_WIRE_SCRIPT_RUNNER_H_
#define QVMR_TESTS_WIRE_SCRIPT_RUNNER_H_

#include <ostream>
#include <string>
#include <vector>

namespace qvmr::testing {

struct ShellMode {
  std::string name;
  std::vector<std::string> argv;  // the shell and its flags, before the script
  bool vmshell = false;           // the script goes on stdin before the data (bash -s)
  bool busybox_applets = false;   // PATH holds only busybox applets
};

// gtest prints a mode by its name.
inline void PrintTo(const ShellMode& mode, std::ostream* os) {
  *os << mode.name;
}

// Every mode the script must work in.
std::vector<ShellMode> AllShellModes();

struct ScriptRun {
  std::string out;
  std::string err;
  int status = -1;         // exit status, or -1 when killed
  bool timed_out = false;  // killed after the runner's limit (a hang, e.g. on a FIFO)
};

// Runs the fixed script with HOME = `home` and cwd = `cwd`, writing `data` to its stdin (then
// closing it). Kills it after 30 s. `applets_dir` holds busybox applet links (MakeAppletsDir).
ScriptRun RunFixedScript(const ShellMode& mode, const std::string& home, const std::string& cwd,
                         const std::string& data, const std::string& applets_dir);

// Makes `dir` hold links to busybox for each applet the script may use, and nothing else.
void MakeAppletsDir(const std::string& dir);

}  // namespace qvmr::testing

#endif  // QVMR_TESTS_WIRE_SCRIPT_RUNNER_H_
