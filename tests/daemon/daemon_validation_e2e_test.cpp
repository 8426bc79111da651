// Every row of CONTRACT.md's validation table end to end: a request made the way a broken or
// hostile client would make it, one --once sweep of the real daemon on the local transport, and
// the answer (or the silence) the VM sees. tests/engine/wire/validate_test.cpp pins the same rows
// on the pure function; this file proves the daemon acts on them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/time.h>
#include <unistd.h>

#include <ctime>
#include <map>

#include "engine/wire/token.h"
#include "support/daemon_local_world.h"

namespace qvmr {
namespace {

using testing::kKeyWork;
using testing::LocalWorld;

// A v2 .auth over `body` (what the client writes), for hand-made requests.
std::string AuthV2(const std::string& cid, const std::string& body,
                   std::map<std::string, std::string> fields = {{"timeout", "30"}}) {
  return FormatAuthV2(fields, MacV2(kKeyWork, cid, fields, body));
}

void Put(LocalWorld& w, const std::string& name, const std::string& bytes) {
  w.tmp().WriteFile("vms/work/.qvm-remote/queue/pending/" + name, bytes, 0644);
}

// A cid `seconds_ago` in the past, in the v2 shape (UTC) or the v1 shape (8 hex).
std::string CidAgo(int seconds_ago, bool v1 = false) {
  std::time_t t = std::time(nullptr) - seconds_ago;
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf,
                v1 ? "%04d%02d%02d-%02d%02d%02d-%d-deadbeef"
                   : "%04d%02d%02d-%02d%02d%02d-%d-00000000deadbeef",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(::getpid()));
  return buf;
}

struct Row {
  const char* name;
  std::string outcome;
  std::string reason_code;
};

void ExpectAnswer(const LocalWorld& w, const std::string& cid, const Row& row) {
  EXPECT_EQ(w.MetaValue("work", cid, "outcome"), row.outcome) << row.name;
  EXPECT_EQ(w.MetaValue("work", cid, "reason_code"), row.reason_code) << row.name;
  EXPECT_EQ(w.Result("work", cid, "exit"), row.outcome == "denied" ? "126" : "255") << row.name;
  std::string err = w.Result("work", cid, "err");
  EXPECT_FALSE(err.empty()) << row.name << ": every refusal says what to do";
  EXPECT_EQ(err.find('\n'), err.size() - 1) << row.name << ": one line";
}

TEST(DaemonValidation, AnswersEachRefusalOfTheTableWithItsOutcomeAndReasonCode) {
  LocalWorld w;
  // 3: a body whose .auth never came, older than the pairing delay.
  std::string no_token = w.NewCid();
  Put(w, no_token, "tick");
  std::string old = w.tmp().Sub("vms/work/.qvm-remote/queue/pending/" + no_token);
  struct timeval past[2] = {{std::time(nullptr) - 30, 0}, {std::time(nullptr) - 30, 0}};
  ASSERT_EQ(::utimes(old.c_str(), past), 0);
  // 4: an .auth that does not parse.
  std::string bad_auth = w.NewCid();
  Put(w, bad_auth + ".auth", "v=2 timeout=30 mac=zz\n");
  Put(w, bad_auth, "tick");
  // 5: a v1-shaped cid under a v2 .auth.
  std::string shape = CidAgo(0, /*v1=*/true);
  Put(w, shape + ".auth", AuthV2(shape, "tick"));
  Put(w, shape, "tick");
  // 6: too large, empty, a ping with a body, binary.
  std::string large = w.NewCid(), empty = w.NewCid(), ping_body = w.NewCid(), binary = w.NewCid();
  std::string big(1048577, 'a');
  Put(w, large + ".auth", AuthV2(large, big));
  Put(w, large, big);
  Put(w, empty + ".auth", AuthV2(empty, ""));
  Put(w, empty, "");
  Put(w, ping_body + ".auth", AuthV2(ping_body, "tick", {{"timeout", "30"}, {"kind", "ping"}}));
  Put(w, ping_body, "tick");
  Put(w, binary + ".auth", AuthV2(binary, std::string("echo \x01", 6)));
  Put(w, binary, std::string("echo \x01", 6));
  // 9: a v1 request (the reference's token) from a VM whose policy does not accept v1.
  std::string v1 = CidAgo(0, /*v1=*/true);
  v1[v1.size() - 1] = 'a';
  Put(w, v1, "tick\n");
  Put(w, v1 + ".auth", TokenV1(kKeyWork, v1));
  // 10: a cid an hour old.
  std::string stale = CidAgo(3600);
  Put(w, stale + ".auth", AuthV2(stale, "tick"));
  Put(w, stale, "tick");

  ASSERT_EQ(w.RunOnce(), 0);
  ExpectAnswer(w, no_token, {"no-token", "auth", "no-token"});
  ExpectAnswer(w, bad_auth, {"malformed-auth", "malformed", "malformed-auth"});
  ExpectAnswer(w, shape, {"shape-mismatch", "malformed", "shape-mismatch"});
  ExpectAnswer(w, large, {"too-large", "malformed", "too-large"});
  ExpectAnswer(w, empty, {"empty", "malformed", "empty"});
  ExpectAnswer(w, ping_body, {"not-empty", "malformed", "not-empty"});
  ExpectAnswer(w, binary, {"binary", "malformed", "binary"});
  ExpectAnswer(w, v1, {"v1-not-accepted", "auth", "v1-not-accepted"});
  ExpectAnswer(w, stale, {"stale", "auth", "stale"});
  EXPECT_EQ(w.Ticks(), 0);
}

TEST(DaemonValidation, AnswersJournalFullAndEvictsNothing) {
  LocalWorld w;
  std::string first = w.NewCid(), second = w.NewCid();
  w.Submit("work", first, "tick", kKeyWork);
  DaemonOptions options;
  options.journal_cap = 1;
  ASSERT_EQ(w.RunOnce(options), 0);
  ASSERT_EQ(w.Ticks(), 1);
  w.Submit("work", second, "tick", kKeyWork);
  ASSERT_EQ(w.RunOnce(options), 0);
  EXPECT_EQ(w.MetaValue("work", second, "reason_code"), "journal-full");
  EXPECT_EQ(w.Ticks(), 1);
  // The first request is still journaled: copied back, it is a replay, never answered again.
  EXPECT_EQ(w.Result("work", first, "exit"), "0");
}

TEST(DaemonValidation, ServesV1WhereThePolicyAcceptsIt) {
  LocalWorld w;
  std::string policy = testing::ReadWholeFile(w.PolicyFile());
  std::string needle = "work: {level: read-only}";
  policy.replace(policy.find(needle), needle.size(), "work: {level: read-only, accept_v1: true}");
  w.tmp().WriteFile("root/etc/qubes/remote-policy.d/50-test.yaml", policy, 0644);
  std::string v1 = CidAgo(0, /*v1=*/true);
  // The reference's order: the body first, then its token.
  Put(w, v1, "tick\n");
  Put(w, v1 + ".auth", TokenV1(kKeyWork, v1));
  ASSERT_EQ(w.RunOnce(), 0);
  EXPECT_EQ(w.Result("work", v1, "out"), "ticked\n");
  EXPECT_EQ(w.Ticks(), 1);
}

}  // namespace
}  // namespace qvmr
