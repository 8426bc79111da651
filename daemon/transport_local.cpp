// The local transport: the fixed script under /bin/sh in a directory per VM, so tests exercise
// exactly the code path poll uses, minus qvm-run.
#include "daemon/transport.h"

#include "engine/wire/fixed_script.h"

namespace qvmr {
namespace {

class LocalTransport : public Transport {
 public:
  LocalTransport(Processes* processes, std::string local_dir, CallLimits limits)
      : processes_(processes), local_dir_(std::move(local_dir)), limits_(limits) {}

  std::string_view name() const override { return "local"; }

  FetchOutcome Fetch(const std::string& vm, const ScriptParams& params,
                     const HeldDelivery& then) override {
    return CallFetch(*processes_, Command(vm), params, limits_, then);
  }

  DeliveryOutcome Deliver(const std::string& vm, const DeliveryBatch& batch) override {
    return CallDeliver(*processes_, Command(vm), batch, limits_);
  }

 private:
  CallCommand Command(const std::string& vm) const {
    return CallCommand{{"/bin/sh", "-c", FixedScriptCommand()},
                       {"HOME=" + local_dir_ + "/" + vm, "PATH=/usr/bin:/bin", "LANG=C"}};
  }

  Processes* processes_;
  std::string local_dir_;
  CallLimits limits_;
};

}  // namespace

std::unique_ptr<Transport> NewLocalTransport(Processes* processes, std::string local_dir,
                                             CallLimits limits) {
  return std::make_unique<LocalTransport>(processes, std::move(local_dir), limits);
}

}  // namespace qvmr
