// PolicyWatch (inotify, debounced) and PolicyReloader (whole loads, deny-all, logged once).
// Watch tests wait for the callback with a generous bound and assert that it came, never how fast.
#include "daemon/policy_watch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "daemon/policy_reload.h"
#include "support/daemon_temp_dir.h"

namespace qvmr {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

// Waits until `count` exceeds `seen` (at most 10 s); returns the new value.
int WaitBeyond(const std::atomic<int>& count, int seen) {
  for (int i = 0; i < 1000 && count.load() <= seen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return count.load();
}

struct WatchCase {
  const char* name;
  void (*change)(const TempDir& tmp);
};

class PolicyWatchEvents : public ::testing::TestWithParam<WatchCase> {};

TEST_P(PolicyWatchEvents, EachKindOfChangeToAPolicyDirectoryTriggersAReload) {
  TempDir tmp;
  tmp.MakeDir("policy");
  tmp.WriteFile("policy/50-a.yaml", "version: 1\n", 0644);
  std::atomic<int> calls{0};
  auto watch = PolicyWatch::Start({tmp.Sub("policy")}, 20, [&] { ++calls; });
  ASSERT_TRUE(watch) << watch.error().ToString();
  GetParam().change(tmp);
  EXPECT_GT(WaitBeyond(calls, 0), 0) << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(
    Changes, PolicyWatchEvents,
    ::testing::Values(
        WatchCase{"write", [](const TempDir& t) { t.WriteFile("policy/50-a.yaml", "x\n", 0644); }},
        WatchCase{"create", [](const TempDir& t) { t.WriteFile("policy/60-b.yaml", "", 0644); }},
        WatchCase{"delete",
                  [](const TempDir& t) { std::filesystem::remove(t.Sub("policy/50-a.yaml")); }},
        WatchCase{"rename-in",
                  [](const TempDir& t) {
                    t.WriteFile("elsewhere.yaml", "", 0644);
                    std::rename(t.Sub("elsewhere.yaml").c_str(), t.Sub("policy/70.yaml").c_str());
                  }},
        WatchCase{"rename-out",
                  [](const TempDir& t) {
                    std::rename(t.Sub("policy/50-a.yaml").c_str(), t.Sub("gone.yaml").c_str());
                  }},
        WatchCase{"chmod",
                  [](const TempDir& t) {
                    std::filesystem::permissions(t.Sub("policy/50-a.yaml"),
                                                 std::filesystem::perms::owner_read);
                  }},
        WatchCase{"directory-removed",
                  [](const TempDir& t) { std::filesystem::remove_all(t.Sub("policy")); }}),
    [](const auto& info) {
      std::string name = info.param.name;
      for (char& c : name) c = c == '-' ? '_' : c;
      return name;
    });

TEST(PolicyWatch, ABurstOfChangesIsOneReloadAfterTheDebounce) {
  TempDir tmp;
  tmp.MakeDir("policy");
  std::atomic<int> calls{0};
  auto watch = PolicyWatch::Start({tmp.Sub("policy")}, 300, [&] { ++calls; });
  ASSERT_TRUE(watch);
  for (int i = 0; i < 20; ++i) tmp.WriteFile("policy/50-a.yaml", std::to_string(i), 0644);
  ASSERT_GT(WaitBeyond(calls, 0), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(calls.load(), 1);
}

TEST(PolicyWatch, ADirectoryCreatedAfterTheStartIsWatchedThroughItsParent) {
  TempDir tmp;
  std::atomic<int> calls{0};
  auto watch = PolicyWatch::Start({tmp.Sub("later")}, 20, [&] { ++calls; });
  ASSERT_TRUE(watch);
  tmp.MakeDir("later");
  int seen = WaitBeyond(calls, 0);
  ASSERT_GT(seen, 0);
  tmp.WriteFile("later/50-a.yaml", "", 0644);  // now watched itself
  EXPECT_GT(WaitBeyond(calls, seen), seen);
}

TEST(PolicyWatch, StopsCleanlyWithNoEvents) {
  TempDir tmp;
  auto watch = PolicyWatch::Start({tmp.path()}, 20, [] {});
  ASSERT_TRUE(watch);
  watch->reset();
}

constexpr char kGood[] = "version: 1\nvms:\n  work: {level: read-only}\n";

TEST(PolicyReloader, ABadLoadIsDenyAllWithTheFileAndLineAndAGoodOneSwapsBack) {
  TempDir tmp;
  tmp.MakeDir("policy");
  tmp.WriteFile("policy/50-a.yaml", kGood, 0644);
  auto log = TextLog::Open(tmp.Sub("log"), false);
  ASSERT_TRUE(log);
  PolicyState state;
  LoadOptions options;
  options.dirs = {tmp.Sub("policy")};
  PolicyReloader reloader(Env::Posix(), options, &state, log->get(), 10);
  ASSERT_TRUE(reloader.Reload("start"));
  std::string revision = state.Get().policy->revision;

  tmp.WriteFile("policy/50-a.yaml", "version: 1\nvms: [oops\n", 0644);
  EXPECT_FALSE(reloader.Reload("inotify"));
  EXPECT_FALSE(reloader.Reload("inotify"));
  PolicySnapshot snap = state.Get();
  EXPECT_EQ(snap.policy, nullptr);
  ASSERT_TRUE(snap.load_error);
  EXPECT_THAT(snap.load_error->ToString(), HasSubstr("50-a.yaml:"));

  tmp.WriteFile("policy/50-a.yaml", kGood, 0644);
  EXPECT_TRUE(reloader.Reload("SIGHUP"));
  EXPECT_EQ(state.Get().policy->revision, revision);

  log->reset();
  std::string text = testing::ReadWholeFile(tmp.Sub("log"));
  // Each change of state logged once: loaded, deny-all (twice reloaded, once logged), loaded.
  std::size_t denied = 0, loaded = 0;
  for (std::size_t at = 0; (at = text.find("does not load", at)) != std::string::npos; ++at) {
    ++denied;
  }
  for (std::size_t at = 0; (at = text.find("policy loaded", at)) != std::string::npos; ++at) {
    ++loaded;
  }
  EXPECT_EQ(denied, 1u);
  EXPECT_EQ(loaded, 2u);
}

TEST(PolicyReloader, ASnapshotTakenBeforeAReloadKeepsItsPolicy) {
  TempDir tmp;
  tmp.MakeDir("policy");
  tmp.WriteFile("policy/50-a.yaml", kGood, 0644);
  auto log = TextLog::Open("", false);
  ASSERT_TRUE(log);
  PolicyState state;
  PolicyReloader reloader(Env::Posix(), LoadOptions{.dirs = {tmp.Sub("policy")}}, &state,
                          log->get(), 10);
  ASSERT_TRUE(reloader.Reload("start"));
  PolicySnapshot held = state.Get();
  std::filesystem::remove(tmp.Sub("policy/50-a.yaml"));
  ASSERT_TRUE(reloader.Reload("inotify"));  // no files: an empty policy, not an error
  ASSERT_NE(held.policy, nullptr);
  EXPECT_NE(held.policy->FindVm("work"), nullptr);
  EXPECT_EQ(state.Get().policy->FindVm("work"), nullptr);
}

// An Env that rewrites a policy file the first time it is read — as an editor still saving would —
// and hands back the old bytes: a load that read them must not be the state that gets used.
class ChangingWhileReadEnv final : public EnvWrapper {
 public:
  ChangingWhileReadEnv(std::string file, std::string new_text)
      : EnvWrapper(Env::Posix()), file_(std::move(file)), new_text_(std::move(new_text)) {}
  Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes) override {
    auto bytes = target()->ReadFile(path, max_bytes);
    if (path == file_ && !changed_) {
      changed_ = true;
      (void)target()->WriteFileAtomic(path, new_text_, 0644);
    }
    return bytes;
  }

 private:
  std::string file_;
  std::string new_text_;
  bool changed_ = false;
};

TEST(PolicyReloader, AFileChangedWhileBeingReadIsReadAgainAndTheNewBytesAreUsed) {
  TempDir tmp;
  tmp.MakeDir("policy");
  tmp.WriteFile("policy/50-a.yaml", kGood, 0644);
  const std::string edited = "version: 1\nvms:\n  edited: {level: read-only}\n";
  ChangingWhileReadEnv env(tmp.Sub("policy/50-a.yaml"), edited);
  auto log = TextLog::Open("", false);
  ASSERT_TRUE(log);
  PolicyState state;
  PolicyReloader reloader(&env, LoadOptions{.dirs = {tmp.Sub("policy")}}, &state, log->get(), 10);
  ASSERT_TRUE(reloader.Reload("inotify"));
  const Policy& p = *state.Get().policy;
  EXPECT_NE(p.FindVm("edited"), nullptr);
  EXPECT_EQ(p.FindVm("work"), nullptr);
  auto fresh = LoadPolicy(*Env::Posix(), LoadOptions{.dirs = {tmp.Sub("policy")}});
  ASSERT_TRUE(fresh);
  EXPECT_EQ(p.revision, fresh->revision);
}

}  // namespace
}  // namespace qvmr
