// AuditLog's lines and budgets, and Admission's token bucket, with a clock the tests move.
#include "daemon/audit_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <sstream>

#include "daemon/admission.h"
#include "engine/wire/token.h"
#include "support/daemon_temp_dir.h"

namespace qvmr {
namespace {

using testing::TempDir;

struct Clocked {
  MonotonicMs now = 1'000'000;
  MonotonicClock clock() {
    return [this] { return now; };
  }
};

std::vector<nlohmann::json> Lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(testing::ReadWholeFile(path));
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

AuditEntry Entry(const std::string& vm, const std::string& outcome, std::string_view text) {
  AuditEntry e;
  e.time_ms = 1'796'040'000'000;
  e.vm = vm;
  e.cid = "20261130-120000-1-0123456789abcdef";
  e.outcome = outcome;
  e.reason_code = outcome == "ok" ? "" : "bad-mac";
  e.policy = std::string(64, 'a');
  e.text = text;
  e.exit = outcome == "ok" ? 0 : 255;
  return e;
}

TEST(AuditLog, ALineHoldsTheSchemaVersionTheExcerptHashLengthAndRevision) {
  TempDir tmp;
  Clocked c;
  std::string path = tmp.Sub("log/audit.jsonl");
  {
    auto log = AuditLog::Open(path, c.clock());
    ASSERT_TRUE(log) << log.error().ToString();
    (*log)->Record(Entry("work", "ok", "echo hi\x1b[2J"));
  }
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto lines = Lines(path);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["v"], 1);
  EXPECT_EQ(lines[0]["time"], "2026-11-30T12:00:00.000Z");
  EXPECT_EQ(lines[0]["policy"], std::string(64, 'a'));
  EXPECT_EQ(lines[0]["text"]["excerpt"], "echo hi\\x1b[2J");  // no control byte survives
  EXPECT_EQ(lines[0]["text"]["sha256"], Sha256Hex("echo hi\x1b[2J"));
  EXPECT_EQ(lines[0]["text"]["bytes"], 11);
}

TEST(AuditLog, ATextLongerThanTheExcerptIsCutButHashedWhole) {
  TempDir tmp;
  Clocked c;
  std::string text(100'000, 'x');
  {
    auto log = AuditLog::Open(tmp.Sub("a.jsonl"), c.clock());
    ASSERT_TRUE(log);
    (*log)->Record(Entry("work", "ok", text));
  }
  auto lines = Lines(tmp.Sub("a.jsonl"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_LE(lines[0]["text"]["excerpt"].get<std::string>().size(), limits::kAuditExcerptBytes + 3);
  EXPECT_EQ(lines[0]["text"]["bytes"], 100'000);
  EXPECT_EQ(lines[0]["text"]["sha256"], Sha256Hex(text));
}

TEST(AuditLog, IdenticalFailuresAreWrittenOncePerSecondAndTheRestSummarisedWithACount) {
  TempDir tmp;
  Clocked c;
  {
    auto log = AuditLog::Open(tmp.Sub("a.jsonl"), c.clock());
    ASSERT_TRUE(log);
    for (int i = 0; i < 50; ++i) (*log)->Record(Entry("work", "auth", "tick"));
    (*log)->Record(Entry("other", "auth", "tick"));  // another VM: its own class
    c.now += 1000;
    (*log)->Record(Entry("work", "auth", "tick"));
  }
  auto lines = Lines(tmp.Sub("a.jsonl"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["vm"], "work");
  EXPECT_EQ(lines[1]["vm"], "other");
  EXPECT_EQ(lines[2]["summary"], "repeated-failures");
  EXPECT_EQ(lines[2]["vm"], "work");
  EXPECT_EQ(lines[2]["reason_code"], "bad-mac");
  EXPECT_EQ(lines[2]["count"], 49);
  EXPECT_EQ(lines[3]["vm"], "work");
  EXPECT_FALSE(lines[3].contains("summary"));
}

TEST(AuditLog, AWithheldCountWithNoLaterFailureIsWrittenAsASummary) {
  TempDir tmp;
  Clocked c;
  auto log = AuditLog::Open(tmp.Sub("a.jsonl"), c.clock());
  ASSERT_TRUE(log);
  for (int i = 0; i < 5; ++i) (*log)->Record(Entry("work", "denied", "x"));
  c.now += 1000;
  (*log)->Flush();
  auto lines = Lines(tmp.Sub("a.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["summary"], "repeated-failures");
  EXPECT_EQ(lines[1]["count"], 4);
}

TEST(AuditLog, PastTheVolumeCapExcerptsShrinkThenLinesAreOnlyCountedAndGrowthStaysBounded) {
  TempDir tmp;
  Clocked c;
  const std::size_t cap = 64 * 1024;
  std::string text(8000, 'y');
  {
    auto log = AuditLog::Open(tmp.Sub("a.jsonl"), c.clock(), {.volume_bytes = cap});
    ASSERT_TRUE(log);
    for (int i = 0; i < 500; ++i) (*log)->Record(Entry("work", "ok", text));
    for (int i = 0; i < 3; ++i) (*log)->Record(Entry("quiet", "ok", "true"));
    c.now += 60'000;
    (*log)->Flush();
  }
  auto lines = Lines(tmp.Sub("a.jsonl"));
  std::size_t work_bytes = 0, quiet = 0, small = 0;
  std::uint64_t withheld = 0;
  for (const auto& l : lines) {
    if (l["vm"] == "quiet") {
      ++quiet;
      continue;
    }
    work_bytes += l.dump().size() + 1;
    if (l.contains("summary")) withheld += l["count"].get<std::uint64_t>();
    if (l.contains("text") &&
        l["text"]["excerpt"].get<std::string>().size() <= limits::kAuditExcerptCappedBytes + 3) {
      ++small;
    }
  }
  EXPECT_EQ(quiet, 3u);  // another VM is unaffected
  EXPECT_GT(small, 0u);
  EXPECT_GT(withheld, 0u);
  EXPECT_LE(work_bytes, 2 * cap + 8192);
}

TEST(Admission, AQuietVmHasItsBurstAndThenEarnsTokensAtItsRate) {
  Clocked c;
  Admission a(c.clock(), {.rate_per_s = 10, .burst = 64});
  EXPECT_EQ(a.Available("work"), 64u);
  a.Take("work", 64);
  EXPECT_EQ(a.Available("work"), 0u);
  EXPECT_EQ(a.WaitMs("work"), 100);
  c.now += 500;
  EXPECT_EQ(a.Available("work"), 5u);
  c.now += 3'600'000;
  EXPECT_EQ(a.Available("work"), 64u);  // never beyond the burst
  EXPECT_EQ(a.Available("other"), 64u);
}

TEST(Admission, TakingMoreThanAvailableEmptiesTheBucketWithoutDebt) {
  Clocked c;
  Admission a(c.clock(), {.rate_per_s = 1, .burst = 2});
  a.Take("work", 10);
  c.now += 1000;
  EXPECT_EQ(a.Available("work"), 1u);
}

TEST(VmAuditLine, HasTheReferenceFormat) {
  EXPECT_EQ(VmAuditLine(1'796'040'000'000, "20261130-120000-1-0123456789abcdef", "0", 42),
            "[2026-11-30T12:00:00.000Z] id=20261130-120000-1-0123456789abcdef exit=0 "
            "duration=42ms");
}

}  // namespace
}  // namespace qvmr
