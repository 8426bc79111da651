// Tests for engine/wire/validate.h and engine/wire/freshness.h: one row per step of CONTRACT.md's
// validation table, then the order between steps, the clock and the journal's rules.
#include "engine/wire/validate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>

#include "engine/base/limits.h"
#include "engine/base/units.h"
#include "engine/wire/freshness.h"
#include "engine/wire/token.h"

namespace qvmr {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kKey = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
constexpr TimeMs kNow = 1795400000000;  // 2026-11-23T02:13:20Z

// "YYYYMMDD-HHMMSS" of an instant (UTC).
std::string CidTimeText(TimeMs t) {
  std::string iso = FormatTimeMs(t);  // YYYY-MM-DDTHH:MM:SS.mmmZ
  return iso.substr(0, 4) + iso.substr(5, 2) + iso.substr(8, 2) + "-" + iso.substr(11, 2) +
         iso.substr(14, 2) + iso.substr(17, 2);
}
std::string CidV2(TimeMs t) {
  return CidTimeText(t) + "-123-0123456789abcdef";
}
std::string CidV1(TimeMs t) {
  return CidTimeText(t) + "-4242-deadbeef";
}
std::string CidV1Ping(TimeMs t) {
  return "ping-" + std::to_string(t) + "000000-4242";
}

// One request with everything it needs; `Input()` views into it.
struct Request {
  std::string vm = "work";
  std::string cid = CidV2(kNow);
  RecordKind kind = RecordKind::kPaired;
  std::string auth;
  std::string body = "qvm-ls --running";
  std::optional<std::uint64_t> reported_size;  // default: body.size()
  bool body_read = true;
  std::optional<std::string> key = kKey;
  std::optional<bool> accept_v1 = false;
  TimeMs now = kNow;
  JournalView journal{false, std::nullopt, 0, limits::kJournalCapV2};

