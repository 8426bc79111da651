// The blocked set: first match in load order, compile errors, and — the fail-closed part — a
// search RE2 could not finish is an error (code `limit`), never "not blocked".
#include "engine/policy/blocklist.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace qvmr {
namespace {

using ::testing::HasSubstr;

std::vector<BlockedPattern> Patterns() {
  return {{"rm\\s+-rf", "wipes", {"b.yaml", 3, 14}},
          {"qvm-remove", "removes a VM", {"b.yaml", 4, 14}},
          {"r", "any r", {"b.yaml", 5, 14}}};
}

// What RE2::Set::Match does when its DFA runs out of memory: false, and the kind in ErrorInfo.
bool OutOfMemorySearch(const RE2::Set&, std::string_view, std::vector<int>* hits,
                       RE2::Set::ErrorInfo* error) {
  hits->clear();
  error->kind = RE2::Set::kOutOfMemory;
  return false;
}

// RE2's "should never happen": a match without the indexes of what matched.
bool MatchWithoutHitsSearch(const RE2::Set&, std::string_view, std::vector<int>* hits,
                            RE2::Set::ErrorInfo* error) {
  hits->clear();
  error->kind = RE2::Set::kNoError;
  return true;
}

bool OutOfRangeHitSearch(const RE2::Set&, std::string_view, std::vector<int>* hits,
                         RE2::Set::ErrorInfo* error) {
  *hits = {7};
  error->kind = RE2::Set::kNoError;
  return true;
}

TEST(BlocklistTest, FirstMatchIsTheEarliestPatternInLoadOrder) {
  auto list = Blocklist::Compile(Patterns());
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  auto hit = list->FirstMatch("echo x; rm  -rf /");
  ASSERT_TRUE(hit.ok());
  ASSERT_NE(*hit, nullptr);
  EXPECT_EQ((*hit)->reason, "wipes");
  auto miss = list->FirstMatch("qvm-ls");
  ASSERT_TRUE(miss.ok());
  EXPECT_EQ(*miss, nullptr);
}

TEST(BlocklistTest, AnEmptyListBlocksNothingWhateverTheSearch) {
  BlocklistOptions options;
  options.search = &OutOfMemorySearch;
  auto list = Blocklist::Compile({}, options);
  ASSERT_TRUE(list.ok());
  auto miss = list->FirstMatch("rm -rf /");
  ASSERT_TRUE(miss.ok());
  EXPECT_EQ(*miss, nullptr);
}

TEST(BlocklistTest, ABadPatternFailsTheCompileAtItsPosition) {
  auto list = Blocklist::Compile({{"a(", "x", {"b.yaml", 9, 14}}});
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().code, "bad-regex");
  EXPECT_EQ(list.error().pos.ToString(), "b.yaml:9:14");
}

TEST(BlocklistTest, ASetOverItsMemoryBudgetFailsTheCompileNotTheSearch) {
  BlocklistOptions tiny;
  tiny.max_mem_bytes = 2000;  // too small for the DFA to start (RE2 checks at Compile)
  std::vector<BlockedPattern> many;
  for (int i = 0; i < 40; ++i) many.push_back({"x.*" + std::to_string(i) + "z", "r", {}});
  auto list = Blocklist::Compile(many, tiny);
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().code, "bad-regex");
  EXPECT_THAT(list.error().message, HasSubstr("memory budget (2000 bytes)"));
}

TEST(BlocklistTest, ASearchRe2CouldNotFinishIsALimitErrorNotAMiss) {
  struct Case {
    const char* name;
    BlocklistSearch search;
    const char* says;
  };
  for (const Case& c : {Case{"out of memory", &OutOfMemorySearch, "RE2 ran out of memory"},
                        Case{"match without hits", &MatchWithoutHitsSearch, "inconsistent"},
                        Case{"hit out of range", &OutOfRangeHitSearch, "inconsistent"}}) {
    BlocklistOptions options;
    options.search = c.search;
    options.max_mem_bytes = 1 << 20;
    auto list = Blocklist::Compile(Patterns(), options);
    ASSERT_TRUE(list.ok()) << c.name;
    auto result = list->FirstMatch("qvm-ls");  // matches no pattern: only the error can deny
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_EQ(result.error().code, "limit") << c.name;
    EXPECT_THAT(result.error().message, HasSubstr(c.says)) << c.name;
    EXPECT_THAT(result.error().message, HasSubstr("budget 1048576 bytes")) << c.name;
  }
}

TEST(BlocklistTest, TheDefaultSearchFindsAMatchFarIntoALongInputWithinASmallBudget) {
  BlocklistOptions options;
  options.max_mem_bytes = 1 << 20;
  std::vector<BlockedPattern> many;
  for (int i = 0; i < 50; ++i) many.push_back({"x[a-z]*" + std::to_string(i) + "q", "r", {}});
  auto list = Blocklist::Compile(many, options);
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "xabcdefghijklmnopqrstuvwyz0123456789"[(i * 7919) % 36];
  auto miss = list->FirstMatch(text);
  ASSERT_TRUE(miss.ok()) << miss.error().message;
  auto hit = list->FirstMatch(text + " x7q");
  ASSERT_TRUE(hit.ok()) << hit.error().message;
  ASSERT_NE(*hit, nullptr);
  EXPECT_EQ((*hit)->pattern, "x[a-z]*7q");
}

}  // namespace
}  // namespace qvmr
