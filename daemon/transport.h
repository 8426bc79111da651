// Transport: how dom0 reaches a VM's queue. Every variant runs the same fixed script
// (engine/wire/fixed_script.h) through daemon/script_call.h; they differ only in the command that
// carries it:
//   local  `/bin/sh -c 'SCRIPT; exit'` with HOME = <local-dir>/<vm> (tests, single-user set-ups;
//          it runs as the daemon's user and is no boundary) — transport_local.cpp;
//   poll   `qvm-run --no-gui --pass-io --no-autostart -- VM 'SCRIPT'` — transport_poll.cpp.
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
#include "engine/base/result.h"

namespace qvmr {

class Transport {
 public:
  virtual ~Transport() = default;
  virtual std::string_view name() const = 0;
  // REQUIRES: params.op is kFetch or kRecover; `vm` a validated VM name. With `then`, a fetch
  // that claims something is held open for `then`'s delivery (script_call.h HeldDelivery).
  virtual FetchOutcome Fetch(const std::string& vm, const ScriptParams& params,
                             const HeldDelivery& then) = 0;
  virtual DeliveryOutcome Deliver(const std::string& vm, const DeliveryBatch& batch) = 0;
};

// `local_dir`/<vm> is each VM's home (its queue is <local_dir>/<vm>/.qvm-remote/queue).
std::unique_ptr<Transport> NewLocalTransport(Processes* processes, std::string local_dir,
                                             CallLimits limits = {});

class VmStateOracle;  // daemon/vm_state.h

struct PollOptions {
  // The daemon's own PATH (a colon list; relative and empty entries are dropped): qvm-run is
  // looked up in it once, by NewPollTransport, and it is the call's PATH.
  std::string search_path;
  CallLimits limits;
  // When set, only a VM the oracle says is Running gets a call (a paused VM's call would hang, a
  // halted VM's does nothing); any other state fails the call at once with code
  // "vm-not-running" and no process made. After a call that failed (no end marker: the VM may
  // have stopped), the oracle is asked to refresh. Must outlive the transport. nullptr: every
  // call is made (tests; the caller checks states itself).
  VmStateOracle* states = nullptr;
};

// Every call is exactly `<qvm-run> --no-gui --pass-io --no-autostart -- VM SCRIPT` with SCRIPT =
// FixedScript() (Qubes' VMShell appends "; exit" itself), environment exactly PATH=<search path>
// and LANG=C. Without --no-gui, qvm-run would first make a qubes.WaitForSession call; without
// --no-autostart, a call would start a halted VM. One Fetch or Deliver = one qvm-run.
// Fails ("no-qvm-run") when qvm-run is not an executable file in any directory of search_path.
Result<std::unique_ptr<Transport>> NewPollTransport(Processes* processes, PollOptions options);

}  // namespace qvmr

#endif  // QVMR_DAEMON_TRANSPORT_H_
