// systemd's readiness protocol, sent directly (no libsystemd, CONTRACT.md "Commands"): one
// AF_UNIX datagram to the socket named by $NOTIFY_SOCKET — a path, or an abstract name written
// with a leading '@' — holding newline-separated assignments such as "READY=1" and
// "STATUS=policy 3f2a…, 2/2 VMs reachable, 0 results undelivered".
//
// Without $NOTIFY_SOCKET (not started by systemd, or Type= is not notify) nothing is sent and the
// call succeeds. Cost: one socket, one sendmsg. Thread safety: safe to call from any thread.
#ifndef QVMR_DAEMON_SD_NOTIFY_H_
#define QVMR_DAEMON_SD_NOTIFY_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "engine/base/result.h"

namespace qvmr {

// Sends `state` to `socket_name` (a NOTIFY_SOCKET value). Fails with code "notify" on a name that
// is neither absolute nor '@'-abstract, a name too long for sockaddr_un, or a failed send.
Status NotifyTo(std::string_view socket_name, std::string_view state);

// NotifyTo($NOTIFY_SOCKET, state); Ok without sending when the variable is unset or empty.
Status Notify(std::string_view state);

// One STATUS= value, one line: the policy ("policy <revision>" or "deny-all: <file:line>"), how
// many VMs were reachable at their last call, how many results wait for delivery.
std::string StatusLine(std::string_view policy, std::size_t vms_reachable, std::size_t vms,
                       std::size_t undelivered);

}  // namespace qvmr

#endif  // QVMR_DAEMON_SD_NOTIFY_H_
