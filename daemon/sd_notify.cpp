#include "daemon/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace qvmr {

Status NotifyTo(std::string_view socket_name, std::string_view state) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_name.empty() || (socket_name[0] != '/' && socket_name[0] != '@')) {
    return MakeError("notify", "NOTIFY_SOCKET is neither a path nor an abstract '@' name");
  }
  if (socket_name.size() >= sizeof(addr.sun_path)) {
    return MakeError("notify", "NOTIFY_SOCKET is too long for a unix socket address");
  }
  std::memcpy(addr.sun_path, socket_name.data(), socket_name.size());
  // An abstract name starts with a NUL byte and is exactly as long as given (no terminator).
  if (socket_name[0] == '@') addr.sun_path[0] = '\0';
  const socklen_t len = static_cast<socklen_t>(
      offsetof(sockaddr_un, sun_path) + socket_name.size() + (socket_name[0] == '@' ? 0 : 1));
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return MakeError("notify", std::string("socket: ") + std::strerror(errno));
  ssize_t sent;
  do {
    sent = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                  reinterpret_cast<const sockaddr*>(&addr), len);
  } while (sent < 0 && errno == EINTR);
  const int saved = errno;
  close(fd);
  if (sent < 0) return MakeError("notify", std::string("send: ") + std::strerror(saved));
  return Ok{};
}

Status Notify(std::string_view state) {
  const char* name = std::getenv("NOTIFY_SOCKET");
  if (name == nullptr || *name == '\0') return Ok{};
  return NotifyTo(name, state);
}

std::string StatusLine(std::string_view policy, std::size_t vms_reachable, std::size_t vms,
                       std::size_t undelivered) {
  std::string line(policy);
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';  // one assignment per line in the datagram
  }
  return line + "; " + std::to_string(vms_reachable) + "/" + std::to_string(vms) +
         " VMs reachable; " + std::to_string(undelivered) + " results undelivered";
}

}  // namespace qvmr
