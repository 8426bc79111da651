// A running daemon (not --once) reloads its policy when a file changes: the real qvm-remote-dom0
// of this build serving the local world, stopped with SIGTERM. Requests are submitted until the
// answers show the change (the reload is debounced and asynchronous; the test asserts what is
// answered, never how soon).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "support/daemon_local_world.h"

namespace qvmr {
namespace {

using ::testing::HasSubstr;
using testing::kKeyWork;
using testing::LocalWorld;

// Submits `text` and waits for its answer; returns the cid ("" if none came in time).
std::string Ask(LocalWorld& w, const std::string& text) {
  std::string cid = w.NewCid();
  w.Submit("work", cid, text, kKeyWork);
  for (int i = 0; i < 300; ++i) {
    if (w.Result("work", cid, "exit") != "<missing>") return cid;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return "";
}

// Asks until `done(cid)` holds for an answer (at most `tries` requests).
template <typename Done>
std::string AskUntil(LocalWorld& w, const std::string& text, Done done, int tries = 20) {
  for (int i = 0; i < tries; ++i) {
    std::string cid = Ask(w, text);
    if (cid.empty()) return "";
    if (done(cid)) return cid;
  }
  return "";
}

TEST(DaemonLiveWatch, ARunningDaemonGoesDenyAllOnABrokenEditAndServesAgainOnceFixed) {
  LocalWorld w;
  std::string good = testing::ReadWholeFile(w.PolicyFile());
  int pid = w.StartBinary(w.BinaryArgs({"--vm", "work"}));
  ASSERT_GT(pid, 0);

  std::string first = Ask(w, "echo one");
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(w.Result("work", first, "out"), "one\n");

  // An editor's save: a temporary file renamed over the policy.
  w.tmp().WriteFile("root/etc/qubes/remote-policy.d/.50-test.yaml.swp", "vms: [unclosed\n", 0644);
  std::rename(w.tmp().Sub("root/etc/qubes/remote-policy.d/.50-test.yaml.swp").c_str(),
              w.PolicyFile().c_str());
  std::string denied = AskUntil(w, "echo two", [&](const std::string& cid) {
    return w.MetaValue("work", cid, "reason_code") == "policy-error";
  });
  ASSERT_FALSE(denied.empty()) << "the broken edit was never seen";
  EXPECT_EQ(w.Result("work", denied, "exit"), "126");
  EXPECT_THAT(w.Result("work", denied, "err"), HasSubstr("50-test.yaml:"));

  w.tmp().WriteFile("root/etc/qubes/remote-policy.d/50-test.yaml", good, 0644);
  std::string served = AskUntil(w, "echo three", [&](const std::string& cid) {
    return w.MetaValue("work", cid, "outcome") == "ok";
  });
  ASSERT_FALSE(served.empty()) << "the fixed policy was never loaded";
  EXPECT_EQ(w.Result("work", served, "out"), "three\n");

  EXPECT_EQ(LocalWorld::StopBinary(pid), 0);
  // Deny-all was logged once for the one broken state, however many requests it denied.
  std::string log = w.TextLogText();
  std::size_t count = 0;
  for (std::size_t at = log.find("policy does not load"); at != std::string::npos;
       at = log.find("policy does not load", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 1u);
}

TEST(DaemonLiveWatch, SighupRereadsRemoteConfAndSwapsInItsExecPath) {
  LocalWorld w;
  int pid = w.StartBinary(w.BinaryArgs({"--vm", "work"}));
  ASSERT_GT(pid, 0);
  std::string first = Ask(w, "tick");
  ASSERT_FALSE(first.empty());
  ASSERT_EQ(w.Result("work", first, "out"), "ticked\n");

  // A second exec path whose `tick` says something else; only SIGHUP reads remote.conf again.
  w.tmp().MakeDir("bin2");
  w.tmp().WriteFile("bin2/tick", "#!/bin/sh\necho tocked\n", 0755);
  w.tmp().WriteFile(
      "root/etc/qubes/remote.conf",
      "QVM_REMOTE_VMS=\"work other\"\nQVM_REMOTE_EXEC_PATH=" + w.tmp().Sub("bin2") + "\n", 0644);
  ASSERT_EQ(::kill(pid, SIGHUP), 0);
  std::string after = AskUntil(w, "tick", [&](const std::string& cid) {
    return w.Result("work", cid, "out") == "tocked\n";
  });
  EXPECT_FALSE(after.empty()) << "the new exec path was never used";
  EXPECT_THAT(w.TextLogText(), HasSubstr("SIGHUP: policy, remote.conf and the exec path re-read"));
  EXPECT_EQ(LocalWorld::StopBinary(pid), 0);
}

TEST(DaemonLiveWatch, DenyAllWhileARequestWaitsForAWorkerAppliesToIt) {
  LocalWorld w;
  w.tmp().WriteFile("root/etc/qubes/remote-policy.d/50-test.yaml", R"(version: 1
commands:
  echo:
    operands_only: true
  break-policy: {}
classes:
  read-only:
    - 'echo [<text>]...'
    - 'break-policy'
vms:
  work: {level: read-only}
)",
                    0644);
  // The first request breaks the policy and holds the only worker until the reload is done.
  w.tmp().WriteFile("bin/break-policy",
                    "#!/bin/sh\necho 'vms: [oops' > " + w.PolicyFile() + "\n/bin/sleep 2\n", 0755);
  std::string first = w.NewCid(), second = w.NewCid();
  w.Submit("work", first, "break-policy", kKeyWork);
  w.Submit("work", second, "echo waited", kKeyWork);
  int pid = w.StartBinary(w.BinaryArgs({"--vm", "work", "--workers", "1"}));
  ASSERT_GT(pid, 0);
  for (int i = 0; i < 300 && w.Result("work", second, "exit") == "<missing>"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(LocalWorld::StopBinary(pid), 0);
  EXPECT_EQ(w.MetaValue("work", first, "outcome"), "ok");
  // Accepted under the good policy, decided after the reload: deny-all.
  EXPECT_EQ(w.MetaValue("work", second, "reason_code"), "policy-error");
  EXPECT_EQ(w.Result("work", second, "out"), "");
}

}  // namespace
}  // namespace qvmr
