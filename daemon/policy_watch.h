// Watching the policy directories (CONTRACT.md "Policy files"): inotify on every policy
// directory for IN_CLOSE_WRITE, IN_MOVED_TO, IN_MOVED_FROM, IN_DELETE, IN_CREATE, IN_ATTRIB and
// the *_SELF events; once events have been quiet for the debounce (200 ms) the callback runs, on
// the watcher's own thread. An editor's save (write a temporary, rename over) is thus one reload,
// and a reload never sees a half-written burst of files.
//
// A directory that does not exist (yet), or that was deleted or moved away, is watched through its
// nearest existing ancestor (for IN_CREATE and IN_MOVED_TO), and the watches are armed again after
// each burst, so creating /etc/qubes/remote-policy.d later is noticed too. A deleted directory
// triggers a reload: deleting a file or directory revokes what it granted.
//
// Cost: one thread, one inotify descriptor, a handful of watches. Thread safety: Start and the
// destructor from one thread; the callback runs on the watcher's thread, never concurrently with
// itself. Lifetime: the destructor stops and joins the thread (a callback running then finishes).
#ifndef QVMR_DAEMON_POLICY_WATCH_H_
#define QVMR_DAEMON_POLICY_WATCH_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/base/result.h"

namespace qvmr {

inline constexpr std::int64_t kPolicyDebounceMs = 200;

class PolicyWatch {
 public:
  // Fails (code "io") when inotify or the stop pipe cannot be created.
  static Result<std::unique_ptr<PolicyWatch>> Start(std::vector<std::string> dirs,
                                                    std::int64_t debounce_ms,
                                                    std::function<void()> on_change);
  ~PolicyWatch();
  PolicyWatch(const PolicyWatch&) = delete;
  PolicyWatch& operator=(const PolicyWatch&) = delete;

 private:
  PolicyWatch(int inotify_fd, int stop_read, int stop_write, std::vector<std::string> dirs,
              std::int64_t debounce_ms, std::function<void()> on_change);
  void Arm();  // adds a watch on each directory or its nearest existing ancestor
  void Loop();

  int inotify_fd_;
  int stop_read_;
  int stop_write_;
  std::vector<std::string> dirs_;
  std::int64_t debounce_ms_;
  std::function<void()> on_change_;
  std::thread thread_;
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_POLICY_WATCH_H_
