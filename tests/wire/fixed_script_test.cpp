// The fixed script (engine/wire/fixed_script.h) run for real, in a temporary HOME, under every
// shell mode of script_runner.h, its output parsed by the frame readers (engine/wire/frame.h).
// Each test prepares a queue, runs one operation, and checks the queue and the frames.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "engine/wire/fixed_script.h"
#include "engine/wire/frame.h"
#include "engine/wire/token.h"
#include "tests/wire/script_runner.h"

namespace qvmr {
namespace {

namespace fs = std::filesystem;
using testing::ShellMode;

const std::string kKey(64, 'a');

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Sets a file's mtime `seconds` into the past (what `touch -d '-N seconds'` does).
void Age(const fs::path& p, int seconds) {
  timespec times[2];
  clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= seconds;
  times[1] = times[0];
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << p;
}

std::string Cid(int n, int hex_len = 16) {
  return "20261130-120000-" + std::to_string(n) + "-" + std::string(hex_len, 'a');
}

class FixedScript : public ::testing::TestWithParam<ShellMode> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qvmr-script-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    home_ = root_ / "home";
    cwd_ = root_ / "cwd";
    q_ = home_ / ".qvm-remote" / "queue";
    fs::create_directories(cwd_);
    for (const char* d : {"tmp", "pending", "running", "results"}) fs::create_directories(q_ / d);
    testing::MakeAppletsDir((root_ / "applets").string());
    WriteFile(root_ / "canary", "canary");
  }
  void TearDown() override { fs::remove_all(root_); }

  testing::ScriptRun Run(const std::string& data) {
    testing::ScriptRun run = testing::RunFixedScript(GetParam(), home_.string(), cwd_.string(),
                                                     data, (root_ / "applets").string());
    EXPECT_FALSE(run.timed_out) << "the script hung";
    EXPECT_EQ(run.status, 0) << run.err;
    return run;
  }

  std::string Params(ScriptOp op, std::uint32_t claims, std::int64_t delay_ms = 5000,
                     std::int64_t wait_ms = 0, std::uint32_t scan = 1000) {
    return ScriptParamsLine({op, claims, delay_ms, wait_ms, scan}).value();
  }

  struct Fetched {
    std::vector<FetchRecord> records;
    FetchTrailer trailer;
    Status finish = Ok{};
  };
  Fetched Fetch(const std::string& params) {
    testing::ScriptRun run = Run(params);
    FetchBatchReader reader;
    Fetched f;
    Status fed = reader.Feed(run.out);
    EXPECT_TRUE(fed.ok()) << fed.error().ToString() << "\n" << run.out << run.err;
    f.records = reader.TakeRecords();
    f.finish = reader.Finish();
    f.trailer = reader.trailer();
    return f;
  }

  // A v2 request as our client writes it: `.auth` first, then the body.
  void PutV2(const std::string& cid, const std::string& body) {
    std::map<std::string, std::string> fields = {{"timeout", "60"}};
    WriteFile(q_ / "pending" / (cid + ".auth"),
              FormatAuthV2(fields, MacV2(kKey, cid, fields, body)));
    WriteFile(q_ / "pending" / cid, body);
  }

  fs::path root_, home_, cwd_, q_;
};

std::vector<std::string> Cids(const std::vector<FetchRecord>& records) {
  std::vector<std::string> cids;
  for (const FetchRecord& r : records) cids.push_back(r.cid);
  return cids;
}

TEST(FixedScriptText, IsOneLineWithoutSingleQuotesOrCat) {
  std::string_view script = qvmr::FixedScript();
  EXPECT_EQ(script.find('\n'), std::string_view::npos);
  // Far below qrexec's 65535-byte command limit (VMShell sends it as data anyway).
  EXPECT_LT(script.size(), 16384u);
  EXPECT_EQ(script.find('\''), std::string_view::npos);
  EXPECT_EQ(script.find("cat "), std::string_view::npos);
  // `head -c` only ever reads a named file (busybox's over-reads a pipe): every use has a size
  // and a file, two quoted words before the end of its command.
  int uses = 0;
  for (std::size_t at = script.find("head -c "); at != std::string_view::npos;
       at = script.find("head -c ", at + 1)) {
    std::string_view command = script.substr(at, script.find_first_of(";}", at) - at);
    EXPECT_EQ(std::count(command.begin(), command.end(), '"'), 4) << command;
    ++uses;
  }
  EXPECT_GT(uses, 0);
}

