// A dom0 and its VMs on the local transport, for end-to-end tests of qvm-remote-dom0: a --root
// with a policy, keys and remote.conf; a directory per VM holding its queue; an exec path of
// symlinks and one counting script, so tests can tell how often something ran.
#ifndef QVMR_TESTS_SUPPORT_DAEMON_LOCAL_WORLD_H_
#define QVMR_TESTS_SUPPORT_DAEMON_LOCAL_WORLD_H_

#include <map>
#include <string>

#include "daemon/daemon.h"
#include "support/daemon_temp_dir.h"

namespace qvmr::testing {

inline constexpr char kKeyWork[] =
    "1111111111111111111111111111111111111111111111111111111111111111";
inline constexpr char kKeyOther[] =
    "2222222222222222222222222222222222222222222222222222222222222222";

class LocalWorld {
 public:
  // VMs `work` (read-only, key kKeyWork) and `other` (read-only, key kKeyOther).
  LocalWorld();

  std::string root() const { return tmp_.Sub("root"); }
  std::string Queue(const std::string& vm) const {
    return tmp_.Sub("vms/" + vm + "/.qvm-remote/queue");
  }
  std::string PolicyFile() const { return root() + "/etc/qubes/remote-policy.d/50-test.yaml"; }
  // How many times the `tick` program ran.
  int Ticks() const;

  // A fresh cid of now (UTC), unique within the test.
  std::string NewCid();
  // Writes a v2 request as the client does (.auth first, then the body), MACed with `key`.
  void Submit(const std::string& vm, const std::string& cid, const std::string& body,
              const std::string& key, const std::string& extra_fields = "");
  // One sweep with --once; the daemon's exit status.
  int RunOnce(DaemonOptions options = {});

  // results/<cid>.<ext> of `vm`, or "<missing>".
  std::string Result(const std::string& vm, const std::string& cid, const std::string& ext) const;
  // The `.meta` value of `key` ("" when absent).
  std::string MetaValue(const std::string& vm, const std::string& cid,
                        const std::string& key) const;

  const TempDir& tmp() const { return tmp_; }

 private:
  TempDir tmp_;
  int counter_ = 0;
};

}  // namespace qvmr::testing

#endif  // QVMR_TESTS_SUPPORT_DAEMON_LOCAL_WORLD_H_
