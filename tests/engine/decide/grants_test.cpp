// Dev-mode grants: creation caps, storage, expiry at millisecond precision, bad files ignored.
#include "engine/decide/grants.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/base/units.h"
#include "engine/policy/policy_loader.h"
#include "support/fake_env.h"

namespace qvmr {
namespace {

using testing::FakeEnv;

class GrantsTest : public ::testing::Test {
 protected:
  GrantsTest() {
    env.AddFile("/p/a.yaml",
                "version: 1\nvms:\n"
                "  dev: {level: read-only, max_dev_mode: manage, max_dev_duration: 1h}\n"
                "  agent: {level: read-only}\n"
                "  ops: {level: monitor, max_dev_mode: full}\n");
    LoadOptions o;
    o.dirs = {"/p"};
    auto p = LoadPolicy(env, o);
    EXPECT_TRUE(p.ok()) << p.error().ToString();
    policy = std::move(*p);
  }
  FakeEnv env;
  Policy policy;
  const TimeMs now = *ParseTimeMs("2026-11-23T10:00:00Z");
};

TEST_F(GrantsTest, DefaultLevelIsTheCap) {
  auto g = MakeGrant(policy, "dev", 1800, std::nullopt, now, "admin");
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->level, Level::kManage);
  EXPECT_EQ(g->expires_ms - g->created_ms, 1800 * 1000);
}

TEST_F(GrantsTest, RefusesAboveCapTooLongOrWithoutCap) {
  EXPECT_EQ(MakeGrant(policy, "dev", 60, Level::kFull, now, "a").error().code, "grant-refused");
  EXPECT_EQ(MakeGrant(policy, "dev", 3601, std::nullopt, now, "a").error().code, "grant-refused");
  EXPECT_TRUE(MakeGrant(policy, "dev", 3600, Level::kMonitor, now, "a").ok());
  EXPECT_EQ(MakeGrant(policy, "agent", 60, std::nullopt, now, "a").error().code, "grant-refused");
  EXPECT_EQ(MakeGrant(policy, "nobody", 60, std::nullopt, now, "a").error().code, "grant-refused");
  // ops has no max_dev_duration: the default 2h applies.
  EXPECT_EQ(MakeGrant(policy, "ops", 7201, std::nullopt, now, "a").error().code, "grant-refused");
  EXPECT_TRUE(MakeGrant(policy, "ops", 7200, std::nullopt, now, "a").ok());
}

TEST_F(GrantsTest, ExpiresExactlyAtTheDeadline) {
  Grant g = *MakeGrant(policy, "dev", 1800, std::nullopt, now, "admin");
  EXPECT_EQ(GrantedLevel(policy, g, g.expires_ms - 1), Level::kManage);
  EXPECT_EQ(GrantedLevel(policy, g, g.expires_ms), std::nullopt);
  EXPECT_EQ(GrantedLevel(policy, g, g.expires_ms + 1), std::nullopt);
}

TEST_F(GrantsTest, CapIsAppliedAtDecisionTime) {
  // A hand-written grant above the cap counts only up to the cap.
  Grant g{"dev", Level::kFull, now + 60000, now, "root", ""};
  EXPECT_EQ(GrantedLevel(policy, g, now), Level::kManage);
  // One longer than max_dev_duration counts for nothing.
  Grant longer{"dev", Level::kManage, now + 3601 * 1000, now, "root", ""};
  EXPECT_EQ(GrantedLevel(policy, longer, now), std::nullopt);
  // A clock set back (or a forged `created`) does not stretch a grant past the cap.
  Grant g2 = *MakeGrant(policy, "dev", 1800, std::nullopt, now, "admin");
  EXPECT_EQ(GrantedLevel(policy, g2, now - 1800 * 1000), Level::kManage);
  EXPECT_EQ(GrantedLevel(policy, g2, now - 1801 * 1000 - 1), std::nullopt);
  // A VM without max_dev_mode gets nothing from a grant file.
  Grant none{"agent", Level::kManage, now + 60000, now, "root", ""};
  EXPECT_EQ(GrantedLevel(policy, none, now), std::nullopt);
}

TEST_F(GrantsTest, RoundTripThroughFiles) {
  Grant g = *MakeGrant(policy, "dev", 1800, std::nullopt, now, "admin");
  ASSERT_TRUE(WriteGrant(env, "/run/qvm-remote/grants", g).ok());
  EXPECT_EQ(env.Find("/run/qvm-remote/grants")->mode, 0700u);
  EXPECT_EQ(env.Find("/run/qvm-remote/grants/dev.yaml")->mode, 0600u);
  GrantSet set = LoadGrants(env, "/run/qvm-remote/grants");
  ASSERT_EQ(set.by_vm.count("dev"), 1u);
  EXPECT_EQ(set.by_vm["dev"].expires_ms, g.expires_ms);
  EXPECT_EQ(set.by_vm["dev"].level, Level::kManage);
  EXPECT_EQ(set.by_vm["dev"].by, "admin");
  EXPECT_THAT(env.Find("/run/qvm-remote/grants/dev.yaml")->data,
              ::testing::HasSubstr("expires: 2026-11-23T10:30:00.000Z"));
  ASSERT_TRUE(RevokeGrant(env, "/run/qvm-remote/grants", "dev").ok());
  EXPECT_TRUE(LoadGrants(env, "/run/qvm-remote/grants").by_vm.empty());
}

TEST_F(GrantsTest, BadFilesAreIgnoredAndReported) {
  const std::string dir = "/run/qvm-remote/grants";
  env.AddFile(dir + "/a.yaml",
              "vm: b\nlevel: manage\nexpires: 2026-11-23T10:30:00.000Z\n"
              "created: 2026-11-23T10:00:00.000Z\nby: x\n");
  env.AddFile(dir + "/c.yaml",
              "vm: c\nlevel: root\nexpires: 2026-11-23T10:30:00.000Z\n"
              "created: 2026-11-23T10:00:00.000Z\nby: x\n");
  env.AddFile(dir + "/d.yaml", "vm: d\nlevel: manage\n");
  env.AddFile(dir + "/e.yaml",
              "vm: e\nlevel: manage\nexpires: 2026-11-23T10:30:00.000Z\n"
              "created: 2026-11-23T10:00:00.000Z\nby: x\nextra: 1\n");
  env.AddFile(dir + "/f.yaml", "[unclosed");
  GrantSet set = LoadGrants(env, dir);
  EXPECT_TRUE(set.by_vm.empty());
  EXPECT_EQ(set.ignored.size(), 5u);
}

TEST_F(GrantsTest, UntrustedGrantFilesAreIgnored) {
  const std::string dir = "/run/qvm-remote/grants";
  Grant g = *MakeGrant(policy, "dev", 1800, std::nullopt, now, "admin");
  ASSERT_TRUE(WriteGrant(env, dir, g).ok());
  env.Find(dir + "/dev.yaml")->mode = 0666;
  GrantSet set = LoadGrants(env, dir);
  EXPECT_TRUE(set.by_vm.empty());
  ASSERT_EQ(set.ignored.size(), 1u);
  EXPECT_THAT(set.ignored[0].message, ::testing::HasSubstr("0666"));
  env.Find(dir + "/dev.yaml")->mode = 0600;
  env.Find(dir + "/dev.yaml")->uid = 1000;
  EXPECT_TRUE(LoadGrants(env, dir).by_vm.empty());
  env.Find(dir + "/dev.yaml")->uid = 0;
  EXPECT_EQ(LoadGrants(env, dir).by_vm.size(), 1u);
}

TEST_F(GrantsTest, MissingDirectoryIsEmpty) {
  GrantSet set = LoadGrants(env, "/run/nothing");
  EXPECT_TRUE(set.by_vm.empty());
  EXPECT_TRUE(set.ignored.empty());
}

TEST(UnitsTest, TimesRoundTrip) {
  auto t = ParseTimeMs("2026-11-23T10:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatTimeMs(*t), "2026-11-23T10:00:00.000Z");
  EXPECT_EQ(*ParseTimeMs("2026-11-23T10:00:00.5Z"), *t + 500);
  EXPECT_EQ(*ParseTimeMs("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseTimeMs("2024-02-29T00:00:00Z") + 86400000, *ParseTimeMs("2024-03-01T00:00:00Z"));
  for (const char* bad : {"2026-11-23 10:00:00Z", "2026-11-23T10:00:00", "2026-02-30T00:00:00Z",
                          "2026-13-01T00:00:00Z", "2026-11-23T10:00:00+01:00", "x"}) {
    EXPECT_FALSE(ParseTimeMs(bad)) << bad;
  }
}

TEST(UnitsTest, DurationsAndSizes) {
  EXPECT_EQ(ParseDurationSeconds("30m", 86400), 1800);
  EXPECT_EQ(ParseDurationSeconds("2h", 86400), 7200);
  EXPECT_EQ(ParseDurationSeconds("90s", 86400), 90);
  EXPECT_EQ(ParseDurationSeconds("90", 86400), 90);
  EXPECT_FALSE(ParseDurationSeconds("0s", 86400));
  EXPECT_FALSE(ParseDurationSeconds("25h", 86400));
  EXPECT_FALSE(ParseDurationSeconds("-5m", 86400));
  EXPECT_FALSE(ParseDurationSeconds("5 m", 86400));
  EXPECT_FALSE(ParseDurationSeconds("999999999999999999h", 86400));
  EXPECT_EQ(FormatDuration(7200), "2h");
  EXPECT_EQ(FormatDuration(90), "90s");
  EXPECT_EQ(ParseSizeBytes("10MiB", 1ull << 30), 10u << 20);
  EXPECT_EQ(ParseSizeBytes("512", 1ull << 30), 512u);
  EXPECT_FALSE(ParseSizeBytes("2GiB", 1ull << 30));
  EXPECT_FALSE(ParseSizeBytes("10MB", 1ull << 30));
}

}  // namespace
}  // namespace qvmr