TEST(ScriptParams, FormatsTheFirstLineAndRefusesOutOfRange) {
  EXPECT_EQ(ScriptParamsLine({ScriptOp::kFetch, 4, 5000, 1000, 1000}).value(),
            "fetch 4 5000 1000 1000\n");
  EXPECT_EQ(ScriptParamsLine({ScriptOp::kRecover, 0, 0, 0, 1}).value(), "recover 0 0 0 1\n");
  EXPECT_FALSE(ScriptParamsLine({ScriptOp::kFetch, 100000, 5000, 1000, 1000}).ok());
  EXPECT_FALSE(ScriptParamsLine({ScriptOp::kFetch, 1, -1, 1000, 1000}).ok());
  EXPECT_FALSE(ScriptParamsLine({ScriptOp::kFetch, 1, 5000, 5000, 1000}).ok());
  EXPECT_FALSE(ScriptParamsLine({ScriptOp::kFetch, 1, 5000, 1000, 0}).ok());
}

TEST_P(FixedScript, FetchClaimsReadyRequestsInNameOrderUpToMaxClaims) {
  PutV2(Cid(3), "echo three");
  PutV2(Cid(1), "echo one");
  PutV2(Cid(2), "echo two");
  Fetched f = Fetch(Params(ScriptOp::kFetch, 2));
  ASSERT_TRUE(f.finish.ok()) << f.finish.error().ToString();
  ASSERT_EQ(Cids(f.records), (std::vector<std::string>{Cid(1), Cid(2)}));
  for (const FetchRecord& r : f.records) {
    ASSERT_EQ(r.kind, FetchKind::kPaired);
    Result<AuthFile> auth = ParseAuthFile(*r.auth);
    ASSERT_TRUE(auth.ok());
    EXPECT_TRUE(VerifyAuth(kKey, r.cid, *auth, *r.body).ok()) << r.cid;
    EXPECT_TRUE(fs::exists(q_ / "running" / r.cid));
    EXPECT_TRUE(fs::exists(q_ / "running" / (r.cid + ".auth")));
    EXPECT_FALSE(fs::exists(q_ / "pending" / r.cid));
  }
  EXPECT_EQ(f.trailer.waiting, 1u);
  EXPECT_TRUE(fs::exists(q_ / "pending" / Cid(3)));
}

TEST_P(FixedScript, HostileNamesAreRemovedCountedAndNeverFollowed) {
  fs::path p = q_ / "pending";
  const std::vector<std::string> names = {"x'$(touch X)'y", "$(touch X)",    "`touch X`",  "..x",
                                          ".hidden",        "a\nb",          "-rf",        "-",
                                          "ok;touch X",     Cid(9) + ".cmd", Cid(1) + "\n"};
  for (const std::string& n : names) WriteFile(p / n, "x");
  fs::create_directories(p / "adir" / "sub");
  WriteFile(p / "adir" / "sub" / "f", "x");
  ASSERT_EQ(mkfifo((p / Cid(5)).c_str(), 0600), 0);
  fs::create_symlink(root_ / "canary", p / Cid(6));
  fs::create_symlink(root_ / "canary", p / (Cid(7) + ".auth"));
  WriteFile(p / Cid(7), "echo seven");
  Age(p / Cid(7), 60);
  fs::create_directory_symlink(root_, p / "rootlink");
  WriteFile(p / (Cid(4, 8) + ".cmd"), "reference client's copy");

  Fetched f = Fetch(Params(ScriptOp::kFetch, 8));
  ASSERT_TRUE(f.finish.ok()) << f.finish.error().ToString();
  // 11 names + adir + FIFO + 2 symlinks + rootlink = 16 removed; Cid(7) is claimed as no-token.
  EXPECT_EQ(f.trailer.removed, 16u);
  ASSERT_EQ(Cids(f.records), std::vector<std::string>{Cid(7)});
  EXPECT_EQ(f.records[0].kind, FetchKind::kNoToken);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(p)) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{Cid(4, 8) + ".cmd"});
  EXPECT_EQ(ReadFile(root_ / "canary"), "canary");
  EXPECT_TRUE(fs::exists(root_ / "applets"));
  EXPECT_FALSE(fs::exists(cwd_ / "X"));
  EXPECT_FALSE(fs::exists(p / "X"));
}

