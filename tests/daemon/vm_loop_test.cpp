// VmLoop's pacing against a transport that answers at once and a clock the test moves: a failing
// VM backs off 1 s → 60 s with no call in between, the first sweep and every sweep after a
// failure recover, an empty sweep is never repeated before its wait, and a repeated fault is
// logged once per interval. (States, delivery and the real script: tests/e2e_poll/.)
#include "daemon/vm_loop.h"

#include "daemon/scheduler.h"

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "support/daemon_temp_dir.h"

namespace qvmr {
namespace {

// The monotonic clock of a test: only NowMonotonicMs is ever asked by VmLoop::Step.
class ManualClock : public Processes {
 public:
  MonotonicMs NowMonotonicMs() override { return now; }
  SpawnResult Spawn(const SpawnSpec& spec) override { return Posix()->Spawn(spec); }
  std::optional<ExitState> Peek(const Child& child) override { return Posix()->Peek(child); }
  std::optional<ExitState> WaitUntil(const Child& child, MonotonicMs deadline) override {
    return Posix()->WaitUntil(child, deadline);
  }
  void Signal(const KillTree& tree, int signal) override { Posix()->Signal(tree, signal); }
  ExitState Release(Child& child) override { return Posix()->Release(child); }
  MonotonicClock clock() {
    return [this] { return now; };
  }
  MonotonicMs now = 5000000;
};

// Answers every fetch at once, with nothing claimed: ok, or the failure the test sets.
class FakeTransport : public Transport {
 public:
  std::string_view name() const override { return "fake"; }
  FetchOutcome Fetch(const std::string&, const ScriptParams& params, const HeldDelivery&) override {
    ops.push_back(params.op);
    waits.push_back(params.wait_ms);
    FetchOutcome out;
    if (!fail_code.empty()) out.status = MakeError(fail_code, "the fake call failed");
    return out;
  }
  DeliveryOutcome Deliver(const std::string&, const DeliveryBatch&) override { return {}; }
  std::vector<ScriptOp> ops;
  std::vector<std::int64_t> waits;
  std::string fail_code;
};

class VmLoopTest : public ::testing::Test {
 protected:
  VmLoopTest()
      : log_path_(tmp_.Sub("daemon.log")),
        log_(OpenLog(log_path_)),
        backoff_(clock_.clock()),
        faults_(clock_.clock()),
        pipeline_([this] {
          PipelineDeps d;
          d.env = Env::Posix();
          d.processes = &clock_;
          d.transport = &transport_;
          d.log = log_.get();
          d.faults = &faults_;
          d.scheduler = &scheduler_;  // only its address: nothing here is ever submitted
          return d;
        }()),
        loop_("vm1", {&pipeline_, nullptr, &backoff_, &faults_, log_.get(), &clock_}) {}

  static std::unique_ptr<TextLog> OpenLog(const std::string& path) {
    auto log = TextLog::Open(path, false);
    EXPECT_TRUE(log.ok());
    return std::move(*log);
  }

  std::size_t LogLines(const std::string& needle) const {
    std::ifstream in(log_path_);
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) n += line.find(needle) != std::string::npos;
    return n;
  }

  testing::TempDir tmp_;
  std::string log_path_;
  std::unique_ptr<TextLog> log_;
  ManualClock clock_;
  FakeTransport transport_;
  Backoff backoff_;
  LogLimiter faults_;
  Scheduler scheduler_{1};
  RequestPipeline pipeline_;
  VmLoop loop_;
};

TEST_F(VmLoopTest, AFailingVmBacksOffFromOneSecondToSixtyWithNoCallInBetween) {
  transport_.fail_code = "frame-cut-short";
  const MonotonicMs expected[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
  std::size_t calls = 0;
  for (MonotonicMs delay : expected) {
    EXPECT_EQ(loop_.Step(), delay);
    EXPECT_EQ(transport_.ops.size(), ++calls);
    clock_.now += delay - 1;  // not yet: a step now makes no call
    loop_.Step();
    EXPECT_EQ(transport_.ops.size(), calls) << "called during a " << delay << " ms backoff";
    clock_.now += 1;
  }
}

TEST_F(VmLoopTest, TheFirstSweepAndEverySweepAfterAFailureRecover) {
  loop_.Step();  // ok
  clock_.now += 1000;
  loop_.Step();  // ok
  transport_.fail_code = "call-timeout";
  clock_.now += 1000;
  loop_.Step();  // fails
  EXPECT_TRUE(loop_.recover_next());
  transport_.fail_code.clear();
  clock_.now += 1000;
  loop_.Step();  // ok: a recover
  clock_.now += 1000;
  loop_.Step();  // ok
  EXPECT_EQ(transport_.ops,
            (std::vector<ScriptOp>{ScriptOp::kRecover, ScriptOp::kFetch, ScriptOp::kFetch,
                                   ScriptOp::kRecover, ScriptOp::kFetch}));
}

TEST_F(VmLoopTest, AnEmptySweepThatReturnedAtOnceIsNotRepeatedBeforeItsWait) {
  // A compromised VM whose `sleep` returns at once must not turn the loop into a call stream.
  EXPECT_EQ(loop_.Step(), 1000);
  EXPECT_EQ(transport_.waits, (std::vector<std::int64_t>{1000}));
}

TEST_F(VmLoopTest, ARepeatedFaultIsLoggedOncePerIntervalAndSummarised) {
  transport_.fail_code = "frame-header";
  for (int i = 0; i < 5; ++i) clock_.now += loop_.Step();
  EXPECT_EQ(transport_.ops.size(), 5u);
  EXPECT_EQ(LogLines("reason=frame-header"), 1u);
  clock_.now += 60000;  // the interval has passed: the next one is logged, the rest summarised
  loop_.Step();
  EXPECT_EQ(LogLines("reason=frame-header"), 2u);
  EXPECT_EQ(LogLines("vm1 fetch frame-header: 4 more times"), 1u);
}

}  // namespace
}  // namespace qvmr
