// One daemon at a time (CONTRACT.md "Journal"): an exclusive flock(2) on
// `<state dir>/daemon.lock` (/var/lib/qvm-remote/daemon.lock, under --root too), taken before the
// journal is opened and held for the life of the process, `--once` included. Two daemons would
// claim the same requests and each journal them as its own: at-most-once needs exactly one.
//
// flock, not a pid file: the kernel drops the lock when the process dies however it dies, so a
// crash never leaves a stale lock behind. The holder's pid is written into the file only so the
// refusal can name it.
//
// Thread safety: an InstanceLock is immutable once acquired. Lifetime: the lock is held until
// the object is destroyed; its fd is O_CLOEXEC, so commands the daemon runs never inherit it
// (a leftover child must not keep a restarted daemon out).
#ifndef QVMR_DAEMON_INSTANCE_LOCK_H_
#define QVMR_DAEMON_INSTANCE_LOCK_H_

#include <memory>
#include <string>

#include "engine/base/result.h"

namespace qvmr {

class InstanceLock {
 public:
  // Opens or creates `path` (0600; its directory 0700 when missing), takes the lock without
  // waiting, and writes this process's pid into it. Fails with code "locked" and the message
  // "another qvm-remote-dom0 is running (pid N)" (or "(pid unknown)" when the holder has not
  // written it yet) while another open file description holds it — in another process or in
  // this one — or with code "io" naming the path and errno text when it cannot be opened.
  static Result<std::unique_ptr<InstanceLock>> Acquire(const std::string& path);

  ~InstanceLock();  // releases the lock (the file stays: removing it would race a new holder)
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  InstanceLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  const std::string path_;
  const int fd_;
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_INSTANCE_LOCK_H_