// The script's cid test (sh `case` patterns) agrees with ClassifyCid on every tricky name: an
// old lone body is claimed as no-token iff ClassifyCid accepts its name, else removed.
TEST_P(FixedScript, ClassifiesNamesExactlyAsClassifyCid) {
  const std::vector<std::string> names = {Cid(1),
                                          Cid(2, 8),
                                          "ping-1-2",
                                          "ping-" + std::string(20, '9') + "-1",
                                          "ping-" + std::string(21, '9') + "-1",
                                          "ping--2",
                                          "ping-1-",
                                          "ping-1-2-3",
                                          "ping-a-2",
                                          "20261130-120000--1-aaaaaaaaaaaaaaaa",
                                          "20261130-120000-12345678901-aaaaaaaa",
                                          "20261130-120000-1234567890-aaaaaaaa",
                                          "20261130-120000-1-" + std::string(17, 'a'),
                                          "20261130-120000-1-" + std::string(15, 'a'),
                                          "20261130-120000-1-" + std::string(9, 'a'),
                                          "20261130-120000-1-AAAAAAAA",
                                          "20261130-120000-1-aaaaaaag",
                                          "20261130-120000-1-aaaa-aaa",
                                          "2026113-120000-1-aaaaaaaa",
                                          "20261130-12000-1-aaaaaaaa",
                                          "20261130_120000-1-aaaaaaaa",
                                          "20261130-120000-x-aaaaaaaa",
                                          "20261130-120000-1-aaaaaaaa-",
                                          Cid(3) + ".aut",
                                          Cid(3) + ".auth.auth",
                                          "ping-1-2.auth.x"};
  std::vector<std::string> valid;
  for (const std::string& n : names) {
    WriteFile(q_ / "pending" / n, "x");
    Age(q_ / "pending" / n, 60);
    if (ClassifyCid(n) != CidShape::kInvalid) valid.push_back(n);
  }
  std::sort(valid.begin(), valid.end());
  Fetched f = Fetch(Params(ScriptOp::kFetch, 100));
  ASSERT_TRUE(f.finish.ok());
  EXPECT_EQ(Cids(f.records), valid);
  EXPECT_EQ(f.trailer.removed, names.size() - valid.size());
  EXPECT_TRUE(fs::is_empty(q_ / "pending"));
}

TEST_P(FixedScript, AtMostMaxScanNamesAreLookedAtPerPass) {
  for (int i = 0; i < 20; ++i) WriteFile(q_ / "pending" / ("junk" + std::to_string(i)), "x");
  Fetched f = Fetch(Params(ScriptOp::kFetch, 1, 5000, 0, 5));
  EXPECT_EQ(f.trailer.removed, 5u);
}

// A hostile VM with 100,000 names in pending/ gets one bounded pass, and its request (sorting
// after the junk) waits for a later call instead of making this one unbounded.
TEST(FixedScriptHostileVolume, OneHundredThousandNamesCostOneBoundedPass) {
  char tmpl[] = "/tmp/qvmr-script-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  fs::path root = tmpl;
  fs::path pending = root / "home" / ".qvm-remote" / "queue" / "pending";
  fs::create_directories(pending);
  for (int i = 0; i < 100000; ++i) {
    int fd = open((pending / ("junk" + std::to_string(i))).c_str(), O_CREAT | O_WRONLY, 0600);
    ASSERT_GE(fd, 0);
    close(fd);
  }
  testing::ShellMode dash = testing::AllShellModes()[1];
  testing::ScriptRun run =
      testing::RunFixedScript(dash, (root / "home").string(), root.string(),
                              ScriptParamsLine({ScriptOp::kFetch, 4, 5000, 0, 1000}).value(), "");
  EXPECT_FALSE(run.timed_out);
  FetchBatchReader reader;
  ASSERT_TRUE(reader.Feed(run.out).ok());
  ASSERT_TRUE(reader.Finish().ok()) << run.out;
  EXPECT_EQ(reader.trailer().removed, 1000u);
  fs::remove_all(root);
}

