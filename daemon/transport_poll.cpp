// The poll transport: the fixed script through Qubes' qvm-run (qubes.VMShell). Everything about
// the call's streams, bounds and limits is script_call's; this file only makes the command, and
// keeps calls away from VMs that are not Running (vm_state.h).
#include "daemon/exec_path.h"
#include "daemon/transport.h"
#include "daemon/vm_state.h"
#include "engine/base/excerpt.h"
#include "engine/wire/fixed_script.h"

namespace qvmr {
namespace {

class PollTransport : public Transport {
 public:
  PollTransport(Processes* processes, std::string qvm_run, std::string path_env, CallLimits limits,
                VmStateOracle* states)
      : processes_(processes),
        qvm_run_(std::move(qvm_run)),
        path_env_(std::move(path_env)),
        limits_(limits),
        states_(states) {}

  std::string_view name() const override { return "poll"; }

  FetchOutcome Fetch(const std::string& vm, const ScriptParams& params,
                     const HeldDelivery& then) override {
    FetchOutcome outcome;
    if (Status ready = ReadyForCall(vm); !ready.ok()) {
      outcome.status = ready;
      return outcome;
    }
    outcome = CallFetch(*processes_, Command(vm), params, limits_, then);
    AfterCall(outcome.delivery && !outcome.delivery->status.ok() ? outcome.delivery->status
                                                                 : outcome.status);
    return outcome;
  }

  DeliveryOutcome Deliver(const std::string& vm, const DeliveryBatch& batch) override {
    DeliveryOutcome outcome;
    if (Status ready = ReadyForCall(vm); !ready.ok()) {
      outcome.status = ready;
      return outcome;
    }
    outcome = CallDeliver(*processes_, Command(vm), batch, limits_);
    AfterCall(outcome.status);
    return outcome;
  }

 private:
  Status ReadyForCall(const std::string& vm) {
    if (states_ == nullptr) return Ok{};
    VmState state = states_->Get(vm);
    if (state == VmState::kRunning) return Ok{};
    return MakeError("vm-not-running", vm + " is " + std::string(VmStateName(state)));
  }

  // A call without its end marker may mean the VM stopped or was paused under it: the next
  // call waits for a fresh state rather than trust one up to 5 s old.
  void AfterCall(const Status& status) {
    if (!status.ok() && states_ != nullptr) states_->RequestRefresh();
  }

  // `vm` is a separate argv element after `--`: qvm-run never parses it as an option, and no
  // shell ever sees it. The script is the same bytes for every VM and every call.
  CallCommand Command(const std::string& vm) const {
    return CallCommand{
        {qvm_run_, "--no-gui", "--pass-io", "--no-autostart", "--", vm, std::string(FixedScript())},
        {path_env_, "LANG=C"}};
  }

  Processes* processes_;
  std::string qvm_run_;
  std::string path_env_;
  CallLimits limits_;
  VmStateOracle* states_;
};

}  // namespace

Result<std::unique_ptr<Transport>> NewPollTransport(Processes* processes, PollOptions options) {
  ExecPath path = ExecPath::Parse(options.search_path);
  ProgramLookup lookup = path.Lookup("qvm-run");
  if (lookup.kind != ProgramLookup::Kind::kFound) {
    return MakeError("no-qvm-run", "qvm-run is not an executable file in any directory of PATH (" +
                                       Excerpt(options.search_path, 200) +
                                       "): the poll transport needs dom0");
  }
  return std::unique_ptr<Transport>(std::make_unique<PollTransport>(
      processes, std::move(lookup.path), "PATH=" + path.Joined(), options.limits, options.states));
}

}  // namespace qvmr
