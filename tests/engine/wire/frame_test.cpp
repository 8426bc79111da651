// Tests for engine/wire/frame.h: round trips through the writers and readers, one row per class
// of malformed header, cut-short streams, caps, and chunk-split invariance.
#include "engine/wire/frame.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qvmr {
namespace {

using ::testing::HasSubstr;

const std::string kCidV2 = "20261123-004500-123-0123456789abcdef";
const std::string kCidV1 = "20261123-004500-123-deadbeef";
const std::string kPing = "ping-1771419535000000000-4242";

// What a reader made of a whole stream, as one comparable string.
struct FetchOutcome {
  std::vector<FetchRecord> records;
  Status feed = Ok{};
  Status finish = Ok{};
  std::string Summary() const {
    std::string s;
    for (const FetchRecord& r : records) {
      s += r.cid + "|" + std::to_string(static_cast<int>(r.kind)) + "|" +
           std::to_string(r.auth_size) + "|" + std::to_string(r.body_size) + "|" +
           (r.auth ? *r.auth : "<none>") + "|" + (r.body ? *r.body : "<none>") + "\n";
    }
    s += feed.ok() ? "feed-ok" : feed.error().code;
    s += finish.ok() ? " finish-ok" : " " + finish.error().code;
    return s;
  }
};

FetchOutcome ReadFetch(std::string_view stream, std::size_t chunk = 0,
                       FetchReaderLimits limits = {}) {
  FetchBatchReader reader(limits);
  FetchOutcome out;
  if (chunk == 0) chunk = stream.size() + 1;
  for (std::size_t at = 0; at < stream.size(); at += chunk) {
    out.feed = reader.Feed(stream.substr(at, chunk));
    for (FetchRecord& r : reader.TakeRecords()) out.records.push_back(std::move(r));
    if (!out.feed.ok()) break;
  }
  out.finish = reader.Finish();
  return out;
}

FetchRecord Paired(const std::string& cid, const std::string& auth, const std::string& body) {
  FetchRecord r;
  r.cid = cid;
  r.shape = ClassifyCid(cid);
  r.kind = FetchKind::kPaired;
  r.auth_size = auth.size();
  r.body_size = body.size();
  r.auth = auth;
  r.body = body;
  return r;
}

std::string Must(Result<std::string> r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().ToString());
  return r.ok() ? r.value() : "";
}

// A batch with every kind of record: paired (binary body with newlines and NULs), a v1 one, a
// ping with an empty body, an oversize body sent as its size, an oversize .auth, a no-token.
std::string SampleFetchBatch() {
  std::string binary("a\nb\0c\r\n\xff", 9);
  std::string s = FetchBeginLine();
  s += Must(FormatFetchRecord(Paired(kCidV2, "v=2 timeout=60 mac=00\n", binary)));
  s += Must(FormatFetchRecord(Paired(kCidV1, std::string(64, 'a'), "ls -l")));
  s += Must(FormatFetchRecord(Paired(kPing, std::string(64, 'b'), "")));
  FetchRecord big = Paired("20261123-004500-124-0123456789abcdef", "v=2", "");
  big.body_size = limits::kMaxBodyBytes + 1;
  big.body.reset();
  s += Must(FormatFetchRecord(big));
  FetchRecord long_auth = Paired("20261123-004500-125-0123456789abcdef", "", "x");
  long_auth.auth_size = limits::kMaxAuthBytes + 1;
  long_auth.auth.reset();
  s += Must(FormatFetchRecord(long_auth));
  FetchRecord lone;
  lone.cid = "20261123-004500-126-0123456789abcdef";
  lone.kind = FetchKind::kNoToken;
  lone.body_size = 12;
  s += Must(FormatFetchRecord(lone));
  s += FetchEndLine({3, 7});
  return s;
}

