// `qvm-remote-dom0 enable` and `disable`: the systemd unit daemon/qvm-remote-dom0.service is
// installed but never enabled by the package; these turn it on and off through `systemctl`,
// found through the daemon's PATH (never --root: it is a program).
//
// `enable` first shows the risk (any VM holding a key can then run what dom0's policy allows, as
// root, without anyone at dom0's keyboard) and goes on only when `yes` is typed (or given --yes);
// both commands run `systemctl enable|disable qvm-remote-dom0.service` then `start|stop` it, and
// exit 1 when systemctl cannot be run or fails (the reference ignored its status).
//
// The reference's Python daemon deletes every request it cannot authenticate, ours included, so
// start-up and `enable` warn while it or its unit is installed (ReferenceDaemonTraces).
//
// Thread safety: call from the main thread only (they fork and wait).
#ifndef QVMR_DAEMON_SERVICE_COMMANDS_H_
#define QVMR_DAEMON_SERVICE_COMMANDS_H_

#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace qvmr {

inline constexpr char kServiceUnit[] = "qvm-remote-dom0.service";

// One warning line per trace of the reference (qvm-remote 1.x) under `root` ("" on a real dom0):
// /usr/bin/qvm-remote-dom0 being a Python script; its unit /etc/systemd/system/
// qvm-remote-dom0.service (told from ours by Type=simple) or /usr/lib/systemd/system/
// qvm-remote.service. Empty when none is found.
std::vector<std::string> ReferenceDaemonTraces(const std::string& root);

// Returns the exit status: 0 enabled and started; 1 not confirmed, or systemctl failed.
int EnableCommand(const std::string& root, bool yes, std::istream& in, std::ostream& out,
                  std::ostream& err);
// Returns 0 disabled and stopped; 1 systemctl failed.
int DisableCommand(std::ostream& out, std::ostream& err);

}  // namespace qvmr

#endif  // QVMR_DAEMON_SERVICE_COMMANDS_H_
