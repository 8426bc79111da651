// A dom0 and its VMs on the local transport, for end-to-end tests of qvm-remote-dom0: a --root
// with a policy, keys and remote.conf; a directory per VM holding its queue; an exec path of
// symlinks and one counting script, so tests can tell how often something ran.
#ifndef QVMR_TESTS_SUPPORT_DAEMON_LOCAL_WORLD_H_
#define QVMR_TESTS_SUPPORT_DAEMON_LOCAL_WORLD_H_

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

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

  // A cid of the given wall time (ms since the epoch), unique within the test.
  std::string NewCidAt(std::int64_t ms);
  // The test-hook clock offset dom0 reads at each NowMs (only in a QVMR_TEST_HOOKS build).
  void SetClockOffsetMs(std::int64_t ms);
  std::string ClockOffsetFile() const { return root() + "/run/qvm-remote/test-clock-offset-ms"; }

  // The audit trail's lines, each parsed (a line that does not parse fails the test and is
  // returned as a JSON string holding the raw line).
  std::vector<nlohmann::json> AuditLines() const;
  std::string AuditFile() const { return root() + "/var/log/qubes/qvm-remote-audit.jsonl"; }
  std::string TextLogText() const;
  // ~/.qvm-remote/audit.log of `vm` (the VM-side lines).
  std::string VmAuditLog(const std::string& vm) const;

  // The real qvm-remote-dom0 of this build (QVMR_BIN_DIR) on this world: arguments for --root,
  // the local transport and the policy dir, then `extra`.
  std::vector<std::string> BinaryArgs(const std::vector<std::string>& extra = {}) const;
  // Runs it to completion with `env_extra` ("NAME=value") added to the environment; returns the
  // exit status, or 128+N when killed by signal N.
  int RunBinary(const std::vector<std::string>& args,
                const std::vector<std::string>& env_extra = {}) const;
  // Starts it without waiting; returns the pid (StopBinary sends SIGTERM and reaps it).
  int StartBinary(const std::vector<std::string>& args,
                  const std::vector<std::string>& env_extra = {}) const;
  static int StopBinary(int pid);

  const TempDir& tmp() const { return tmp_; }

 private:
  TempDir tmp_;
  int counter_ = 0;
};

}  // namespace qvmr::testing

#endif  // QVMR_TESTS_SUPPORT_DAEMON_LOCAL_WORLD_H_