TEST_P(FixedScript, JudgesV1ReadinessAndLoneBodiesInTheVm) {
  fs::path p = q_ / "pending";
  // v1 with a complete token: ready.
  WriteFile(p / Cid(1, 8), "ls");
  WriteFile(p / (Cid(1, 8) + ".auth"), TokenV1(kKey, Cid(1, 8)));
  // v1 with a short token, young: not ready (the reference is still writing it).
  WriteFile(p / Cid(2, 8), "ls");
  WriteFile(p / (Cid(2, 8) + ".auth"), "0123");
  // v1 with a short token older than the pairing delay: ready (validation answers it).
  WriteFile(p / Cid(3, 8), "ls");
  WriteFile(p / (Cid(3, 8) + ".auth"), "0123");
  Age(p / (Cid(3, 8) + ".auth"), 30);
  // A lone v2 body, young: waits. A lone body older than the pairing delay: no-token.
  WriteFile(p / Cid(4), "echo young");
  WriteFile(p / Cid(5), "echo old");
  Age(p / Cid(5), 30);

  Fetched f = Fetch(Params(ScriptOp::kFetch, 10));
  ASSERT_TRUE(f.finish.ok());
  ASSERT_EQ(Cids(f.records), (std::vector<std::string>{Cid(1, 8), Cid(3, 8), Cid(5)}));
  EXPECT_EQ(f.records[0].kind, FetchKind::kPaired);
  EXPECT_EQ(*f.records[0].auth, TokenV1(kKey, Cid(1, 8)));
  EXPECT_EQ(f.records[1].auth_size, 4u);
  EXPECT_EQ(f.records[2].kind, FetchKind::kNoToken);
  EXPECT_EQ(f.records[2].body_size, 8u);
  EXPECT_TRUE(fs::exists(q_ / "running" / Cid(5)));
  EXPECT_EQ(f.trailer.waiting, 2u);
  EXPECT_TRUE(fs::exists(p / Cid(2, 8)));
  EXPECT_TRUE(fs::exists(p / Cid(4)));
}

TEST_P(FixedScript, AnOversizeBodyIsSentAsItsSizeAndTheStreamStaysInStep) {
  std::string max_body(limits::kMaxBodyBytes, 'b');
  PutV2(Cid(1), max_body);
  PutV2(Cid(2), max_body + "!");
  PutV2(Cid(3), "echo after");
  Fetched f = Fetch(Params(ScriptOp::kFetch, 3));
  ASSERT_TRUE(f.finish.ok());
  ASSERT_EQ(f.records.size(), 3u);
  EXPECT_EQ(*f.records[0].body, max_body);
  EXPECT_FALSE(f.records[1].body.has_value());
  EXPECT_EQ(f.records[1].body_size, limits::kMaxBodyBytes + 1);
  EXPECT_EQ(*f.records[2].body, "echo after");
}

TEST_P(FixedScript, AClaimNeverReplacesARunningEntry) {
  PutV2(Cid(1), "echo new");
  WriteFile(q_ / "running" / Cid(1), "echo old");
  Fetched f = Fetch(Params(ScriptOp::kFetch, 1));
  EXPECT_TRUE(f.records.empty());
  EXPECT_EQ(ReadFile(q_ / "running" / Cid(1)), "echo old");
  EXPECT_TRUE(fs::exists(q_ / "pending" / Cid(1)));
  EXPECT_TRUE(fs::exists(q_ / "pending" / (Cid(1) + ".auth")));
}

TEST_P(FixedScript, WaitsBoundedlyWhenNothingIsReadyAndAFifoNeverBlocks) {
  ASSERT_EQ(mkfifo((q_ / "pending" / Cid(1)).c_str(), 0600), 0);
  WriteFile(q_ / "pending" / Cid(2), "young lone body");
  Fetched f = Fetch(Params(ScriptOp::kFetch, 4, 5000, 300));
  ASSERT_TRUE(f.finish.ok());
  EXPECT_TRUE(f.records.empty());
  EXPECT_EQ(f.trailer.removed, 1u);
  EXPECT_EQ(f.trailer.waiting, 1u);
}

