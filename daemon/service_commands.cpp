#include "daemon/service_commands.h"

#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace qvmr {
namespace {

constexpr char kRisk[] =
    "Enabling the qvm-remote-dom0 service lets every VM holding an authorized key run, as root\n"
    "in dom0, whatever dom0's policy (/etc/qubes/remote-policy.d) allows, whenever it wants and\n"
    "with nobody at dom0's keyboard. A compromised VM with a key is as strong as its policy.\n";

// The first `limit` bytes of `path`, or "" when it cannot be read (a missing file is no trace).
std::string Head(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::string text(limit, '\0');
  in.read(text.data(), static_cast<std::streamsize>(limit));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Runs `systemctl ARGS...` (through PATH) and waits. Returns its exit status, or -1 with a
// message in `why` when it could not run or was killed.
int Systemctl(const std::vector<std::string>& args, std::string* why) {
  std::vector<std::string> argv{"systemctl"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (std::string& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  pid_t pid;
  const int rc = posix_spawnp(&pid, "systemctl", nullptr, nullptr, raw.data(), environ);
  if (rc != 0) {
    *why = std::string("cannot run systemctl: ") + std::strerror(rc);
    return -1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      *why = std::string("waiting for systemctl: ") + std::strerror(errno);
      return -1;
    }
  }
  if (!WIFEXITED(status)) {
    *why = "systemctl was killed by a signal";
    return -1;
  }
  if (WEXITSTATUS(status) != 0) *why = "systemctl exited " + std::to_string(WEXITSTATUS(status));
  return WEXITSTATUS(status);
}

// `systemctl first UNIT` then `systemctl second UNIT`; 0 when both succeed.
int TwoSteps(const char* first, const char* second, std::ostream& err) {
  for (const char* verb : {first, second}) {
    std::string why;
    if (Systemctl({verb, kServiceUnit}, &why) != 0) {
      err << "qvm-remote-dom0: systemctl " << verb << " " << kServiceUnit << " failed: " << why
          << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace

std::vector<std::string> ReferenceDaemonTraces(const std::string& root) {
  std::vector<std::string> traces;
  const std::string binary = root + "/usr/bin/qvm-remote-dom0";
  const std::string head = Head(binary, 256);
  if (head.rfind("#!", 0) == 0 &&
      head.substr(0, head.find('\n')).find("python") != std::string::npos) {
    traces.push_back(binary + " is the reference's Python daemon");
  }
  const std::string etc_unit = root + "/etc/systemd/system/qvm-remote-dom0.service";
  if (Head(etc_unit, 16384).find("Type=simple") != std::string::npos) {
    traces.push_back(etc_unit + " is the reference's unit");
  }
  const std::string old_unit = root + "/usr/lib/systemd/system/qvm-remote.service";
  if (Exists(old_unit)) traces.push_back(old_unit + " is the reference's unit");
  for (std::string& t : traces) {
    t = "warning: " + t +
        ": while it runs it deletes our requests as unauthenticated; remove it (and disable its "
        "service)";
  }
  return traces;
}

int EnableCommand(const std::string& root, bool yes, std::istream& in, std::ostream& out,
                  std::ostream& err) {
  for (const std::string& trace : ReferenceDaemonTraces(root)) {
    err << "qvm-remote-dom0: " << trace << "\n";
  }
  out << kRisk;
  if (!yes) {
    out << "Type 'yes' to accept this risk and enable: " << std::flush;
    std::string answer;
    if (!std::getline(in, answer) || answer != "yes") {
      err << "qvm-remote-dom0: not enabled (the answer was not 'yes')\n";
      return 1;
    }
  }
  if (TwoSteps("enable", "start", err) != 0) return 1;
  out << "qvm-remote-dom0: enabled and started " << kServiceUnit << "\n";
  return 0;
}

int DisableCommand(std::ostream& out, std::ostream& err) {
  if (TwoSteps("disable", "stop", err) != 0) return 1;
  out << "qvm-remote-dom0: disabled and stopped " << kServiceUnit << "\n";
  return 0;
}

}  // namespace qvmr
