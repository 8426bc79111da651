#include "daemon/remote_conf.h"

#include <gtest/gtest.h>

#include "support/fake_env.h"

namespace qvmr {
namespace {

TEST(RemoteConf, ReadsTheReferenceFormat) {
  auto conf = ParseRemoteConf(
      "# served VMs\nQVM_REMOTE_VMS=\"work dev\"\nexport QVM_REMOTE_EXEC_PATH='/opt/x:/usr/bin'\n",
      "remote.conf");
  ASSERT_TRUE(conf) << conf.error().ToString();
  EXPECT_EQ(conf->vms, (std::vector<std::string>{"work", "dev"}));
  EXPECT_EQ(conf->exec_path, (std::vector<std::string>{"/opt/x", "/usr/bin"}));
  EXPECT_EQ(conf->agent, "qvm-remote");
}

TEST(RemoteConf, DefaultsWhenEmpty) {
  auto conf = ParseRemoteConf("", "remote.conf");
  ASSERT_TRUE(conf);
  EXPECT_TRUE(conf->vms.empty());
  EXPECT_EQ(conf->exec_path, (std::vector<std::string>{"/usr/local/bin", "/usr/bin", "/bin"}));
}

TEST(RemoteConf, DropsRelativeExecPathEntries) {
  auto conf = ParseRemoteConf("QVM_REMOTE_EXEC_PATH=:bin:/usr/bin::./x:/bin\n", "remote.conf");
  ASSERT_TRUE(conf);
  EXPECT_EQ(conf->exec_path, (std::vector<std::string>{"/usr/bin", "/bin"}));
}

TEST(RemoteConf, RefusesWhatAShellWouldExpandNamingFileAndLine) {
  struct Case {
    const char* text;
    int line;
  } cases[] = {
      {"QVM_REMOTE_VMS=\"$(touch /x)\"\n", 1},
      {"\nQVM_REMOTE_VMS=`id`\n", 2},
      {"QVM_REMOTE_VMS=\"a ../b\"\n", 1},
      {"QVM_REMOTE_UNKNOWN=1\n", 1},
      {"just words\n", 1},
      {"QVM_REMOTE_EXEC_PATH=bin:sbin\n", 1},
  };
  for (const auto& c : cases) {
    auto conf = ParseRemoteConf(c.text, "/etc/qubes/remote.conf");
    ASSERT_FALSE(conf) << c.text;
    EXPECT_EQ(conf.error().pos.file, "/etc/qubes/remote.conf");
    EXPECT_EQ(conf.error().pos.line, c.line) << c.text;
  }
}

TEST(RemoteConf, MissingFileIsNoVms) {
  testing::FakeEnv env;
  auto conf = LoadRemoteConf(env, "/etc/qubes/remote.conf");
  ASSERT_TRUE(conf) << conf.error().ToString();
  EXPECT_TRUE(conf->vms.empty());
}

}  // namespace
}  // namespace qvmr