TEST_P(FixedScript, RecoverReOffersRunningEntriesThenPending) {
  WriteFile(q_ / "running" / Cid(1), "echo claimed earlier");
  WriteFile(q_ / "running" / (Cid(1) + ".auth"), "v=2 timeout=60 mac=x");
  WriteFile(q_ / "running" / Cid(2), "echo auth still pending");
  WriteFile(q_ / "pending" / (Cid(2) + ".auth"), "v=2 timeout=9 mac=y");
  PutV2(Cid(3), "echo fresh");
  Fetched f = Fetch(Params(ScriptOp::kRecover, 5));
  ASSERT_TRUE(f.finish.ok());
  ASSERT_EQ(Cids(f.records), (std::vector<std::string>{Cid(1), Cid(2), Cid(3)}));
  EXPECT_EQ(*f.records[0].body, "echo claimed earlier");
  EXPECT_EQ(*f.records[1].auth, "v=2 timeout=9 mac=y");
  EXPECT_TRUE(fs::exists(q_ / "running" / (Cid(2) + ".auth")));
  // fetch does not re-offer them.
  Fetched again = Fetch(Params(ScriptOp::kFetch, 5));
  EXPECT_TRUE(again.records.empty());
}

TEST_P(FixedScript, DeliverWritesExactBytesPlacesExitLastAndAcknowledges) {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  std::string big(2 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) >> 3);
  WriteFile(q_ / "running" / Cid(1), "cmd");
  WriteFile(q_ / "running" / (Cid(1) + ".auth"), "auth");
  WriteFile(q_ / "results" / (Cid(3) + ".exit"), "7");
  WriteFile(q_ / "pending" / Cid(8), "journaled copy");
  WriteFile(q_ / "running" / (Cid(9) + ".auth"), "stale");
  WriteFile(home_ / ".qvm-remote" / "audit.log", "earlier\n");

  std::string batch = DeliveryBeginLine();
  batch += FormatResult(Cid(1), binary, "", "outcome=ok\n", "0").value();
  batch += ResultHeaderLine(Cid(2), {big.size(), 3, 0, 2}).value() + big + "e\n\\" + "-9";
  batch += FormatResult(Cid(3), "must not appear", "x", "y", "0").value();
  batch += RemovalLine(QueueDir::kPending, Cid(8)).value();
  batch += RemovalLine(QueueDir::kRunning, Cid(9) + ".auth").value();
  batch += AuditLine("  2026-11-30 vm ran 'echo $(x)' \\ ok").value();
  batch += DeliveryEndLine();

  testing::ScriptRun run = Run(Params(ScriptOp::kDeliver, 0) + batch);
  AckReader reader;
  ASSERT_TRUE(reader.Feed(run.out).ok()) << run.out << run.err;
  ASSERT_TRUE(reader.Finish().ok()) << run.out;
  std::vector<Ack> acks = reader.TakeAcks();
  ASSERT_EQ(acks.size(), 3u);
  EXPECT_EQ(acks[0].kind, AckKind::kOk);
  EXPECT_EQ(acks[1].kind, AckKind::kOk);
  EXPECT_EQ(acks[2].cid, Cid(3));
  EXPECT_EQ(acks[2].kind, AckKind::kExists);

  fs::path r = q_ / "results";
  EXPECT_EQ(ReadFile(r / (Cid(1) + ".out")), binary);
  EXPECT_TRUE(fs::exists(r / (Cid(1) + ".err")));
  EXPECT_EQ(ReadFile(r / (Cid(1) + ".err")), "");
  EXPECT_EQ(ReadFile(r / (Cid(1) + ".meta")), "outcome=ok\n");
  EXPECT_EQ(ReadFile(r / (Cid(1) + ".exit")), "0");
  EXPECT_EQ(ReadFile(r / (Cid(2) + ".out")), big);
  EXPECT_EQ(ReadFile(r / (Cid(2) + ".err")), "e\n\\");
  EXPECT_EQ(ReadFile(r / (Cid(2) + ".exit")), "-9");
  EXPECT_EQ(ReadFile(r / (Cid(3) + ".exit")), "7");
  EXPECT_FALSE(fs::exists(r / (Cid(3) + ".out")));
  EXPECT_FALSE(fs::exists(q_ / "running" / Cid(1)));
  EXPECT_FALSE(fs::exists(q_ / "running" / (Cid(1) + ".auth")));
  EXPECT_FALSE(fs::exists(q_ / "pending" / Cid(8)));
  EXPECT_FALSE(fs::exists(q_ / "running" / (Cid(9) + ".auth")));
  EXPECT_EQ(ReadFile(home_ / ".qvm-remote" / "audit.log"),
            "earlier\n  2026-11-30 vm ran 'echo $(x)' \\ ok\n");
  EXPECT_TRUE(fs::is_empty(q_ / "tmp"));
}

