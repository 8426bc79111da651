// VmLoop's step 4 with a real pipeline (journal, keys, policy, scheduler) and a transport and an
// executor the test holds: a fetch that claims a request is held open while dom0 runs it, so a
// quick command's answer goes back in the call that claimed it (one call per command); a refusal
// too; a command still running when the grace ends does not hold the VM: the call ends, the loop
// fetches again and delivers once the command is done.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <fstream>
#include <mutex>
#include <thread>

#include "daemon/journal.h"
#include "daemon/key_store.h"
#include "daemon/pipeline.h"
#include "daemon/policy_state.h"
#include "daemon/scheduler.h"
#include "daemon/spool.h"
#include "daemon/vm_loop.h"
#include "engine/policy/policy_loader.h"
#include "engine/wire/token.h"
#include "gtest/gtest.h"
#include "support/daemon_temp_dir.h"

namespace qvmr {
namespace {

constexpr char kKey[] = "3333333333333333333333333333333333333333333333333333333333333333";

// Hands out one request on its first fetch, nothing after; records every call in order as
// "fetch <wait_ms>", "fetch <wait_ms> + deliver <cids>" (a held fetch that delivered) or
// "deliver <cids>", and acknowledges every delivered answer.
class OneRequestTransport : public Transport {
 public:
  explicit OneRequestTransport(FetchRecord record) : record_(std::move(record)) {}
  void SetRecord(FetchRecord record) { record_ = std::move(record); }  // before the first fetch
  std::string_view name() const override { return "one-request"; }
  FetchOutcome Fetch(const std::string&, const ScriptParams& params,
                     const HeldDelivery& then) override {
    FetchOutcome out;
    std::string call = "fetch " + std::to_string(params.wait_ms);
    bool hand_out = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      hand_out = !handed_out_;
      handed_out_ = true;
    }
    if (hand_out) {
      out.records.push_back(record_);
      if (then) {
        if (std::optional<DeliveryBatch> batch = then(out)) {
          out.delivery = Acknowledge(*batch);
          call += " + deliver" + Cids(*batch);
        }
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(call);
    return out;
  }
  DeliveryOutcome Deliver(const std::string&, const DeliveryBatch& batch) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("deliver" + Cids(batch));
    return Acknowledge(batch);
  }
  std::vector<std::string> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  static DeliveryOutcome Acknowledge(const DeliveryBatch& batch) {
    DeliveryOutcome out;
    for (const DeliveryItem& item : batch.results) {
      out.acks.push_back({.cid = item.cid, .kind = AckKind::kOk});
    }
    return out;
  }
  static std::string Cids(const DeliveryBatch& batch) {
    std::string cids;
    for (const DeliveryItem& item : batch.results) cids += " " + item.cid;
    return cids;
  }

