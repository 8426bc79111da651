// The systemd side: the unit's settings, sd_notify datagrams to path and abstract sockets, the
// daemon's readiness and STATUS= lines, `enable`/`disable` against a fake systemctl on PATH, and
// the warnings about the reference's daemon.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "daemon/sd_notify.h"
#include "daemon/service_commands.h"
#include "support/daemon_local_world.h"
#include "support/daemon_temp_dir.h"

namespace qvmr {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::LocalWorld;
using testing::ReadWholeFile;
using testing::TempDir;

// A datagram socket to receive notifications on: a path, or an abstract name ("@...").
class NotifyListener {
 public:
  explicit NotifyListener(const std::string& name) : name_(name) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    socklen_t len = offsetof(sockaddr_un, sun_path) + name.size() + 1;
    if (name[0] == '@') {
      addr.sun_path[0] = '\0';
      len -= 1;
    }
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0;
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~NotifyListener() { close(fd_); }
  bool bound() const { return bound_; }
  // The next datagram, or "<none>" after 5 s.
  std::string Receive() {
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? "<none>" : std::string(buf, static_cast<std::size_t>(n));
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool bound_ = false;
};

std::string AbstractName() {
  return "@qvmr-notify-test-" + std::to_string(getpid());
}

TEST(Unit, IsANotifyServiceWithDelegationAndAMixedKillInstalledNotEnabled) {
  const std::string unit = ReadWholeFile(QVMR_SOURCE_DIR "/daemon/qvm-remote-dom0.service");
  for (const char* line : {"Type=notify", "NotifyAccess=main", "Delegate=yes", "KillMode=mixed",
                           "TimeoutStopSec=10", "ExecStart=/usr/bin/qvm-remote-dom0"}) {
    EXPECT_THAT(unit, HasSubstr(std::string("\n") + line + "\n")) << line;
  }
  const std::string cmake = ReadWholeFile(QVMR_SOURCE_DIR "/daemon/CMakeLists.txt");
  EXPECT_THAT(cmake, HasSubstr("install(FILES qvm-remote-dom0.service DESTINATION "
                               "lib/systemd/system)"));
}

TEST(SdNotify, SendsOneDatagramToAPathSocket) {
  TempDir tmp;
  NotifyListener listener(tmp.Sub("notify"));
  ASSERT_TRUE(listener.bound());
  ASSERT_TRUE(NotifyTo(tmp.Sub("notify"), "READY=1\nSTATUS=x").ok());
  EXPECT_EQ(listener.Receive(), "READY=1\nSTATUS=x");
}

TEST(SdNotify, SendsToAnAbstractNameWrittenWithALeadingAt) {
  NotifyListener listener(AbstractName());
  ASSERT_TRUE(listener.bound());
  ASSERT_TRUE(NotifyTo(AbstractName(), "READY=1").ok());
  EXPECT_EQ(listener.Receive(), "READY=1");
}

TEST(SdNotify, RefusesARelativeOrOverlongNameAndIsSilentWithoutNotifySocket) {
  EXPECT_FALSE(NotifyTo("relative/socket", "READY=1").ok());
  EXPECT_FALSE(NotifyTo("/" + std::string(200, 'a'), "READY=1").ok());
  unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(Notify("READY=1").ok());
}

TEST(SdNotify, StatusLineIsOneLineWithPolicyVmsAndUndelivered) {
  EXPECT_EQ(StatusLine("deny-all (policy does not load: a.yaml:3)\n", 1, 2, 5),
            "deny-all (policy does not load: a.yaml:3) ; 1/2 VMs reachable; 5 results "
            "undelivered");
}

TEST(DaemonReadiness, SendsReadyWithTheStatusAfterRecoveryAndThePolicyLoad) {
  LocalWorld w;
  NotifyListener listener(AbstractName());
  ASSERT_TRUE(listener.bound());
  setenv("NOTIFY_SOCKET", AbstractName().c_str(), 1);
  const int status = w.RunOnce();
  unsetenv("NOTIFY_SOCKET");
  ASSERT_EQ(status, 0);
  const std::string message = listener.Receive();
  EXPECT_EQ(message.rfind("READY=1\nSTATUS=policy ", 0), 0u) << message;
  EXPECT_THAT(message, HasSubstr("2/2 VMs reachable; 0 results undelivered"));
}

TEST(DaemonReadiness, InDenyAllIsReadyTooAndNamesWhereThePolicyFailed) {
  LocalWorld w;
  w.tmp().WriteFile("root/etc/qubes/remote-policy.d/50-test.yaml", "version: 1\nvms: [\n", 0644);
  TempDir tmp;
  NotifyListener listener(tmp.Sub("notify"));
  setenv("NOTIFY_SOCKET", tmp.Sub("notify").c_str(), 1);
  w.RunOnce();
  unsetenv("NOTIFY_SOCKET");
  const std::string message = listener.Receive();
  EXPECT_EQ(message.rfind("READY=1\nSTATUS=deny-all", 0), 0u) << message;
  EXPECT_THAT(message, HasSubstr("50-test.yaml:"));
}

// A fake `systemctl` first on PATH: it logs its arguments and exits with the status in a file.
class FakeSystemctl {
 public:
  FakeSystemctl() : old_path_(std::getenv("PATH") ? std::getenv("PATH") : "") {
    tmp_.MakeDir("bin");
    tmp_.WriteFile("status", "0", 0644);
    tmp_.WriteFile("bin/systemctl",
                   "#!/bin/sh\necho \"$*\" >> " + tmp_.Sub("log") + "\nexit $(cat " +
                       tmp_.Sub("status") + ")\n",
                   0755);
    setenv("PATH", (tmp_.Sub("bin") + ":" + old_path_).c_str(), 1);
  }
  ~FakeSystemctl() { setenv("PATH", old_path_.c_str(), 1); }
  void FailWith(int status) { tmp_.WriteFile("status", std::to_string(status), 0644); }
  std::string Log() const {
    std::string log = ReadWholeFile(tmp_.Sub("log"));
    return log == "<missing>" ? "" : log;
  }