TEST_P(FixedScript, AHeldFetchReadsADeliveryAfterItsBatchAndAcknowledgesIt) {
  PutV2(Cid(1), "echo one");
  std::string delivery = DeliveryBeginLine();
  delivery += FormatResult(Cid(1), "one\n", "", "outcome=ok\n", "0").value();
  delivery += DeliveryEndLine();
  testing::ScriptRun run = Run(Params(ScriptOp::kFetch, 4) + delivery);
  // stdout: the fetch batch, then the ack stream, never interleaved.
  const std::size_t acks_at = run.out.find("qvm-remote-ack 1\n");
  ASSERT_NE(acks_at, std::string::npos) << run.out << run.err;
  FetchBatchReader fetch;
  ASSERT_TRUE(fetch.Feed(run.out.substr(0, acks_at)).ok()) << run.out;
  ASSERT_TRUE(fetch.Finish().ok()) << run.out;
  EXPECT_EQ(Cids(fetch.TakeRecords()), (std::vector<std::string>{Cid(1)}));
  AckReader acks;
  ASSERT_TRUE(acks.Feed(run.out.substr(acks_at)).ok()) << run.out;
  ASSERT_TRUE(acks.Finish().ok()) << run.out;
  std::vector<Ack> got = acks.TakeAcks();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].cid, Cid(1));
  EXPECT_EQ(got[0].kind, AckKind::kOk);
  EXPECT_EQ(ReadFile(q_ / "results" / (Cid(1) + ".out")), "one\n");
  EXPECT_EQ(ReadFile(q_ / "results" / (Cid(1) + ".exit")), "0");
  EXPECT_FALSE(fs::exists(q_ / "running" / Cid(1)));
}

TEST_P(FixedScript, AHeldFetchAtEndOfInputEndsAtItsBatchAndAFetchWithoutClaimsNeverReads) {
  // dom0 closed stdin: the claim stands, nothing more is printed.
  PutV2(Cid(1), "echo one");
  testing::ScriptRun held = Run(Params(ScriptOp::kFetch, 4));
  FetchBatchReader reader;
  ASSERT_TRUE(reader.Feed(held.out).ok()) << held.out;
  ASSERT_TRUE(reader.Finish().ok()) << held.out;
  EXPECT_TRUE(fs::exists(q_ / "running" / Cid(1)));
  // Nothing claimed: a delivery after the batch is never read, so nothing is written.
  std::string delivery = DeliveryBeginLine();
  delivery += FormatResult(Cid(2), "two\n", "", "outcome=ok\n", "0").value();
  delivery += DeliveryEndLine();
  testing::ScriptRun idle = Run(Params(ScriptOp::kFetch, 4) + delivery);
  EXPECT_EQ(idle.out.find("qvm-remote-ack"), std::string::npos) << idle.out;
  EXPECT_FALSE(fs::exists(q_ / "results" / (Cid(2) + ".exit")));
}

TEST_P(FixedScript, AHeldFetchGivenAnythingButADeliveryReportsBadFrameAndWritesNothing) {
  PutV2(Cid(1), "echo one");
  testing::ScriptRun run = Run(Params(ScriptOp::kFetch, 4) + "result " + Cid(1) + " 1 0 0 1\nx0");
  const std::size_t end_at = run.out.find("end 0 0\n");
  ASSERT_NE(end_at, std::string::npos) << run.out;
  EXPECT_EQ(run.out.substr(end_at), "end 0 0\nerror bad-frame\n");
  EXPECT_FALSE(fs::exists(q_ / "results" / (Cid(1) + ".exit")));
}