TEST(FetchBatch, RoundTripsEveryKindOfRecord) {
  FetchBatchReader reader;
  ASSERT_TRUE(reader.Feed(SampleFetchBatch()).ok());
  ASSERT_TRUE(reader.Finish().ok());
  std::vector<FetchRecord> records = reader.TakeRecords();
  ASSERT_EQ(records.size(), 6u);
  EXPECT_EQ(records[0].cid, kCidV2);
  EXPECT_EQ(records[0].shape, CidShape::kV2);
  EXPECT_EQ(*records[0].auth, "v=2 timeout=60 mac=00\n");
  EXPECT_EQ(*records[0].body, std::string("a\nb\0c\r\n\xff", 9));
  EXPECT_EQ(records[1].shape, CidShape::kV1);
  EXPECT_EQ(*records[1].body, "ls -l");
  EXPECT_EQ(records[2].shape, CidShape::kV1Ping);
  EXPECT_EQ(*records[2].body, "");
  EXPECT_FALSE(records[3].body.has_value());
  EXPECT_EQ(records[3].body_size, limits::kMaxBodyBytes + 1);
  EXPECT_FALSE(records[4].auth.has_value());
  EXPECT_EQ(*records[4].body, "x");
  EXPECT_EQ(records[5].kind, FetchKind::kNoToken);
  EXPECT_FALSE(records[5].body.has_value());
  EXPECT_EQ(records[5].body_size, 12u);
  EXPECT_EQ(reader.trailer().removed, 3u);
  EXPECT_EQ(reader.trailer().waiting, 7u);
}

TEST(FetchBatch, ChunkingNeverChangesTheResult) {
  std::string stream = SampleFetchBatch();
  std::string whole = ReadFetch(stream).Summary();
  for (std::size_t chunk : {1, 2, 3, 7, 64, 127, 128, 129, 1000}) {
    EXPECT_EQ(ReadFetch(stream, chunk).Summary(), whole) << "chunk " << chunk;
  }
  std::string bad = stream.substr(0, 200) + std::string(300, 'x');
  std::string bad_whole = ReadFetch(bad).Summary();
  for (std::size_t chunk : {1, 5, 128}) EXPECT_EQ(ReadFetch(bad, chunk).Summary(), bad_whole);
}

TEST(FetchBatch, AnEmptyBatchHasOnlyItsMarkers) {
  FetchOutcome out = ReadFetch(FetchBeginLine() + FetchEndLine({}));
  EXPECT_TRUE(out.finish.ok());
  EXPECT_TRUE(out.records.empty());
}

struct MalformedRow {
  const char* name;
  std::string stream;
  const char* code;
};

TEST(FetchBatch, RejectsEveryMalformedHeaderWithANamedError) {
  const std::string v = FetchBeginLine();
  const std::vector<MalformedRow> rows = {
      {"no version marker", "request " + kCidV2 + " no-token 1\n", "frame-version"},
      {"another version", "qvm-remote-fetch 2\n", "frame-version"},
      {"the ack marker", AckBeginLine(), "frame-version"},
      {"a header of 128 bytes without newline", v + std::string(128, 'a'), "frame-header"},
      {"unknown keyword", v + "requests " + kCidV2 + " no-token 1\n", "frame-header"},
      {"unknown kind", v + "request " + kCidV2 + " unpaired 1\n", "frame-header"},
      {"too few fields", v + "request " + kCidV2 + " paired 1\n", "frame-header"},
      {"too many fields", v + "request " + kCidV2 + " no-token 1 2\n", "frame-header"},
      {"double space", v + "request  " + kCidV2 + " no-token 1\n", "frame-header"},
      {"trailing space", v + "request " + kCidV2 + " no-token 1 \n", "frame-header"},
      {"leading zero", v + "request " + kCidV2 + " no-token 01\n", "frame-header"},
      {"sign", v + "request " + kCidV2 + " no-token +1\n", "frame-header"},
      {"64-bit overflow", v + "request " + kCidV2 + " no-token 18446744073709551616\n",
       "frame-header"},
      {"a carriage return", v + "request " + kCidV2 + " no-token 1\r\n", "frame-header"},
      {"invalid cid", v + "request ../../etc/passwd no-token 1\n", "frame-header"},
      {"upper-case cid", v + "request 20261123-004500-123-0123456789ABCDEF no-token 1\n",
       "frame-header"},
      {"malformed end", v + "end 1\n", "frame-header"},
      {"bad error code", v + "error Oops!\n", "frame-header"},
      {"bytes after the end", v + FetchEndLine({}) + "x", "frame-trailing"},
      {"an empty line", v + "\n", "frame-header"},
  };
  for (const MalformedRow& row : rows) {
    FetchOutcome out = ReadFetch(row.stream);
    ASSERT_FALSE(out.feed.ok()) << row.name;
    EXPECT_EQ(out.feed.error().code, row.code) << row.name;
    EXPECT_EQ(out.finish.error().code, row.code) << row.name;
  }
}

