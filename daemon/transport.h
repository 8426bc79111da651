// Transport: how dom0 reaches a VM's queue. Every variant runs the same fixed script
// (engine/wire/fixed_script.h) through daemon/script_call.h; they differ only in the command that
// carries it:
//   local  `/bin/sh -c 'SCRIPT; exit'` with HOME = <local-dir>/<vm> (tests, single-user set-ups;
//          it runs as the daemon's user and is no boundary) — transport_local.cpp;
//   poll   `qvm-run --no-gui --pass-io --no-autostart -- VM 'SCRIPT'` (a later issue).
// CONTRACT.md "Transports".
//
// Thread safety: Fetch and Deliver for different VMs may run at once; calls for one VM are made
// by one thread at a time (the VM's script is not written for two of itself).
#ifndef QVMR_DAEMON_TRANSPORT_H_
#define QVMR_DAEMON_TRANSPORT_H_

#include <memory>
#include <string>

#include "daemon/processes.h"
#include "daemon/script_call.h"

namespace qvmr {

class Transport {
 public:
  virtual ~Transport() = default;
  virtual std::string_view name() const = 0;
  // REQUIRES: params.op is kFetch or kRecover; `vm` a validated VM name.
  virtual FetchOutcome Fetch(const std::string& vm, const ScriptParams& params) = 0;
  virtual DeliveryOutcome Deliver(const std::string& vm, const DeliveryBatch& batch) = 0;
};

// `local_dir`/<vm> is each VM's home (its queue is <local_dir>/<vm>/.qvm-remote/queue).
std::unique_ptr<Transport> NewLocalTransport(Processes* processes, std::string local_dir,
                                             CallLimits limits = {});

}  // namespace qvmr

#endif  // QVMR_DAEMON_TRANSPORT_H_
