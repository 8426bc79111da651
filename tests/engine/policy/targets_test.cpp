// What `<vm>` names for a requesting VM: one row per verdict, the default protected list pattern
// by pattern, and the one-line description messages and `list` print.
#include "engine/policy/targets.h"

#include <gtest/gtest.h>

#include "engine/base/vm_name.h"

namespace qvmr {
namespace {

TEST(TargetsTest, EachVerdictForItsReason) {
  const std::vector<std::string> prot = DefaultProtectedVms();
  const std::vector<std::string> targets{"work", "sys-usb", "build-*", "agent"};
  struct Case {
    const char* vm;
    const std::vector<std::string>* targets;
    TargetVerdict want;
  } cases[] = {
      {"work", &targets, TargetVerdict::kTarget},          // a name
      {"sys-usb", &targets, TargetVerdict::kTarget},       // a protected name, written explicitly
      {"build-1", &targets, TargetVerdict::kTarget},       // a pattern, not protected
      {"build-dvm", &targets, TargetVerdict::kProtected},  // a pattern, but `*-dvm`
      {"personal", &targets, TargetVerdict::kNotListed},   // neither
      {"sys-net", &targets, TargetVerdict::kNotListed},    // `sys-usb` is a name, not a pattern
      {"agent", &targets, TargetVerdict::kRequester},      // listed, but the requester
      {"work", nullptr, TargetVerdict::kNoTargets},        // no targets: no VM
      {"agent", nullptr, TargetVerdict::kRequester},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ClassifyTarget(c.vm, "agent", c.targets, prot), c.want) << c.vm;
  }
  const std::vector<std::string> none;
  EXPECT_EQ(ClassifyTarget("work", "agent", &none, prot), TargetVerdict::kNotListed);
}

TEST(TargetsTest, StarCoversEveryVmButEachDefaultProtectedPattern) {
  const std::vector<std::string> every{"*"};
  const std::vector<std::string>& prot = DefaultProtectedVms();
  for (const char* vm :
       {"dom0", "sys-net", "sys-firewall", "disp-mgmt-work", "default-mgmt-dvm", "default-dvm",
        "fedora-40-dvm", "vault", "anon-whonix", "whonix-gateway-17", "whonix-workstation-17-dvm",
        "fedora-40", "fedora-40-minimal", "debian-12", "debian-12-xfce"}) {
    EXPECT_EQ(ClassifyTarget(vm, "agent", &every, prot), TargetVerdict::kProtected) << vm;
    const std::vector<std::string> named{"*", vm};
    EXPECT_EQ(ClassifyTarget(vm, "agent", &named, prot), TargetVerdict::kTarget) << vm;
  }
  for (const char* vm : {"work", "personal", "untrusted", "dvm-work", "vaulted", "my-sys-net",
                         "mydebian-12", "sys", "dom01", "anon-whonix2"}) {
    EXPECT_EQ(ClassifyTarget(vm, "agent", &every, prot), TargetVerdict::kTarget) << vm;
  }
}

TEST(TargetsTest, PatternsAreVmNamesWithStarOnly) {
  for (const char* ok : {"*", "sys-*", "*-dvm", "a*b*c", "work", "Z", "*.x_y-z"}) {
    EXPECT_TRUE(IsValidVmPattern(ok)) << ok;
  }
  for (const char* bad : {"", "sys-?", "[ab]*", "-x*", "1vm", ".*", "a b*", "a/b", "x+",
                          "abcdefghijklmnopqrstuvwxyz012345*"}) {
    EXPECT_FALSE(IsValidVmPattern(bad)) << bad;
  }
  EXPECT_TRUE(IsVmPatternEntry("build-*"));
  EXPECT_FALSE(IsVmPatternEntry("build"));
}

TEST(TargetsTest, DescriptionSaysNamesPatternsProtectedAndNeverTheRequester) {
  const std::vector<std::string> prot{"dom0", "sys-*"};
  const std::vector<std::string> targets{"work", "agent", "build-*"};
  EXPECT_EQ(DescribeTargets(&targets, prot, "agent"),
            "work, and any VM matching 'build-*' that is not protected (dom0, sys-*); never "
            "agent itself");
  EXPECT_EQ(DescribeTargets(nullptr, prot, "agent"), "no VM (no targets)");
  const std::vector<std::string> self{"agent"};
  EXPECT_EQ(DescribeTargets(&self, prot, "agent"), "no VM; never agent itself");
}

}  // namespace
}  // namespace qvmr