TEST(FetchBatch, AReaderStopsAtItsFirstError) {
  FetchBatchReader reader;
  EXPECT_FALSE(reader.Feed("garbage\n").ok());
  Status again = reader.Feed(FetchBeginLine());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "frame-version");
}

TEST(FetchBatch, DetectsEveryCutShortBatch) {
  std::string stream = SampleFetchBatch();
  std::string whole = ReadFetch(stream).Summary();
  for (std::size_t len = 0; len < stream.size(); ++len) {
    FetchOutcome out = ReadFetch(stream.substr(0, len));
    ASSERT_TRUE(out.feed.ok()) << len;
    ASSERT_FALSE(out.finish.ok()) << len;
    EXPECT_EQ(out.finish.error().code, "frame-cut-short") << len;
  }
}

TEST(FetchBatch, RecordsBeforeACutAreStillYielded) {
  std::string stream = FetchBeginLine() + Must(FormatFetchRecord(Paired(kCidV2, "a", "b")));
  FetchOutcome out = ReadFetch(stream);
  EXPECT_EQ(out.records.size(), 1u);
  EXPECT_EQ(out.finish.error().code, "frame-cut-short");
}

TEST(FetchBatch, ReportsTheScriptsErrorMarker) {
  for (std::string stream :
       {std::string("error symlinked-queue\n"), FetchBeginLine() + "error no-queue\n"}) {
    FetchOutcome out = ReadFetch(stream);
    EXPECT_TRUE(out.feed.ok());
    ASSERT_FALSE(out.finish.ok());
    EXPECT_EQ(out.finish.error().code, "vm-script-error");
  }
  FetchBatchReader reader;
  ASSERT_TRUE(reader.Feed("error bad-params\n").ok());
  EXPECT_TRUE(reader.finished());
  EXPECT_EQ(reader.script_error(), "bad-params");
}

TEST(FetchBatch, EnforcesTheRecordCap) {
  std::string stream = FetchBeginLine();
  for (int i = 0; i < 3; ++i) {
    stream += Must(FormatFetchRecord(
        Paired("20261123-004500-" + std::to_string(100 + i) + "-0123456789abcdef", "a", "b")));
  }
  stream += FetchEndLine({});
  EXPECT_TRUE(ReadFetch(stream, 0, {.max_records = 3}).finish.ok());
  FetchOutcome out = ReadFetch(stream, 0, {.max_records = 2});
  EXPECT_EQ(out.feed.error().code, "frame-caps");
  EXPECT_EQ(out.records.size(), 2u);
}

TEST(FetchBatch, EnforcesTheByteCapWhereverTheChunksFall) {
  std::string stream = SampleFetchBatch();
  EXPECT_TRUE(ReadFetch(stream, 0, {.max_bytes = stream.size()}).finish.ok());
  for (std::size_t chunk : {0, 1, 13}) {
    FetchOutcome out = ReadFetch(stream, chunk, {.max_bytes = stream.size() - 1});
    EXPECT_EQ(out.feed.error().code, "frame-caps") << chunk;
  }
}

TEST(FetchBatch, NeverHoldsAnOversizeBodyOrAuth) {
  // The header says the body is huge: nothing follows it, so the next bytes are a header.
  std::string stream =
      FetchBeginLine() + "request " + kCidV2 + " paired 99999 2000000\n" + FetchEndLine({});
  FetchOutcome out = ReadFetch(stream);
  ASSERT_TRUE(out.finish.ok());
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_FALSE(out.records[0].auth.has_value());
  EXPECT_FALSE(out.records[0].body.has_value());
}