  FetchRecord record_;
  mutable std::mutex mu_;
  bool handed_out_ = false;
  std::vector<std::string> calls_;
};

// "Runs" a command until the test releases it: exit 0, no output.
class HeldExecutor : public Executor {
 public:
  ExecResult Run(const Decision&, const ExecRequest&, RequestSpool& spool) override {
    std::unique_lock<std::mutex> lock(mu_);
    started_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return released_; });
    spool.out->Finish();
    spool.err->Finish();
    ExecResult result;
    result.outcome = Outcome::kOk;
    result.status = 0;
    return result;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    changed_.notify_all();
  }
  void WaitUntilStarted() {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return started_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool started_ = false;
  bool released_ = false;
};

std::string FreshCid() {
  std::time_t now = std::time(nullptr);
  std::tm tm;
  gmtime_r(&now, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d-%02d%02d%02d-%d-00000000000000a1", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(::getpid()));
  return buf;
}

FetchRecord SignedRequest(const std::string& cid, const std::string& body,
                          const std::string& key = kKey) {
  std::map<std::string, std::string> fields{{"timeout", "30"}};
  FetchRecord record;
  record.cid = cid;
  record.shape = ClassifyCid(cid);
  record.kind = FetchKind::kPaired;
  record.auth = FormatAuthV2(fields, MacV2(key, cid, fields, body));
  record.auth_size = record.auth->size();
  record.body = body;
  record.body_size = body.size();
  return record;
}

class VmLoopDeliveryTest : public ::testing::Test {
 protected:
  VmLoopDeliveryTest()
      : cid_(FreshCid()),
        transport_(SignedRequest(cid_, "true\n")),
        keys_(tmp_.Sub("keys")),
        spool_(tmp_.Sub("spool")),
        backoff_(clock_),
        faults_(clock_),
        refusals_(clock_) {
    tmp_.MakeDir("keys");
    chmod(tmp_.Sub("keys").c_str(), 0700);
    tmp_.WriteFile("keys/vm1.key", std::string(kKey) + "\n", 0600);
    tmp_.MakeDir("policy");
    tmp_.WriteFile("policy/50-test.yaml",
                   "version: 1\ncommands:\n  'true': {options: []}\n"
                   "vms:\n  vm1: {level: read-only, allow: ['true']}\n",
                   0644);
    policy_.Set(LoadPolicy(*Env::Posix(), {.dirs = {tmp_.Sub("policy")}, .check_trust = false}));
    EXPECT_NE(policy_.Get().policy, nullptr) << policy_.Get().load_error->message;
    auto journal = Journal::Open(tmp_.Sub("journal.db"));
    EXPECT_TRUE(journal.ok());
    journal_ = std::move(*journal);
    EXPECT_TRUE(spool_.Prepare().ok());
    auto log = TextLog::Open(tmp_.Sub("daemon.log"), false);
    EXPECT_TRUE(log.ok());
    log_ = std::move(*log);
  }

  // The pipeline and the loop, with step 4's grace set by the test.
  void Start(MonotonicMs answer_grace_ms) {
    PipelineDeps d;
    d.env = Env::Posix();
    d.processes = Processes::Posix();
    d.transport = &transport_;
    d.journal = journal_.get();
    d.keys = &keys_;
    d.policy = &policy_;
    d.argv_executor = &executor_;
    d.spool = &spool_;
    d.log = log_.get();
    d.scheduler = &scheduler_;
    d.faults = &faults_;
    d.refusal_limiter = &refusals_;
    pipeline_ = std::make_unique<RequestPipeline>(std::move(d));
    VmLoopOptions options;
    options.answer_grace_ms = answer_grace_ms;
    loop_ = std::make_unique<VmLoop>(
        "vm1",
        VmLoopDeps{pipeline_.get(), nullptr, &backoff_, &faults_, log_.get(), Processes::Posix()},
        options);
  }

  std::string DeliverCall() const { return "deliver " + cid_; }

  testing::TempDir tmp_;
  std::string cid_;
  OneRequestTransport transport_;
  KeyStore keys_;
  PolicyState policy_;
  std::unique_ptr<Journal> journal_;
  SpoolDir spool_;
  std::unique_ptr<TextLog> log_;
  MonotonicClock clock_ = [] { return Processes::Posix()->NowMonotonicMs(); };
  Backoff backoff_;
  LogLimiter faults_;
  LogLimiter refusals_;
  HeldExecutor executor_;
  Scheduler scheduler_{4};  // a share of 2: a busy fetch is made while one command runs
  std::unique_ptr<RequestPipeline> pipeline_;
  std::unique_ptr<VmLoop> loop_;
};

TEST_F(VmLoopDeliveryTest, AQuickCommandIsClaimedRunAndAnsweredInOneCall) {
  Start(/*answer_grace_ms=*/60000);  // generous: the command ends as soon as it starts
  std::thread command_ends([&] {
    executor_.WaitUntilStarted();
    executor_.Release();
  });
  loop_->Step();  // the claiming fetch is held until the command is done, then delivers
  command_ends.join();
  loop_->Step();  // nothing left to deliver: the next (idle) fetch
  EXPECT_EQ(transport_.calls(),
            (std::vector<std::string>{"fetch 1000 + deliver " + cid_, "fetch 1000"}));
  EXPECT_EQ(pipeline_->Waiting("vm1"), 0u);
}

TEST_F(VmLoopDeliveryTest, ACommandRunningPastTheGraceEndsTheCallAndIsDeliveredLater) {
  Start(/*answer_grace_ms=*/50);
  loop_->Step();  // claims; the command is still held when the grace ends: the call ends
  executor_.WaitUntilStarted();
  loop_->Step();  // nothing to deliver yet: a busy fetch picks up what else the VM queued
  executor_.Release();
  ASSERT_TRUE(pipeline_->WaitForInFlight("vm1", 60000));
  loop_->Step();  // now the answer goes out in a deliver call
  EXPECT_EQ(transport_.calls(),
            (std::vector<std::string>{"fetch 1000", "fetch 100", "deliver " + cid_, "fetch 1000"}));
}

TEST_F(VmLoopDeliveryTest, ARefusalIsAnsweredInTheCallThatClaimedItWithoutAnyGrace) {
  // A request under another key: answered auth at claim time, never run.
  transport_.SetRecord(SignedRequest(cid_, "true\n", std::string(64, 'f')));
  Start(/*answer_grace_ms=*/0);
  loop_->Step();
  EXPECT_EQ(transport_.calls(), (std::vector<std::string>{"fetch 1000 + deliver " + cid_}));
  EXPECT_EQ(pipeline_->InFlight("vm1"), 0u);
}

}  // namespace
}  // namespace qvmr
