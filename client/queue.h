// The VM side of the queue: where things live under `~/.qvm-remote`, the v2 cid, and the two
// moves a client makes — submit (`.auth` then body, each written in `tmp/` and renamed into
// `pending/`) and withdraw (the body renamed back out of `pending/`, which fails once dom0 has
// claimed it). CONTRACT.md "Wire protocol v2"; docs/protocol.md §5.
// Thread safety: functions touch only the files of one cid; no shared state.
#ifndef QVMR_CLIENT_QUEUE_H_
#define QVMR_CLIENT_QUEUE_H_

#include <array>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "engine/base/result.h"

namespace qvmr::client {

// `<home>/.qvm-remote/...`; `home` is $HOME (the reference uses nothing else).
struct Paths {
  std::string data;     // ~/.qvm-remote
  std::string key;      // ~/.qvm-remote/auth.key
  std::string audit;    // ~/.qvm-remote/audit.log
  std::string history;  // ~/.qvm-remote/history
  std::string queue;    // ~/.qvm-remote/queue
  std::string tmp, pending, running, results;

  static Paths ForHome(std::string_view home);
  // results/<cid>.<ext>
  std::string Result(std::string_view cid, std::string_view ext) const;
};

// Creates ~/.qvm-remote, the queue and its four directories, 0700 when it creates them (existing
// ones, e.g. the reference's 0755, are left as they are). Error code "io" naming the directory.
Status EnsureQueueDirs(const Paths& paths);

// `YYYYMMDD-HHMMSS-<pid>-<16 lowercase hex>`: the UTC time, the pid, 8 random bytes.
std::string FormatCid(std::time_t utc_seconds, long pid, const std::array<std::uint8_t, 8>& random);
// FormatCid of now, this process and 8 bytes from getrandom(2). Error code "io" if the kernel
// gives no randomness (never guessed: a predictable cid helps nobody, but a failing RNG is a
// sign of worse).
Result<std::string> NewCid();

struct Request {
  std::string cid;
  std::uint32_t timeout_seconds = 0;
  bool ping = false;  // kind=ping, empty body
  std::string body;
};

// Writes `tmp/<cid>.auth` (FormatAuthV2 of the MAC over cid, fields and body), renames it into
// `pending/`, then writes `tmp/<cid>` and renames it into `pending/` last, so dom0 never sees a
// body without its `.auth` nor a half-written file. Files are created 0600 with O_EXCL.
// REQUIRES: IsValidKey(key); the body's size was checked. On failure nothing of the cid is left
// in pending/ or tmp/ (error code "io" with the path and errno text).
Status Submit(const Paths& paths, std::string_view key, const Request& request);

enum class Withdrawal { kWithdrawn, kClaimed };
// Renames `pending/<cid>` back into `tmp/` — the one step that decides: if it fails, dom0 has
// claimed the request (renamed it into `running/`) and it runs on. Then removes the `.auth` and
// the withdrawn body. Never fails otherwise.
Withdrawal Withdraw(const Paths& paths, std::string_view cid);

// True while `pending/<cid>` exists (not yet claimed).
bool IsPending(const Paths& paths, std::string_view cid);

struct QueueCounts {
  int pending = 0;      // bodies waiting in pending/
  int orphan_auth = 0;  // `.auth` files in pending/ whose body is not there
  int running = 0;      // entries in running/ (claimed by dom0)
  int results = 0;      // `.exit` files in results/ nobody has read
};
QueueCounts CountQueue(const Paths& paths);

// `queue clean`: removes files in tmp/, pending/ and results/ last changed more than
// `older_than_seconds` ago (dom0 refuses a v2 request older than 10 minutes as stale anyway);
// running/ is dom0's and left alone. Returns how many it removed.
int CleanQueue(const Paths& paths, std::int64_t older_than_seconds);

}  // namespace qvmr::client

#endif  // QVMR_CLIENT_QUEUE_H_
