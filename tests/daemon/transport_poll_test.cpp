// The poll transport end to end against tools/sim: a real qvm-run (the simulator's, which runs
// the script the way Qubes' qubes.VMShell does), real VM queues written the way the client writes
// them, the VM state oracle over the simulator's qvm-ls. Each test makes its own simulation; the
// simulator's qvm-run.log (one line per qvm-run call) counts the calls.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "daemon/transport.h"
#include "daemon/vm_state.h"
#include "engine/wire/token.h"
#include "gtest/gtest.h"
#include "tests/support/daemon_temp_dir.h"

namespace qvmr {
namespace {

using testing::ReadWholeFile;

const char kKey[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class PollTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qvmr-poll-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    sim_ = tmpl;
    ::chmod(sim_.c_str(), 0755);
    std::string cmd = Tools() + "/new " + sim_ + " vm1 vm2 vm3 vm4 >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    // The daemon's PATH under tools/sim/dom0: the fake dom0 tools first.
    path_ = sim_ + "/dom0/bin:/usr/bin:/bin";
  }
  void TearDown() override { std::filesystem::remove_all(sim_); }

  static std::string Tools() { return std::string(QVMR_SOURCE_DIR) + "/tools/sim"; }
  std::string Queue(const std::string& vm) const {
    return sim_ + "/vms/" + vm + "/home/user/.qvm-remote/queue";
  }

  // Runs `command` as the VM's user (so the queue is the VM's own, as in Qubes), `input` on its
  // stdin.
  void AsVm(const std::string& vm, const std::string& command, const std::string& input = "") {
    std::string cmd = "SIM_ROOT=" + sim_ + " " + Tools() + "/vm " + vm + " " + Quote(command);
    FILE* p = ::popen(cmd.c_str(), "w");
    ASSERT_NE(p, nullptr);
    if (!input.empty()) ::fwrite(input.data(), 1, input.size(), p);
    ASSERT_EQ(::pclose(p), 0) << cmd;
  }

  // A v2 request, written as the client does: `.auth` into tmp/ and renamed into pending/
  // first, then the body likewise. Returns the `.auth` text.
  std::string Submit(const std::string& vm, const std::string& cid, const std::string& body) {
    std::map<std::string, std::string> fields{{"timeout", "30"}};
    std::string auth = FormatAuthV2(fields, MacV2(kKey, cid, fields, body));
    AsVm(vm,
         "umask 077; d=.qvm-remote; q=$d/queue; for x in $d $q $q/tmp $q/pending $q/running "
         "$q/results; do mkdir -p -m 700 $x; done");
    AsVm(vm,
         "cat > .qvm-remote/queue/tmp/" + cid + ".auth && mv .qvm-remote/queue/tmp/" + cid +
             ".auth .qvm-remote/queue/pending/",
         auth);
    AsVm(vm,
         "cat > .qvm-remote/queue/tmp/" + cid + " && mv .qvm-remote/queue/tmp/" + cid +
             " .qvm-remote/queue/pending/",
         body);
    return auth;
  }

