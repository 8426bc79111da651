// The policy revision (engine/policy/policy_loader.h PolicyRevision): a byte, a name or the order
// of the loaded files changes it; loading the same files gives the same one.
#include <gtest/gtest.h>

#include <string>

#include "engine/policy/policy_loader.h"
#include "engine/wire/token.h"
#include "support/fake_env.h"

namespace qvmr {
namespace {

using testing::FakeEnv;

const char kShare[] = "/usr/share/qvm-remote/policies";
constexpr char kCommands[] = "version: 1\ncommands:\n  qvm-ls:\n    options: ['--running']\n";
constexpr char kDefaults[] = "version: 1\ndefaults:\n  timeout: 60s\n";

std::string LoadRevision(FakeEnv& env) {
  LoadOptions o;
  o.dirs = DefaultPolicyDirs();
  auto p = LoadPolicy(env, o);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().ToString());
  return p.ok() ? p->revision : "";
}

TEST(PolicyRevision, IsSha256OverPathNulSizeNulBytesPerFile) {
  const std::string expected = Sha256Hex(std::string("/a.yaml\0"
                                                     "3\0"
                                                     "abc",
                                                     13) +
                                         std::string("/b.yaml\0"
                                                     "0\0",
                                                     10));
  EXPECT_EQ(PolicyRevision({{"/a.yaml", "abc"}, {"/b.yaml", ""}}), expected);
  EXPECT_EQ(PolicyRevision({}), Sha256Hex(""));
}

TEST(PolicyRevision, LoaderStoresTheRevisionOfItsFilesInLoadOrder) {
  FakeEnv env;
  env.AddFile(std::string(kShare) + "/00-commands.yaml", kCommands);
  env.AddFile(std::string(kShare) + "/10-defaults.yaml", kDefaults);
  EXPECT_EQ(LoadRevision(env),
            PolicyRevision({{std::string(kShare) + "/00-commands.yaml", kCommands},
                            {std::string(kShare) + "/10-defaults.yaml", kDefaults}}));
}

TEST(PolicyRevision, ChangingOneByteChangesIt) {
  FakeEnv env;
  env.AddFile(std::string(kShare) + "/00-commands.yaml", kCommands);
  env.AddFile(std::string(kShare) + "/10-defaults.yaml", kDefaults);
  const std::string before = LoadRevision(env);
  EXPECT_EQ(LoadRevision(env), before);  // same files, same revision
  env.AddFile(std::string(kShare) + "/10-defaults.yaml", "version: 1\ndefaults:\n  timeout: 61s\n");
  EXPECT_NE(LoadRevision(env), before);
}

TEST(PolicyRevision, ChangingTheOrderOrTheSplitChangesIt) {
  EXPECT_NE(PolicyRevision({{"/a", "x"}, {"/b", "y"}}), PolicyRevision({{"/b", "y"}, {"/a", "x"}}));
  EXPECT_NE(PolicyRevision({{"/a", "xy"}, {"/b", ""}}), PolicyRevision({{"/a", "x"}, {"/b", "y"}}));
  EXPECT_NE(PolicyRevision({{"/a", "x"}}), PolicyRevision({{"/b", "x"}}));
}

}  // namespace
}  // namespace qvmr