TEST_P(FixedScript, DeliverNeverWritesThroughASymlinkedResultsDirectory) {
  fs::remove(q_ / "results");
  fs::create_directories(root_ / "elsewhere");
  fs::create_directory_symlink(root_ / "elsewhere", q_ / "results");
  std::string batch =
      DeliveryBeginLine() + FormatResult(Cid(1), "o", "", "", "0").value() + DeliveryEndLine();
  testing::ScriptRun run = Run(Params(ScriptOp::kDeliver, 0) + batch);
  AckReader reader;
  ASSERT_TRUE(reader.Feed(run.out).ok());
  ASSERT_FALSE(reader.Finish().ok());
  EXPECT_EQ(reader.script_error(), "symlinked-queue");
  EXPECT_TRUE(fs::is_empty(root_ / "elsewhere"));
}

TEST_P(FixedScript, DeliverReplacesSymlinksInResultsInsteadOfWritingThroughThem) {
  fs::create_symlink(root_ / "canary", q_ / "results" / (Cid(1) + ".out"));
  fs::create_symlink(root_ / "canary", q_ / "tmp" / ".qvmr-deliver.err");
  fs::create_directories(q_ / "results" / (Cid(1) + ".meta") / "inside");
  std::string batch = DeliveryBeginLine() + FormatResult(Cid(1), "out", "err", "m", "0").value() +
                      DeliveryEndLine();
  testing::ScriptRun run = Run(Params(ScriptOp::kDeliver, 0) + batch);
  AckReader reader;
  ASSERT_TRUE(reader.Feed(run.out).ok());
  ASSERT_TRUE(reader.Finish().ok()) << run.out;
  EXPECT_EQ(ReadFile(root_ / "canary"), "canary");
  EXPECT_FALSE(fs::is_symlink(q_ / "results" / (Cid(1) + ".out")));
  EXPECT_EQ(ReadFile(q_ / "results" / (Cid(1) + ".out")), "out");
  EXPECT_EQ(ReadFile(q_ / "results" / (Cid(1) + ".err")), "err");
  EXPECT_EQ(ReadFile(q_ / "results" / (Cid(1) + ".meta")), "m");
}

TEST_P(FixedScript, ACutShortDeliveryKeepsEarlierAcksAndPlacesNoPartialExit) {
  std::string batch = DeliveryBeginLine() + FormatResult(Cid(1), "one", "", "", "0").value() +
                      ResultHeaderLine(Cid(2), {100, 0, 0, 1}).value() + "only part";
  testing::ScriptRun run = Run(Params(ScriptOp::kDeliver, 0) + batch);
  AckReader reader;
  ASSERT_TRUE(reader.Feed(run.out).ok()) << run.out;
  std::vector<Ack> acks = reader.TakeAcks();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].cid, Cid(1));
  EXPECT_FALSE(reader.Finish().ok());
  EXPECT_FALSE(fs::exists(q_ / "results" / (Cid(2) + ".exit")));
  EXPECT_FALSE(fs::exists(q_ / "results" / (Cid(2) + ".out")));
}

TEST_P(FixedScript, RefusesBadParametersAndCreatesMissingQueueDirectories) {
  fs::remove_all(home_ / ".qvm-remote");
  for (std::string params : {"", "fetch\n", "steal 1 2 3 4\n", "fetch 01 5000 0 1\n",
                             "fetch 1 5000 0 1 extra\n", "fetch 1 $(touch X) 0 1\n"}) {
    testing::ScriptRun run = Run(params);
    EXPECT_EQ(run.out, "error bad-params\n") << params;
  }
  EXPECT_FALSE(fs::exists(cwd_ / "X"));
  Fetched f = Fetch(Params(ScriptOp::kFetch, 1));
  EXPECT_TRUE(f.finish.ok());
  for (const char* d : {"tmp", "pending", "running", "results"}) {
    EXPECT_EQ(fs::status(q_ / d).permissions() & fs::perms::all, fs::perms::owner_all) << d;
  }
}

INSTANTIATE_TEST_SUITE_P(Shells, FixedScript, ::testing::ValuesIn(testing::AllShellModes()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace qvmr