TEST(FetchWriter, RefusesRecordsTheGrammarCannotCarry) {
  FetchRecord bad_cid = Paired("x'$(touch X)'y", "a", "b");
  EXPECT_FALSE(FormatFetchRecord(bad_cid).ok());
  FetchRecord wrong_size = Paired(kCidV2, "a", "b");
  wrong_size.body_size = 5;
  EXPECT_FALSE(FormatFetchRecord(wrong_size).ok());
  FetchRecord big_with_body = Paired(kCidV2, "a", std::string(limits::kMaxBodyBytes + 1, 'x'));
  EXPECT_FALSE(FormatFetchRecord(big_with_body).ok());
}

// ---- Acknowledgements

TEST(Acks, RoundTrip) {
  std::string stream = AckBeginLine() + Must(AckLine({kCidV2, AckKind::kOk})) +
                       Must(AckLine({kCidV1, AckKind::kExists})) +
                       Must(AckLine({kPing, AckKind::kFailed})) + AckEndLine();
  for (std::size_t chunk : {1, 4, 1000}) {
    AckReader reader;
    std::vector<Ack> acks;
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
      ASSERT_TRUE(reader.Feed(std::string_view(stream).substr(at, chunk)).ok());
      for (Ack& a : reader.TakeAcks()) acks.push_back(a);
    }
    ASSERT_TRUE(reader.Finish().ok());
    ASSERT_EQ(acks.size(), 3u);
    EXPECT_EQ(acks[0].cid, kCidV2);
    EXPECT_EQ(acks[0].kind, AckKind::kOk);
    EXPECT_EQ(acks[1].kind, AckKind::kExists);
    EXPECT_EQ(acks[2].kind, AckKind::kFailed);
  }
}

TEST(Acks, RejectsMalformedLinesAndDetectsCuts) {
  const std::vector<MalformedRow> rows = {
      {"no marker", "ok " + kCidV2 + "\n", "frame-version"},
      {"unknown word", AckBeginLine() + "done " + kCidV2 + "\n", "frame-header"},
      {"bad cid", AckBeginLine() + "ok ../x\n", "frame-header"},
      {"end with a field", AckBeginLine() + "end 1\n", "frame-header"},
      {"long line", AckBeginLine() + std::string(200, 'o'), "frame-header"},
      {"after end", AckBeginLine() + AckEndLine() + "ok " + kCidV2 + "\n", "frame-trailing"},
  };
  for (const MalformedRow& row : rows) {
    AckReader reader;
    Status st = reader.Feed(row.stream);
    ASSERT_FALSE(st.ok()) << row.name;
    EXPECT_EQ(st.error().code, row.code) << row.name;
  }
  AckReader cut;
  ASSERT_TRUE(cut.Feed(AckBeginLine() + "ok " + kCidV2 + "\nexi").ok());
  EXPECT_EQ(cut.TakeAcks().size(), 1u);
  EXPECT_EQ(cut.Finish().error().code, "frame-cut-short");
  AckReader capped(1);
  EXPECT_EQ(capped.Feed(AckBeginLine() + "ok " + kCidV2 + "\nok " + kCidV1 + "\n").error().code,
            "frame-caps");
}

// ---- Delivery writer

TEST(DeliveryWriter, FormatsResultsRemovalsAndAudit) {
  EXPECT_EQ(DeliveryBeginLine(), "qvm-remote-deliver 1\n");
  EXPECT_EQ(Must(FormatResult(kCidV2, "out", "", "m=1\n", "0")),
            "result " + kCidV2 + " 3 0 4 1\nout" + "m=1\n0");
  EXPECT_EQ(Must(ResultHeaderLine(kCidV2, {20000000, 5, 6, 2})),
            "result " + kCidV2 + " 20000000 5 6 2\n");
  EXPECT_EQ(Must(RemovalLine(QueueDir::kPending, kCidV2 + ".auth")),
            "remove pending " + kCidV2 + ".auth\n");
  EXPECT_EQ(Must(RemovalLine(QueueDir::kRunning, kCidV1)), "remove running " + kCidV1 + "\n");
  EXPECT_EQ(Must(AuditLine("a b")), "audit 3\na b");
  EXPECT_EQ(DeliveryEndLine(), "end\n");
}