  std::vector<std::string> LogLines() const {
    std::vector<std::string> lines;
    std::istringstream in(ReadWholeFile(sim_ + "/qvm-run.log"));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  std::unique_ptr<Transport> Poll(VmStateOracle* states = nullptr, CallLimits limits = {}) {
    auto t = NewPollTransport(Processes::Posix(), PollOptions{path_, limits, states});
    EXPECT_TRUE(t.ok()) << t.error().message;
    return std::move(*t);
  }

  static ScriptParams Fetch(std::int64_t wait_ms = 200) {
    return ScriptParams{.op = ScriptOp::kFetch, .max_claims = 4, .wait_ms = wait_ms};
  }

  std::string sim_;
  std::string path_;
};

constexpr char kCid[] = "20261130-120000-1-0123456789abcdef";

TEST_F(PollTransportTest, FetchClaimsARequestInOneQvmRunCall) {
  const std::string body = "echo hello\n";
  const std::string auth = Submit("vm1", kCid, body);
  auto poll = Poll();
  std::size_t before = LogLines().size();

  FetchOutcome got = poll->Fetch("vm1", Fetch(), {});
  ASSERT_TRUE(got.status.ok()) << got.status.error().code << ": " << got.status.error().message
                               << " stderr: " << got.stderr_excerpt;
  ASSERT_EQ(got.records.size(), 1u);
  EXPECT_EQ(got.records[0].cid, kCid);
  EXPECT_EQ(got.records[0].kind, FetchKind::kPaired);
  EXPECT_EQ(got.records[0].auth, auth);
  EXPECT_EQ(got.records[0].body, body);
  EXPECT_EQ(ReadWholeFile(Queue("vm1") + "/running/" + kCid), body) << "the claim moved the body";
  EXPECT_FALSE(std::filesystem::exists(Queue("vm1") + "/pending/" + kCid));

  auto lines = LogLines();
  ASSERT_EQ(lines.size(), before + 1) << "exactly one qvm-run per fetch";
  EXPECT_NE(lines.back().find(" vm1 "), std::string::npos) << lines.back();
  for (const auto& l : lines) {
    EXPECT_EQ(l.find("qubes.WaitForSession"), std::string::npos) << "--no-gui missing: " << l;
  }
}

TEST_F(PollTransportTest, AHeldFetchClaimsAndDeliversInOneQvmRunCall) {
  Submit("vm1", kCid, "echo hello\n");
  auto poll = Poll();
  std::size_t before = LogLines().size();
  std::vector<std::string> seen_by_then;
  FetchOutcome got = poll->Fetch("vm1", Fetch(), [&](const FetchOutcome& claimed) {
    for (const FetchRecord& r : claimed.records) seen_by_then.push_back(r.cid);
    // The call is still open: the VM's script waits for this batch.
    DeliveryBatch batch;
    batch.results.push_back(DeliveryItem{kCid, {"hello\n", ""}, {"", ""}, "outcome=ok\n", "0"});
    return std::optional<DeliveryBatch>(batch);
  });
  ASSERT_TRUE(got.status.ok()) << got.status.error().message << " " << got.stderr_excerpt;
  EXPECT_EQ(seen_by_then, (std::vector<std::string>{kCid}));
  ASSERT_TRUE(got.delivery.has_value());
  ASSERT_TRUE(got.delivery->status.ok())
      << got.delivery->status.error().message << " " << got.delivery->stderr_excerpt;
  ASSERT_EQ(got.delivery->acks.size(), 1u);
  EXPECT_EQ(got.delivery->acks[0].kind, AckKind::kOk);
  EXPECT_EQ(LogLines().size(), before + 1) << "claim and answer in one qvm-run";
  const std::string r = Queue("vm1") + "/results/" + kCid;
  EXPECT_EQ(ReadWholeFile(r + ".out"), "hello\n");
  EXPECT_EQ(ReadWholeFile(r + ".exit"), "0");
  EXPECT_FALSE(std::filesystem::exists(Queue("vm1") + "/running/" + kCid));
}

TEST_F(PollTransportTest, AHeldFetchWithNothingToDeliverEndsCleanlyAndLeavesTheClaim) {
  Submit("vm1", kCid, "echo hello\n");
  auto poll = Poll();
  FetchOutcome got = poll->Fetch("vm1", Fetch(), [](const FetchOutcome&) {
    return std::optional<DeliveryBatch>();  // the command is still running
  });
  ASSERT_TRUE(got.status.ok()) << got.status.error().message << " " << got.stderr_excerpt;
  EXPECT_EQ(got.records.size(), 1u);
  EXPECT_FALSE(got.delivery.has_value());
  EXPECT_EQ(got.stderr_excerpt, "");
  EXPECT_TRUE(std::filesystem::exists(Queue("vm1") + "/running/" + kCid));
}

TEST_F(PollTransportTest, AnIdleHeldFetchNeverCallsThenAndEndsAtItsBatch) {
  auto poll = Poll();
  bool called = false;
  FetchOutcome got = poll->Fetch("vm1", Fetch(), [&](const FetchOutcome&) {
    called = true;
    return std::optional<DeliveryBatch>();
  });
  ASSERT_TRUE(got.status.ok()) << got.status.error().message << " " << got.stderr_excerpt;
  EXPECT_FALSE(called);
  EXPECT_FALSE(got.delivery.has_value());
}

TEST_F(PollTransportTest, AnIdleFetchIsOneCallWithNoRecords) {
  auto poll = Poll();
  std::size_t before = LogLines().size();
  FetchOutcome got = poll->Fetch("vm1", Fetch(), {});
  ASSERT_TRUE(got.status.ok()) << got.status.error().message << " " << got.stderr_excerpt;
  EXPECT_TRUE(got.records.empty());
  EXPECT_EQ(LogLines().size(), before + 1);
}

TEST_F(PollTransportTest, DeliverWritesTheResultFilesOnceAndAcknowledgesARepeatAsExists) {
  Submit("vm1", kCid, "echo hello\n");
  auto poll = Poll();
  ASSERT_TRUE(poll->Fetch("vm1", Fetch(), {}).status.ok());
  std::size_t before = LogLines().size();

  DeliveryBatch batch;
  batch.results.push_back(DeliveryItem{kCid,
                                       {"hello\n", ""},
                                       {std::string("w\0rn\n", 5), ""},
                                       std::string("id=") + kCid + "\n",
                                       "0"});
  DeliveryOutcome got = poll->Deliver("vm1", batch);
  ASSERT_TRUE(got.status.ok()) << got.status.error().message << " " << got.stderr_excerpt;
  ASSERT_EQ(got.acks.size(), 1u);
  EXPECT_EQ(got.acks[0].cid, kCid);
  EXPECT_EQ(got.acks[0].kind, AckKind::kOk);
  EXPECT_EQ(LogLines().size(), before + 1) << "exactly one qvm-run per delivery";
  const std::string r = Queue("vm1") + "/results/" + kCid;
  EXPECT_EQ(ReadWholeFile(r + ".out"), "hello\n");
  EXPECT_EQ(ReadWholeFile(r + ".err"), std::string("w\0rn\n", 5));
  EXPECT_EQ(ReadWholeFile(r + ".meta"), std::string("id=") + kCid + "\n");
  EXPECT_EQ(ReadWholeFile(r + ".exit"), "0");
  EXPECT_FALSE(std::filesystem::exists(Queue("vm1") + "/running/" + kCid));
  EXPECT_FALSE(std::filesystem::exists(Queue("vm1") + "/running/" + kCid + ".auth"));

  struct stat first;
  ASSERT_EQ(::stat((r + ".out").c_str(), &first), 0);
  batch.results[0].out.bytes = "something else\n";
  batch.results[0].exit = "1";
  DeliveryOutcome again = poll->Deliver("vm1", batch);
  ASSERT_TRUE(again.status.ok()) << again.status.error().message;
  ASSERT_EQ(again.acks.size(), 1u);
  EXPECT_EQ(again.acks[0].kind, AckKind::kExists);
  EXPECT_EQ(ReadWholeFile(r + ".out"), "hello\n");
  EXPECT_EQ(ReadWholeFile(r + ".exit"), "0");
  struct stat second;
  ASSERT_EQ(::stat((r + ".out").c_str(), &second), 0);
  EXPECT_EQ(first.st_ino, second.st_ino) << "the file was not replaced";
}

TEST_F(PollTransportTest, HaltedAndPausedVmsGetNoCall) {
  std::ofstream(sim_ + "/vms/vm2/halted").put('\n');
  std::ofstream(sim_ + "/vms/vm3/paused").put('\n');
  auto oracle = VmStateOracle::Create(Processes::Posix(), VmStateOptions{.search_path = path_});
  ASSERT_TRUE(oracle.ok()) << oracle.error().message;
  EXPECT_EQ((*oracle)->Get("vm1"), VmState::kRunning);
  EXPECT_EQ((*oracle)->Get("vm2"), VmState::kHalted);
  EXPECT_EQ((*oracle)->Get("vm3"), VmState::kPaused);
  EXPECT_EQ((*oracle)->Get("vm9"), VmState::kMissing);
  EXPECT_EQ((*oracle)->qvm_ls_calls(), 1u);

  auto poll = Poll(oracle->get());
  std::size_t before = LogLines().size();
  for (const char* vm : {"vm2", "vm3", "vm9"}) {
    FetchOutcome got = poll->Fetch(vm, Fetch(), {});
    ASSERT_FALSE(got.status.ok()) << vm;
    EXPECT_EQ(got.status.error().code, "vm-not-running") << vm;
    DeliveryOutcome delivered = poll->Deliver(vm, DeliveryBatch{});
    EXPECT_EQ(delivered.status.error().code, "vm-not-running") << vm;
  }
  EXPECT_EQ(LogLines().size(), before) << "no qvm-run for a VM that is not Running";
  EXPECT_TRUE(poll->Fetch("vm1", Fetch(), {}).status.ok());
  EXPECT_EQ(LogLines().size(), before + 1);
}

TEST_F(PollTransportTest, ACallWithNoMarkerMakesTheOracleLookAgainAtOnce) {
  auto oracle = VmStateOracle::Create(Processes::Posix(),
                                      VmStateOptions{.search_path = path_, .max_age_ms = 600000});
  ASSERT_TRUE(oracle.ok());
  auto poll = Poll(oracle->get());
  ASSERT_TRUE(poll->Fetch("vm1", Fetch(), {}).status.ok());
  // vm1 halts after the oracle looked: its table, still fresh, says Running, so a call is made;
  // `qvm-run --no-autostart` to a halted VM prints nothing.
  std::ofstream(sim_ + "/vms/vm1/halted").put('\n');
  std::size_t before = LogLines().size();
  FetchOutcome cut = poll->Fetch("vm1", Fetch(), {});
  ASSERT_FALSE(cut.status.ok());
  EXPECT_EQ(cut.status.error().code, "frame-cut-short") << "no marker: judged by the script only";
  EXPECT_EQ(LogLines().size(), before + 1);
  FetchOutcome next = poll->Fetch("vm1", Fetch(), {});
  EXPECT_EQ(next.status.error().code, "vm-not-running");
  EXPECT_EQ(LogLines().size(), before + 1) << "no second call to the halted VM";
  EXPECT_EQ((*oracle)->qvm_ls_calls(), 2u);
}

TEST_F(PollTransportTest, AHangingVmIsCutAtItsLimitWhileAnotherVmIsServed) {
  // vm4's `date` never returns: its fetch script hangs inside the VM.
  std::filesystem::create_directories(sim_ + "/vms/vm4/bin");
  {
    std::ofstream date(sim_ + "/vms/vm4/bin/date");
    date << "#!/bin/sh\nexec sleep 60\n";
  }
  ::chmod((sim_ + "/vms/vm4/bin/date").c_str(), 0755);
  const std::string body = "uptime\n";
  Submit("vm1", kCid, body);
  CallLimits limits;
  limits.fetch_ms = 4000;
  auto poll = Poll(nullptr, limits);
  std::size_t before = LogLines().size();

  std::atomic<int> order{0};
  int vm4_done = 0, vm1_done = 0;
  FetchOutcome hung, served;
  std::atomic<bool> vm4_started{false};
  std::thread t4([&] {
    vm4_started = true;
    hung = poll->Fetch("vm4", Fetch(), {});
    vm4_done = ++order;
  });
  while (!vm4_started) std::this_thread::yield();
  std::thread t1([&] {
    served = poll->Fetch("vm1", Fetch(), {});
    vm1_done = ++order;
  });
  t1.join();
  t4.join();

  ASSERT_TRUE(served.status.ok()) << served.status.error().message;
  ASSERT_EQ(served.records.size(), 1u);
  EXPECT_EQ(served.records[0].body, body);
  EXPECT_EQ(vm1_done, 1) << "vm1's request was answered before vm4's call was killed";
  EXPECT_EQ(vm4_done, 2);
  ASSERT_FALSE(hung.status.ok());
  EXPECT_EQ(hung.status.error().code, "call-timeout");
  EXPECT_EQ(LogLines().size(), before + 2) << "one qvm-run per fetch";
}

TEST(NewPollTransport, FailsClearlyWhenQvmRunIsNotOnThePath) {
  testing::TempDir temp;
  temp.MakeDir("empty");
  auto t = NewPollTransport(Processes::Posix(), PollOptions{temp.Sub("empty"), {}, nullptr});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, "no-qvm-run");
  EXPECT_NE(t.error().message.find("qvm-run"), std::string::npos);
}

}  // namespace
}  // namespace qvmr