  Request() { SignV2("60"); }
  void SignV2(const std::string& timeout, const std::string& kind_field = "",
              const std::string& mac_key = kKey) {
    std::map<std::string, std::string> f{{"timeout", timeout}};
    if (!kind_field.empty()) f["kind"] = kind_field;
    auth = FormatAuthV2(f, MacV2(mac_key, cid, f, body));
  }
  void MakeV1(const std::string& v1cid, const std::string& mac_key = kKey) {
    cid = v1cid;
    auth = TokenV1(mac_key, cid) + "\n";
    accept_v1 = true;
    journal.cap = limits::kJournalCapV1;
  }
  void MakePing() {
    body.clear();
    SignV2("10", "ping");
  }
  ValidationInput Input() const {
    ValidationInput in;
    in.vm = vm;
    in.name = cid;
    in.kind = kind;
    in.auth = auth;
    in.body_size = reported_size.value_or(body.size());
    if (body_read) in.body = body;
    if (key) in.key = *key;
    in.accept_v1 = accept_v1;
    in.now = now;
    in.journal = journal;
    return in;
  }
};

struct Row {
  const char* name;
  std::function<void(Request&)> change;
  int step;
  Verdict verdict;
  Outcome outcome;
  ReasonCode reason;
};

void PrintTo(const Row& row, std::ostream* os) {
  *os << row.name;
}

class ValidationTable : public ::testing::TestWithParam<Row> {};

TEST_P(ValidationTable, FailsAtItsStepWithItsOutcomeAndCode) {
  const Row& row = GetParam();
  Request r;
  row.change(r);
  Validation v = ValidateRequest(r.Input());
  EXPECT_EQ(v.step, row.step) << v.err;
  EXPECT_EQ(v.verdict, row.verdict) << v.err;
  EXPECT_EQ(v.outcome, row.outcome) << v.err;
  EXPECT_EQ(ReasonCodeName(v.reason), ReasonCodeName(row.reason)) << v.err;
  EXPECT_FALSE(v.accepted());
  EXPECT_THAT(v.err, Not(HasSubstr("\n")));
  EXPECT_FALSE(v.err.empty());
}

const auto kAnswer = Verdict::kAnswer;
INSTANTIATE_TEST_SUITE_P(
    Steps, ValidationTable,
    ::testing::Values(
        Row{"Step1InjectionShapedNameIsRemovedUnanswered",
            [](Request& r) { r.cid = "x'$(touch X)'y"; }, 1, Verdict::kRemove, Outcome::kOk,
            ReasonCode::kNone},
        Row{"Step1AuthFileNameIsLeftAlone", [](Request& r) { r.cid += ".auth"; }, 1,
            Verdict::kLeave, Outcome::kOk, ReasonCode::kNone},
        Row{"Step1ReferenceCmdCopyIsLeftAlone",
            [](Request& r) { r.cid = CidV1(kNow) + ".cmd"; }, 1, Verdict::kLeave, Outcome::kOk,
            ReasonCode::kNone},
        Row{"Step1DotDotIsRemoved", [](Request& r) { r.cid = ".."; }, 1, Verdict::kRemove,
            Outcome::kOk, ReasonCode::kNone},
        Row{"Step2CidInTheJournalIsNeverAnswered", [](Request& r) { r.journal.seen = true; }, 2,
            Verdict::kDuplicate, Outcome::kOk, ReasonCode::kNone},
        Row{"Step3BodyWithoutAuthIsNoToken", [](Request& r) { r.kind = RecordKind::kNoToken; }, 3,
            kAnswer, Outcome::kAuth, ReasonCode::kNoToken},
        Row{"Step4UnknownAuthKeyIsMalformedAuth",
            [](Request& r) { r.auth = "v=2 timeout=60 color=red mac=" + std::string(64, 'a'); },
            4, kAnswer, Outcome::kMalformed, ReasonCode::kMalformedAuth},
        Row{"Step4OversizedAuthIsMalformedAuth",
            [](Request& r) { r.auth = std::string(limits::kMaxAuthBytes + 1, 'a'); }, 4, kAnswer,
            Outcome::kMalformed, ReasonCode::kMalformedAuth},
        Row{"Step5V1TokenOnAV2CidIsShapeMismatch",
            [](Request& r) { r.auth = TokenV1(kKey, r.cid); }, 5, kAnswer, Outcome::kMalformed,
            ReasonCode::kShapeMismatch},
        Row{"Step5V2AuthOnAV1CidIsShapeMismatch",
            [](Request& r) {
              r.cid = CidV1(kNow);
              r.SignV2("60");
            },
            5, kAnswer, Outcome::kMalformed, ReasonCode::kShapeMismatch},
        Row{"Step6BodyOverOneMebibyteIsTooLargeUnread",
            [](Request& r) {
              r.reported_size = limits::kMaxBodyBytes + 1;
              r.body_read = false;
            },
            6, kAnswer, Outcome::kMalformed, ReasonCode::kTooLarge},
        Row{"Step6EmptyCommandIsEmpty",
            [](Request& r) {
              r.body.clear();
              r.SignV2("60");
            },
            6, kAnswer, Outcome::kMalformed, ReasonCode::kEmpty},
        Row{"Step6PingWithABodyIsNotEmpty",
            [](Request& r) {
              r.body = "true";
              r.SignV2("10", "ping");
            },
            6, kAnswer, Outcome::kMalformed, ReasonCode::kNotEmpty},
        Row{"Step6ControlByteIsBinary",
            [](Request& r) {
              r.body = std::string("ls\x1b[2J", 7);
              r.SignV2("60");
            },
            6, kAnswer, Outcome::kMalformed, ReasonCode::kBinary},
        Row{"Step6NulIsBinary",
            [](Request& r) {
              r.body = std::string("ls\0", 3);
              r.SignV2("60");
            },
            6, kAnswer, Outcome::kMalformed, ReasonCode::kBinary},
        Row{"Step7NoKeyFileIsNoKey", [](Request& r) { r.key.reset(); }, 7, kAnswer,
            Outcome::kAuth, ReasonCode::kNoKey},
        Row{"Step7UpperCaseKeyIsNoKey",
            [](Request& r) { r.key = std::string(64, 'A'); }, 7, kAnswer, Outcome::kAuth,
            ReasonCode::kNoKey},
        Row{"Step8OtherKeysMacIsBadMac",
            [](Request& r) { r.SignV2("60", "", std::string(64, '0')); }, 8, kAnswer,
            Outcome::kAuth, ReasonCode::kBadMac},
        Row{"Step8SwappedBodyIsBadMac", [](Request& r) { r.body = "rm -rf /"; }, 8, kAnswer,
            Outcome::kAuth, ReasonCode::kBadMac},
        Row{"Step9V1WithoutAcceptV1IsV1NotAccepted",
            [](Request& r) {
              r.MakeV1(CidV1(kNow));
              r.accept_v1 = false;
            },
            9, kAnswer, Outcome::kAuth, ReasonCode::kV1NotAccepted},
        Row{"Step10CidElevenMinutesOldIsStale",
            [](Request& r) {
              r.cid = CidV2(kNow - 11 * 60 * 1000);
              r.SignV2("60");
            },
            10, kAnswer, Outcome::kAuth, ReasonCode::kStale},
        Row{"Step10CidAtTheLowWaterMarkIsStale",
            [](Request& r) { r.journal.low_water_mark = *CidTimeMs(r.cid, CidShape::kV2); }, 10,
            kAnswer, Outcome::kAuth, ReasonCode::kStale},
        Row{"Step10NonexistentDateIsStale",
            [](Request& r) {
              r.cid = "20261131-000000-1-0123456789abcdef";
              r.SignV2("60");
            },
            10, kAnswer, Outcome::kAuth, ReasonCode::kStale},
        Row{"Step11FullJournalIsJournalFull",
            [](Request& r) { r.journal.rows = r.journal.cap; }, 11, kAnswer, Outcome::kAuth,
            ReasonCode::kJournalFull}),
    [](const ::testing::TestParamInfo<Row>& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// Accepted requests carry what the daemon needs.

TEST(ValidateRequest, AcceptsAV2CommandWithItsTimeoutAndTime) {
  Request r;
  Validation v = ValidateRequest(r.Input());
  ASSERT_TRUE(v.accepted()) << v.err;
  EXPECT_EQ(v.step, 0);
  EXPECT_EQ(v.request.version, 2);
  EXPECT_EQ(v.request.kind, RequestKind::kCmd);
  EXPECT_EQ(v.request.timeout_seconds, 60u);
  EXPECT_EQ(v.request.cid_time, kNow / 1000 * 1000);
  EXPECT_EQ(v.request.shape, CidShape::kV2);
}

TEST(ValidateRequest, AcceptsAV2PingWithAnEmptyBody) {
  Request r;
  r.MakePing();
  Validation v = ValidateRequest(r.Input());
  ASSERT_TRUE(v.accepted()) << v.err;
  EXPECT_EQ(v.request.kind, RequestKind::kPing);
  EXPECT_EQ(v.request.timeout_seconds, 10u);
}

TEST(ValidateRequest, AcceptsV1WhereThePolicyAcceptsItWithNoTimeout) {
  Request r;
  r.MakeV1(CidV1(kNow));
  r.body = "anything";  // v1 does not cover the body
  Validation v = ValidateRequest(r.Input());
  ASSERT_TRUE(v.accepted()) << v.err;
  EXPECT_EQ(v.request.version, 1);
  EXPECT_FALSE(v.request.timeout_seconds.has_value());
}

TEST(ValidateRequest, V1PingIsAnOrdinaryCommandTimedByItsNanoseconds) {
  Request r;
  r.MakeV1(CidV1Ping(kNow - 1234));
  r.body = "true\n";
  Validation v = ValidateRequest(r.Input());
  ASSERT_TRUE(v.accepted()) << v.err;
  EXPECT_EQ(v.request.shape, CidShape::kV1Ping);
  EXPECT_EQ(v.request.kind, RequestKind::kCmd);
  EXPECT_EQ(v.request.cid_time, kNow - 1234);
}

TEST(ValidateRequest, CarriageReturnAndDelPassTheBinaryRule) {
  Request r;
  r.body = "echo a\r\n\x7f\t\xc3\xa9";
  r.SignV2("60");
  EXPECT_TRUE(ValidateRequest(r.Input()).accepted());
}

TEST(ValidateRequest, BodyOfExactlyOneMebibyteIsNotTooLarge) {
  Request r;
  r.body = std::string(limits::kMaxBodyBytes, 'a');
  r.SignV2("60");
  EXPECT_TRUE(ValidateRequest(r.Input()).accepted());
}

TEST(ValidateRequest, NoKeyAnswerTellsHowToAuthorizeTheVm) {
  Request r;
  r.key.reset();
  Validation v = ValidateRequest(r.Input());
  EXPECT_THAT(v.err, HasSubstr("qvm-remote key gen"));
  EXPECT_THAT(v.err, HasSubstr("qvm-remote-dom0 authorize work -"));
}

TEST(ValidateRequest, RemovalLogLineEscapesTheVmsBytes) {
  Request r;
  r.cid = "evil\n\x1b[31mname";
  Validation v = ValidateRequest(r.Input());
  EXPECT_EQ(v.verdict, Verdict::kRemove);
  EXPECT_THAT(v.err, Not(HasSubstr("\n")));
  EXPECT_THAT(v.err, Not(HasSubstr("\x1b")));
}

// ---------------------------------------------------------------------------------------------
// Order: the first failing step decides.

TEST(ValidationOrder, BadShapeWithNoKeyIsMalformedNotAuth) {
  Request r;
  r.cid = CidV1(kNow);  // v2 .auth on a v1 cid
  r.SignV2("60");
  r.key.reset();
  EXPECT_EQ(ValidateRequest(r.Input()).reason, ReasonCode::kShapeMismatch);
}

TEST(ValidationOrder, BinaryBodyWithNoKeyIsMalformedNotAuth) {
  Request r;
  r.body = std::string("\x01", 1);
  r.key.reset();
  EXPECT_EQ(ValidateRequest(r.Input()).reason, ReasonCode::kBinary);
}

TEST(ValidationOrder, DuplicateWinsOverEverythingAfterIt) {
  Request r;
  r.journal.seen = true;
  r.kind = RecordKind::kNoToken;
  r.key.reset();
  EXPECT_EQ(ValidateRequest(r.Input()).verdict, Verdict::kDuplicate);
}

TEST(ValidationOrder, V1FromAVmWithoutAcceptV1AndABadMacIsBadMac) {
  Request r;
  r.MakeV1(CidV1(kNow), std::string(64, '0'));
  r.accept_v1 = false;
  EXPECT_EQ(ValidateRequest(r.Input()).reason, ReasonCode::kBadMac);
}

TEST(ValidationOrder, V1FromAVmWithoutAcceptV1AndAGoodMacIsV1NotAccepted) {
  Request r;
  r.MakeV1(CidV1(kNow));
  r.accept_v1 = false;
  EXPECT_EQ(ValidateRequest(r.Input()).reason, ReasonCode::kV1NotAccepted);
}

TEST(ValidationOrder, DenyAllSkipsStepNineAndLeavesTheAnswerToTheDecision) {
  Request r;
  r.MakeV1(CidV1(kNow));
  r.accept_v1.reset();
  EXPECT_TRUE(ValidateRequest(r.Input()).accepted());
}

TEST(ValidationOrder, StaleWithABadMacIsBadMac) {
  Request r;
  r.cid = CidV2(kNow - 3600 * 1000);
  r.SignV2("60", "", std::string(64, '0'));
  EXPECT_EQ(ValidateRequest(r.Input()).reason, ReasonCode::kBadMac);
}

TEST(ValidationOrder, StaleAndFullJournalIsStale) {
  Request r;
  r.cid = CidV2(kNow - 3600 * 1000);
  r.SignV2("60");
  r.journal.rows = r.journal.cap;
  EXPECT_EQ(ValidateRequest(r.Input()).reason, ReasonCode::kStale);
}

TEST(ValidateRequest, ReportedSizeOverTheLimitIsTooLargeEvenWithBytes) {
  Request r;
  r.reported_size = limits::kMaxBodyBytes + 1;
  EXPECT_EQ(ValidateRequest(r.Input()).reason, ReasonCode::kTooLarge);
}

TEST(ValidationOrder, TooLargeIsJudgedBeforePingOrBinary) {
  Request r;
  r.MakePing();
  r.reported_size = limits::kMaxBodyBytes + 1;
  r.body_read = false;
  EXPECT_EQ(ValidateRequest(r.Input()).reason, ReasonCode::kTooLarge);
}

// ---------------------------------------------------------------------------------------------
// The clock and the journal.

TEST(Freshness, V2WindowIsTenMinutesBothWays) {
  EXPECT_TRUE(IsFresh(2, kNow - limits::kFreshnessV2Ms, kNow));
  EXPECT_TRUE(IsFresh(2, kNow + limits::kFreshnessV2Ms, kNow));
  EXPECT_FALSE(IsFresh(2, kNow - limits::kFreshnessV2Ms - 1, kNow));
  EXPECT_FALSE(IsFresh(2, kNow + limits::kFreshnessV2Ms + 1, kNow));
}

TEST(Freshness, V1WindowIsTwentySixHours) {
  EXPECT_TRUE(IsFresh(1, kNow - 25 * 3600 * 1000LL, kNow));
  EXPECT_FALSE(IsFresh(1, kNow - 27 * 3600 * 1000LL, kNow));
  EXPECT_FALSE(IsFresh(2, kNow - 25 * 3600 * 1000LL, kNow));
}

TEST(Freshness, DomZeroClockMovedForwardMakesARequestStale) {
  Request r;
  r.now = kNow + 11 * 60 * 1000;
  EXPECT_EQ(ValidateRequest(r.Input()).reason, ReasonCode::kStale);
}

TEST(Freshness, DomZeroClockMovedBackMakesARequestStale) {
  Request r;
  r.now = kNow - 11 * 60 * 1000;
  Validation v = ValidateRequest(r.Input());
  EXPECT_EQ(v.reason, ReasonCode::kStale);
  EXPECT_THAT(v.err, HasSubstr("ahead of"));
}

TEST(Freshness, ClockSetBackCannotReopenPrunedTimes) {
  // Rows up to T were pruned (mark T); the clock goes back so a request of time T is "fresh".
  Request r;
  const TimeMs t = *CidTimeMs(r.cid, CidShape::kV2);
  r.journal.low_water_mark = t;
  r.now = t;
  EXPECT_EQ(ValidateRequest(r.Input()).reason, ReasonCode::kStale);
  r.journal.low_water_mark = t - 1;
  EXPECT_TRUE(ValidateRequest(r.Input()).accepted());
}

TEST(Freshness, V1LocalTimeIsReadWithTheCallersOffset) {
  const std::string cid = "20261123-041320-1-deadbeef";  // 04:13:20 local at UTC+2
  EXPECT_EQ(CidTimeMs(cid, CidShape::kV1, 2 * 3600 * 1000), kNow);
  EXPECT_EQ(CidTimeMs(cid, CidShape::kV1), kNow + 2 * 3600 * 1000);
  EXPECT_EQ(CidTimeMs(CidV2(kNow), CidShape::kV2, 2 * 3600 * 1000), kNow);  // v2 is UTC
}

TEST(Freshness, CidTimesThatDoNotExistHaveNoTime) {
  EXPECT_EQ(CidTimeMs("20261301-000000-1-0123456789abcdef", CidShape::kV2), std::nullopt);
  EXPECT_EQ(CidTimeMs("20261124-240000-1-0123456789abcdef", CidShape::kV2), std::nullopt);
  EXPECT_EQ(CidTimeMs("ping-99999999999999999999-1", CidShape::kV1Ping), std::nullopt);
  EXPECT_EQ(CidTimeMs("x", CidShape::kInvalid), std::nullopt);
}

TEST(LowWaterMark, NothingAtOrBelowTheMarkIsAccepted) {
  EXPECT_TRUE(IsAboveLowWaterMark(100, std::nullopt));
  EXPECT_TRUE(IsAboveLowWaterMark(101, 100));
  EXPECT_FALSE(IsAboveLowWaterMark(100, 100));
  EXPECT_FALSE(IsAboveLowWaterMark(99, 100));
}

TEST(PruneCutoff, IsTheOlderOfNowAndTheNewestCidMinusTheWindow) {
  EXPECT_EQ(PruneCutoff(2, kNow, kNow - 5000), kNow - 5000 - limits::kPruneWindowV2Ms);
  EXPECT_EQ(PruneCutoff(2, kNow, kNow + 5000), kNow - limits::kPruneWindowV2Ms);
  EXPECT_EQ(PruneCutoff(1, kNow, kNow), kNow - limits::kPruneWindowV1Ms);
  EXPECT_EQ(PruneCutoff(2, kNow, std::nullopt), kNow - limits::kPruneWindowV2Ms);
}

TEST(PruneCutoff, ClockJumpedForwardPrunesNothingNewer) {
  // A day's jump: the newest accepted cid bounds the cutoff, so rows near it survive.
  const TimeMs newest = kNow;
  EXPECT_EQ(PruneCutoff(2, kNow + 86400000, newest), newest - limits::kPruneWindowV2Ms);
}

TEST(JournalCap, OneBelowTheCapIsAccepted) {
  Request r;
  r.journal.rows = r.journal.cap - 1;
  EXPECT_TRUE(ValidateRequest(r.Input()).accepted());
  r.journal.rows = r.journal.cap + 5;
  EXPECT_EQ(ValidateRequest(r.Input()).reason, ReasonCode::kJournalFull);
}

TEST(JournalCap, FullV1JournalNamesTheV1Option) {
  Request r;
  r.MakeV1(CidV1(kNow));
  r.journal.rows = r.journal.cap;
  EXPECT_THAT(ValidateRequest(r.Input()).err, HasSubstr("--journal-cap-v1"));
}

TEST(QueueNames, ClassifiesEveryKindOfEntry) {
  EXPECT_EQ(ClassifyQueueName(CidV2(kNow)), QueueName::kRequest);
  EXPECT_EQ(ClassifyQueueName(CidV2(kNow) + ".auth"), QueueName::kAuth);
  EXPECT_EQ(ClassifyQueueName(CidV1(kNow) + ".cmd"), QueueName::kV1CopyOfBody);
  EXPECT_EQ(ClassifyQueueName(CidV2(kNow) + ".cmd"), QueueName::kInvalid);
  EXPECT_EQ(ClassifyQueueName(".auth"), QueueName::kInvalid);
  EXPECT_EQ(ClassifyQueueName("../x"), QueueName::kInvalid);
}

TEST(BinaryRule, IsTheReferencesExactly) {
  for (int b = 0; b < 256; ++b) {
    bool binary = b <= 0x08 || b == 0x0b || b == 0x0c || (b >= 0x0e && b <= 0x1f);
    EXPECT_EQ(IsBinaryByte(static_cast<unsigned char>(b)), binary) << b;
  }
}

}  // namespace
}  // namespace qvmr