TEST(DeliveryWriter, RefusesWhatTheScriptWouldMisread) {
  const std::vector<std::string> bad_names = {
      "../x",  kCidV2 + ".cmd",       kCidV1 + ".cmd",  "-rf",        kCidV2 + "/x", "",
      ".auth", kCidV2 + ".auth.auth", "x'$(touch X)'y", kCidV2 + "\n"};
  for (const std::string& name : bad_names) {
    EXPECT_FALSE(RemovalLine(QueueDir::kPending, name).ok()) << name;
  }
  EXPECT_FALSE(ResultHeaderLine("nope", {0, 0, 0, 1}).ok());
  EXPECT_FALSE(ResultHeaderLine(kCidV2, {0, 0, 0, 0}).ok());
  EXPECT_FALSE(ResultHeaderLine(kCidV2, {limits::kMaxDeliveredStreamBytes + 1, 0, 0, 1}).ok());
  EXPECT_FALSE(ResultHeaderLine(kCidV2, {0, 0, limits::kMaxDeliveredMetaBytes + 1, 1}).ok());
  EXPECT_FALSE(AuditLine("two\nlines").ok());
  EXPECT_FALSE(AuditLine(std::string("nul\0", 4)).ok());
  EXPECT_FALSE(AuditLine(std::string(limits::kMaxVmAuditLineBytes + 1, 'a')).ok());
  EXPECT_FALSE(ScriptErrorLine("Bad Code").ok());
}

TEST(DeliveryWriter, TheLongestHeadersFitIn128Bytes) {
  std::string ping_max = "ping-" + std::string(20, '9') + "-" + std::string(20, '9');
  std::string max_timed = "20261123-004500-9999999999-0123456789abcdef";
  for (const std::string& cid : {ping_max, max_timed}) {
    std::string header = Must(
        ResultHeaderLine(cid, {limits::kMaxDeliveredStreamBytes, limits::kMaxDeliveredStreamBytes,
                               limits::kMaxDeliveredMetaBytes, limits::kMaxDeliveredExitBytes}));
    EXPECT_LE(header.size(), limits::kMaxFrameHeaderBytes) << header;
    FetchRecord r = Paired(cid, "", "");
    r.auth_size = UINT64_MAX;
    r.body_size = UINT64_MAX;
    r.auth.reset();
    r.body.reset();
    EXPECT_LE(Must(FormatFetchRecord(r)).size(), limits::kMaxFrameHeaderBytes);
  }
}

// docs/protocol.md §9.1's example, byte for byte.
TEST(FetchBatch, TheProtocolDocsExampleParses) {
  const std::string auth =
      "v=2 timeout=60 mac=9364ff6dc0cfcfd4add2bda590d35fc3ee9f7895ca08687b28b656ff7439079a\n";
  const std::string example =
      "qvm-remote-fetch 1\n"
      "request 20261123-004500-123-0123456789abcdef paired 84 7\n" +
      auth + "echo hirequest 20261123-004500-124-deadbeef no-token 5\nend 0 1\n";
  FetchOutcome out = ReadFetch(example);
  ASSERT_TRUE(out.finish.ok()) << out.Summary();
  ASSERT_EQ(out.records.size(), 2u);
  EXPECT_EQ(*out.records[0].auth, auth);
  EXPECT_TRUE(ParseAuthFile(*out.records[0].auth).ok());
  EXPECT_EQ(*out.records[0].body, "echo hi");
  EXPECT_EQ(out.records[1].kind, FetchKind::kNoToken);
}

}  // namespace
}  // namespace qvmr