 private:
  TempDir tmp_;
  std::string old_path_;
};

TEST(EnableCommand, ShowsTheRiskAndEnablesAndStartsOnlyWhenYesIsTyped) {
  FakeSystemctl systemctl;
  TempDir root;
  std::istringstream typed("yes\n");
  std::ostringstream out, err;
  EXPECT_EQ(EnableCommand(root.path(), false, typed, out, err), 0);
  EXPECT_THAT(out.str(), HasSubstr("Type 'yes'"));
  EXPECT_THAT(out.str(), HasSubstr("as root"));
  EXPECT_EQ(systemctl.Log(), "enable qvm-remote-dom0.service\nstart qvm-remote-dom0.service\n");
}

TEST(EnableCommand, AnythingButYesEnablesNothingAndExits1) {
  FakeSystemctl systemctl;
  TempDir root;
  for (const char* answer : {"y\n", "YES\n", "", "no\n"}) {
    std::istringstream typed(answer);
    std::ostringstream out, err;
    EXPECT_EQ(EnableCommand(root.path(), false, typed, out, err), 1) << answer;
  }
  EXPECT_EQ(systemctl.Log(), "");
}

TEST(EnableCommand, YesFlagSkipsTheQuestionAndAFailingSystemctlExits1) {
  FakeSystemctl systemctl;
  TempDir root;
  std::istringstream nothing;
  std::ostringstream out, err;
  systemctl.FailWith(3);
  EXPECT_EQ(EnableCommand(root.path(), true, nothing, out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("systemctl enable qvm-remote-dom0.service failed"));
  EXPECT_EQ(systemctl.Log(), "enable qvm-remote-dom0.service\n");  // no start after a failure
}

TEST(DisableCommand, DisablesThenStopsAndExits1WhenSystemctlFails) {
  FakeSystemctl systemctl;
  std::ostringstream out, err;
  EXPECT_EQ(DisableCommand(out, err), 0);
  EXPECT_EQ(systemctl.Log(), "disable qvm-remote-dom0.service\nstop qvm-remote-dom0.service\n");
  systemctl.FailWith(1);
  EXPECT_EQ(DisableCommand(out, err), 1);
}

TEST(DisableCommand, ExitsOneWhenNoSystemctlIsFound) {
  const std::string old = std::getenv("PATH");
  TempDir empty;
  setenv("PATH", empty.path().c_str(), 1);
  std::ostringstream out, err;
  EXPECT_EQ(DisableCommand(out, err), 1);
  setenv("PATH", old.c_str(), 1);
  EXPECT_THAT(err.str(), HasSubstr("cannot run systemctl"));
}

TEST(EnableCommand, TheBinaryTakesYesAndWarnsAboutTheReferencesDaemon) {
  FakeSystemctl systemctl;
  TempDir root;
  root.MakeDir("usr/bin");
  root.WriteFile("usr/bin/qvm-remote-dom0", "#!/usr/bin/python3\nimport os\n", 0755);
  const std::string cmd = std::string(QVMR_BIN_DIR) + "/qvm-remote-dom0 enable --yes --root " +
                          root.path() + " >" + root.Sub("out") + " 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_THAT(ReadWholeFile(root.Sub("out")), HasSubstr("reference's Python daemon"));
  EXPECT_EQ(systemctl.Log(), "enable qvm-remote-dom0.service\nstart qvm-remote-dom0.service\n");
}

TEST(ReferenceDaemonTraces, TheDaemonWarnsAtStartUpWhileTheReferencesUnitIsInstalled) {
  LocalWorld w;
  w.tmp().MakeDir("root/usr/lib/systemd/system");
  w.tmp().WriteFile("root/usr/lib/systemd/system/qvm-remote.service", "[Service]\n", 0644);
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_THAT(ReadWholeFile(w.root() + "/var/log/qubes/qvm-remote.log"),
              HasSubstr("qvm-remote.service is the reference's unit"));
}

TEST(ReferenceDaemonTraces, FindsThePythonDaemonAndTheReferencesUnitsButNotOurs) {
  TempDir root;
  EXPECT_THAT(ReferenceDaemonTraces(root.path()), IsEmpty());
  root.MakeDir("usr/bin");
  root.MakeDir("etc/systemd/system");
  root.MakeDir("usr/lib/systemd/system");
  root.WriteFile("usr/bin/qvm-remote-dom0",
                 "\x7f"
                 "ELF...",
                 0755);  // ours: a binary
  root.WriteFile("etc/systemd/system/qvm-remote-dom0.service",
                 ReadWholeFile(QVMR_SOURCE_DIR "/daemon/qvm-remote-dom0.service"), 0644);
  EXPECT_THAT(ReferenceDaemonTraces(root.path()), IsEmpty());
  root.WriteFile("usr/bin/qvm-remote-dom0", "#!/usr/bin/env python3\n", 0755);
  root.WriteFile("etc/systemd/system/qvm-remote-dom0.service",
                 "[Service]\nType=simple\nExecStart=/usr/bin/qvm-remote-dom0\n", 0644);
  root.WriteFile("usr/lib/systemd/system/qvm-remote.service", "[Service]\n", 0644);
  EXPECT_EQ(ReferenceDaemonTraces(root.path()).size(), 3u);
}

}  // namespace
}  // namespace qvmr
