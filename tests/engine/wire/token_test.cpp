// Tests for engine/token.h. Every expected digest below was computed independently with the
// openssl CLI, e.g.
//   printf %s cmd-001 | openssl dgst -sha256 -hmac abcdef0123456789abcdef0123456789...
//   printf 'qvm-remote-v2\ncid=%s\ntimeout=60\nbody-sha256=%s\n' CID SHA | openssl dgst ...
#include "engine/wire/token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <string>

namespace qvmr {
namespace {

using ::testing::HasSubstr;

const std::string kKey =
    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";  // reference test KEY
const std::string kCidV2 = "20261123-004500-123-0123456789abcdef";
const std::string kMacHex = "9364ff6dc0cfcfd4add2bda590d35fc3ee9f7895ca08687b28b656ff7439079a";
const std::string kSha256EchoHi =
    "56a79f3b115448072387c2480044bfa2cf8f90e4f5fddd8c943b4e051b81f80b";
const std::string kSha256Empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::map<std::string, std::string> Timeout(const std::string& t) {
  return {{"timeout", t}};
}

// ---------------------------------------------------------------------------------------------
// Keys, hashes, constant-time compare

TEST(TokenKey, ValidKeys) {
  EXPECT_TRUE(IsValidKey(kKey));
  EXPECT_TRUE(IsValidKey(std::string(64, '0')));
  EXPECT_TRUE(IsValidKey(std::string(64, 'f')));
}

TEST(TokenKey, InvalidKeys) {
  EXPECT_FALSE(IsValidKey(""));
  EXPECT_FALSE(IsValidKey(std::string(63, 'a')));
  EXPECT_FALSE(IsValidKey(std::string(65, 'a')));
  EXPECT_FALSE(IsValidKey(std::string(64, 'A')));                       // upper case
  EXPECT_FALSE(IsValidKey("A" + kKey.substr(1)));                       // one upper-case char
  EXPECT_FALSE(IsValidKey(kKey.substr(0, 63) + "g"));                   // not hex
  EXPECT_FALSE(IsValidKey(kKey + "\n"));                                // trailing newline
  EXPECT_FALSE(IsValidKey(" " + kKey.substr(1)));                       // space
  EXPECT_FALSE(IsValidKey(kKey.substr(0, 63) + std::string(1, '\0')));  // NUL
}

TEST(TokenHash, Sha256) {
  EXPECT_EQ(Sha256Hex(""), kSha256Empty);
  EXPECT_EQ(Sha256Hex("echo hi"), kSha256EchoHi);
  EXPECT_EQ(Sha256Hex("qvm-ls --running\nxl info\n"),
            "24d2e8ca2efc3328c4b2801c672e4e84bc44c5e8a9329791912ac23adbd97c42");
  EXPECT_EQ(Sha256Hex(std::string("a\0b", 3)).size(), 64u);
  EXPECT_NE(Sha256Hex(std::string("a\0b", 3)), Sha256Hex("a"));  // not cut at NUL
}

TEST(TokenHash, HmacMatchesOpenssl) {
  // printf '' | openssl dgst -sha256 -hmac KEY
  EXPECT_EQ(HmacSha256Hex(kKey, ""),
            "f88e88976010bddd11c8ce570024f41e3f561eb082a1b952de6af7098c962a2b");
  // printf %s cmd-001 | openssl dgst -sha256 -hmac 000...0 (64 zeros)
  EXPECT_EQ(HmacSha256Hex(std::string(64, '0'), "cmd-001"),
            "c55d449a9ba250022ad1edd61c38b60243ec39e0aabbee6cc9231d33afca67c8");
  // RFC 4231 test case 2 (a short, non-hex key).
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(TokenHash, KeyIsAsciiHexNotDecodedBytes) {
  // upstream-facts §1.2: the decoded-bytes key would give db442e16…c3 for cmd-001.
  std::string v1 = TokenV1(kKey, "cmd-001");
  EXPECT_THAT(v1, ::testing::Not(::testing::StartsWith("db442e16")));
  // and case matters
  std::string upper = kKey;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_NE(TokenV1(upper, "cmd-001"), v1);
}

TEST(TokenCompare, ConstantTimeEqual) {
  EXPECT_TRUE(ConstantTimeEqual("", ""));
  EXPECT_TRUE(ConstantTimeEqual(kMacHex, kMacHex));
  EXPECT_FALSE(ConstantTimeEqual(kMacHex, kMacHex.substr(0, 63)));
  EXPECT_FALSE(ConstantTimeEqual(kMacHex.substr(0, 63), kMacHex));
  EXPECT_FALSE(ConstantTimeEqual("", "a"));
  std::string last = kMacHex;
  last.back() = 'b';
  EXPECT_FALSE(ConstantTimeEqual(kMacHex, last));
  std::string first = kMacHex;
  first.front() = '0';
  EXPECT_FALSE(ConstantTimeEqual(kMacHex, first));
  // Bytes after a NUL still count.
  EXPECT_FALSE(ConstantTimeEqual(std::string("a\0b", 3), std::string("a\0c", 3)));
  // Case matters.
  std::string upper = kMacHex;
  upper[0] = 'F';
  EXPECT_FALSE(ConstantTimeEqual(kMacHex, upper));
}

// ---------------------------------------------------------------------------------------------
// v1 vectors (upstream-facts.md §1.2)

TEST(TokenV1, ReferenceVectors) {
  EXPECT_EQ(TokenV1(kKey, "cmd-001"),
            "1b229391a779978c399469e7ef0715d5757bbbe69c387d9ba9dbf3445713f562");
  EXPECT_EQ(TokenV1(kKey, "20260218-135855-12345-deadbeef"),
            "2f483b9cbf75c7222fe15e45f54d97cb02d8b9f222ea556f78458019c59f9f72");
  EXPECT_EQ(TokenV1(kKey, "ping-1771419535000000000-4242"),
            "dfb3f4321e9607fb452f87fd9531c3c09d26a0ca9da8b381431da9c347dc4957");
  // printf %s 20261122-235221-15793-ca8cb05b | openssl dgst -sha256 -hmac KEY
  EXPECT_EQ(TokenV1(kKey, "20261122-235221-15793-ca8cb05b"),
            "1880f24b05d7c26e4cda18785d74ace934fdf565e4ba5da88c623815b830ca82");
}

TEST(TokenV1, EqualsHmacOverCidOnly) {
  EXPECT_EQ(TokenV1(kKey, kCidV2), HmacSha256Hex(kKey, kCidV2));
  EXPECT_NE(TokenV1(kKey, "cmd-001"), TokenV1(kKey, "cmd-002"));
}

// ---------------------------------------------------------------------------------------------
// v2 MAC

TEST(TokenV2, DesignVector) {
  EXPECT_EQ(MacV2(kKey, kCidV2, Timeout("60"), "echo hi"), kMacHex);
  EXPECT_EQ(FormatAuthV2(Timeout("60"), kMacHex), "v=2 timeout=60 mac=" + kMacHex + "\n");
}

TEST(TokenV2, MessageLayout) {
  EXPECT_EQ(MacMessageV2(kCidV2, Timeout("60"), kSha256EchoHi),
            "qvm-remote-v2\ncid=" + kCidV2 + "\ntimeout=60\nbody-sha256=" + kSha256EchoHi + "\n");
  EXPECT_EQ(HmacSha256Hex(kKey, MacMessageV2(kCidV2, Timeout("60"), Sha256Hex("echo hi"))),
            kMacHex);
}

TEST(TokenV2, KindIsCoveredAfterTimeout) {
  // printf 'qvm-remote-v2\ncid=%s\ntimeout=10\nkind=ping\nbody-sha256=%s\n' CID SHA("") | openssl…
  std::map<std::string, std::string> ping = {{"timeout", "10"}, {"kind", "ping"}};
  EXPECT_EQ(MacMessageV2(kCidV2, ping, kSha256Empty),
            "qvm-remote-v2\ncid=" + kCidV2 +
                "\ntimeout=10\nkind=ping\nbody-sha256=" + kSha256Empty + "\n");
  EXPECT_EQ(MacV2(kKey, kCidV2, ping, ""),
            "305f5afd820ac8947b5e93009517ed8062cfc9f929b6bef6d8dffb3b0ac4d2b8");
  std::map<std::string, std::string> cmd = {{"timeout", "60"}, {"kind", "cmd"}};
  EXPECT_EQ(MacV2(kKey, kCidV2, cmd, "echo hi"),
            "674124163135e01893071afeda620752350ff1b26203e0fa2c7b12fcb2b33567");
  // An explicit kind=cmd is a different MAC from an absent kind (values MACed as written).
  EXPECT_NE(MacV2(kKey, kCidV2, cmd, "echo hi"), kMacHex);
  EXPECT_EQ(FormatAuthV2(ping, "ab"), "v=2 timeout=10 kind=ping mac=ab\n");
}

TEST(TokenV2, MultiLineBodyAndMaxTimeout) {
  EXPECT_EQ(MacV2(kKey, kCidV2, Timeout("86400"), "qvm-ls --running\nxl info\n"),
            "53f418b6f6f2132e6bd2634f5e47293be5acb14f721db9b49bbde344a64306e0");
}

TEST(TokenV2, ExtraFieldsSortedBytewise) {
  std::map<std::string, std::string> f = {{"zeta", "1"},   {"timeout", "60"}, {"alpha", "2"},
                                          {"kind", "cmd"}, {"a_b", "y"},      {"ab", "w"},
                                          {"a-b", "x"},    {"Z", "z"}};
  const std::string expected_msg = "qvm-remote-v2\ncid=" + kCidV2 +
                                   "\ntimeout=60\nZ=z\na-b=x\na_b=y\nab=w\nalpha=2\nkind=cmd\n"
                                   "zeta=1\nbody-sha256=" +
                                   kSha256EchoHi + "\n";
  EXPECT_EQ(MacMessageV2(kCidV2, f, kSha256EchoHi), expected_msg);
  EXPECT_EQ(MacV2(kKey, kCidV2, f, "echo hi"),
            "849b69002c9bcb5ef9b8efd83baeebe606ab822f8d1651a18cf4e5387e26b562");
  EXPECT_EQ(FormatAuthV2(f, "m"),
            "v=2 timeout=60 Z=z a-b=x a_b=y ab=w alpha=2 kind=cmd zeta=1 m"
            "ac=m\n");
}

TEST(TokenV2, VAndMacNeverInMessage) {
  std::map<std::string, std::string> f = {{"timeout", "60"}, {"v", "2"}, {"mac", kMacHex}};
  EXPECT_EQ(MacMessageV2(kCidV2, f, kSha256EchoHi),
            MacMessageV2(kCidV2, Timeout("60"), kSha256EchoHi));
  EXPECT_EQ(MacV2(kKey, kCidV2, f, "echo hi"), kMacHex);
}

TEST(TokenV2, MacChangesWithEveryInput) {
  const std::string base = MacV2(kKey, kCidV2, Timeout("60"), "echo hi");
  ASSERT_EQ(base, kMacHex);
  // body
  EXPECT_NE(MacV2(kKey, kCidV2, Timeout("60"), "echo ho"), base);
  EXPECT_NE(MacV2(kKey, kCidV2, Timeout("60"), "echo hi\n"), base);
  EXPECT_NE(MacV2(kKey, kCidV2, Timeout("60"), ""), base);
  // timeout
  EXPECT_NE(MacV2(kKey, kCidV2, Timeout("61"), "echo hi"), base);
  EXPECT_NE(MacV2(kKey, kCidV2, Timeout("6"), "echo hi"), base);
  // cid
  EXPECT_NE(MacV2(kKey, "20261123-004500-123-0123456789abcdee", Timeout("60"), "echo hi"), base);
  EXPECT_NE(MacV2(kKey, "20261123-004500-124-0123456789abcdef", Timeout("60"), "echo hi"), base);
  // kind
  EXPECT_NE(MacV2(kKey, kCidV2, {{"timeout", "60"}, {"kind", "ping"}}, "echo hi"), base);
  EXPECT_NE(MacV2(kKey, kCidV2, {{"timeout", "60"}, {"kind", "cmd"}}, "echo hi"),
            MacV2(kKey, kCidV2, {{"timeout", "60"}, {"kind", "ping"}}, "echo hi"));
  // key
  EXPECT_NE(MacV2(std::string(64, '0'), kCidV2, Timeout("60"), "echo hi"), base);
  // v2 is not v1
  EXPECT_NE(base, TokenV1(kKey, kCidV2));
}

TEST(TokenV2, FieldBoundariesCannotBeShifted) {
  // Moving bytes between the timeout and an extra field must change the message.
  EXPECT_NE(MacV2(kKey, kCidV2, {{"timeout", "60"}, {"kind", "cmd"}}, "echo hi"),
            MacV2(kKey, kCidV2, {{"timeout", "60"}, {"kin", "dcmd"}}, "echo hi"));
}

// ---------------------------------------------------------------------------------------------
// Cid shapes

TEST(TokenCid, ValidShapes) {
  EXPECT_EQ(ClassifyCid(kCidV2), CidShape::kV2);
  EXPECT_EQ(ClassifyCid("20261123-004500-1-0123456789abcdef"), CidShape::kV2);
  EXPECT_EQ(ClassifyCid("20261123-004500-4294967295-0123456789abcdef"), CidShape::kV2);
  EXPECT_EQ(ClassifyCid("20260218-135855-12345-deadbeef"), CidShape::kV1);
  EXPECT_EQ(ClassifyCid("20261122-235221-15793-ca8cb05b"), CidShape::kV1);
  EXPECT_EQ(ClassifyCid("ping-1771419535000000000-4242"), CidShape::kV1Ping);
  EXPECT_EQ(ClassifyCid("ping-1795391551806218496-17323"), CidShape::kV1Ping);
  EXPECT_EQ(ClassifyCid("ping-1-2"), CidShape::kV1Ping);
  EXPECT_EQ(ClassifyCid("ping-" + std::string(20, '9') + "-" + std::string(20, '9')),
            CidShape::kV1Ping);
}

TEST(TokenCid, InvalidShapes) {
  const std::string bad[] = {
      "",
      "cmd-001",
      "x'$(touch X)'y",
      "20261123-004500-123-0123456789abcdef'$(touch X)'",
      "../x",
      "../20261123-004500-123-0123456789abcdef",
      "20261123-004500-123-0123456789abcdef/..",
      "pending/20261123-004500-123-0123456789abcdef",
      kCidV2 + "\n",
      kCidV2 + ".auth",
      kCidV2 + ".cmd",
      " " + kCidV2,
      kCidV2 + " ",
      "20261123-004500-123-0123456789ABCDEF",          // upper-case hex
      "20261123-004500-123-0123456789abcdeF",          // one upper-case hex digit
      "20260218-135855-12345-DEADBEEF",                // v1 upper-case
      "20261123-004500-123-0123456789abcdef0",         // 17 hex
      "20261123-004500-123-0123456789abcde",           // 15 hex
      "20261123-004500-123-deadbee",                   // 7 hex
      "20261123-004500-123-deadbeef0",                 // 9 hex
      "20261123-004500-123-0123456789abcdeg",          // not hex
      "2026112-004500-123-0123456789abcdef",           // 7-digit date
      "202611230-004500-123-0123456789abcdef",         // 9-digit date
      "20261123-00450-123-0123456789abcdef",           // 5-digit time
      "20261123-0045000-123-0123456789abcdef",         // 7-digit time
      "20261123-004500--0123456789abcdef",             // empty pid
      "20261123-004500-12345678901-0123456789abcdef",  // 11-digit pid
      "20261123-004500-12a-0123456789abcdef",          // non-digit pid
      "20261123_004500-123-0123456789abcdef",
      "20261123-004500-123-0123456789abcdef-1",
      "2026-11-23-004500-123-0123456789abcdef",
      "ping-1-2\n",
      "ping--2",
      "ping-1-",
      "ping-1",
      "ping-",
      "ping-a-2",
      "ping-1-2-3",
      "PING-1-2",
      "ping-" + std::string(21, '1') + "-2",
      "ping-1-" + std::string(21, '1'),
      "xping-1-2",
      ".",
      "..",
      std::string("20261123-004500-123-0123456789abcdef\0", 37),
      std::string(
          "20261123-004500-123-\x00\x31\x32\x33\x34\x35\x36\x37\x38\x39\x61\x62\x63\x64\x65\x66",
          36),
  };
  for (const std::string& cid : bad) {
    EXPECT_EQ(ClassifyCid(cid), CidShape::kInvalid) << "cid: " << cid;
  }
}

TEST(TokenCid, MatchesVersion) {
  EXPECT_TRUE(CidMatchesVersion(CidShape::kV2, 2));
  EXPECT_FALSE(CidMatchesVersion(CidShape::kV2, 1));
  EXPECT_TRUE(CidMatchesVersion(CidShape::kV1, 1));
  EXPECT_TRUE(CidMatchesVersion(CidShape::kV1Ping, 1));
  EXPECT_FALSE(CidMatchesVersion(CidShape::kV1, 2));
  EXPECT_FALSE(CidMatchesVersion(CidShape::kV1Ping, 2));
  EXPECT_FALSE(CidMatchesVersion(CidShape::kInvalid, 1));
  EXPECT_FALSE(CidMatchesVersion(CidShape::kInvalid, 2));
  EXPECT_FALSE(CidMatchesVersion(CidShape::kV2, 3));
}

// ---------------------------------------------------------------------------------------------
// .auth parsing: accepted forms

TEST(TokenAuthParse, V2Minimal) {
  for (const std::string& text :
       {"v=2 timeout=60 mac=" + kMacHex, "v=2 timeout=60 mac=" + kMacHex + "\n"}) {
    auto r = ParseAuthFile(text);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->version, 2);
    EXPECT_EQ(r->mac, kMacHex);
    EXPECT_EQ(r->timeout_seconds, 60u);
    EXPECT_FALSE(r->ping);
    EXPECT_EQ(r->fields, Timeout("60"));
    // What was parsed authenticates the design vector.
    EXPECT_EQ(MacV2(kKey, kCidV2, r->fields, "echo hi"), r->mac);
  }
}

TEST(TokenAuthParse, V2KindAndOrder) {
  auto r = ParseAuthFile("v=2 timeout=10 kind=ping mac=" + kMacHex);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->ping);
  EXPECT_EQ(r->timeout_seconds, 10u);
  EXPECT_EQ(r->fields, (std::map<std::string, std::string>{{"timeout", "10"}, {"kind", "ping"}}));

  // Middle fields may come in any order.
  auto r2 = ParseAuthFile("v=2 kind=cmd timeout=1 mac=" + kMacHex);
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_FALSE(r2->ping);
  EXPECT_EQ(r2->timeout_seconds, 1u);
  EXPECT_EQ(r2->fields.at("kind"), "cmd");
}

TEST(TokenAuthParse, TimeoutBounds) {
  auto lo = ParseAuthFile("v=2 timeout=1 mac=" + kMacHex);
  ASSERT_TRUE(lo.ok());
  EXPECT_EQ(lo->timeout_seconds, 1u);
  auto hi = ParseAuthFile("v=2 timeout=86400 mac=" + kMacHex);
  ASSERT_TRUE(hi.ok());
  EXPECT_EQ(hi->timeout_seconds, 86400u);
}

TEST(TokenAuthParse, RoundTripsFormatAuthV2) {
  std::map<std::string, std::string> f = {{"timeout", "300"}, {"kind", "ping"}};
  std::string mac = MacV2(kKey, kCidV2, f, "");
  auto r = ParseAuthFile(FormatAuthV2(f, mac));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->fields, f);
  EXPECT_EQ(r->mac, mac);
}

TEST(TokenAuthParse, V1) {
  const std::string tok = "2f483b9cbf75c7222fe15e45f54d97cb02d8b9f222ea556f78458019c59f9f72";
  for (const std::string& text : {tok, tok + "\n"}) {
    auto r = ParseAuthFile(text);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->version, 1);
    EXPECT_EQ(r->mac, tok);
    EXPECT_TRUE(r->fields.empty());
    EXPECT_EQ(r->timeout_seconds, 0u);
    EXPECT_FALSE(r->ping);
  }
}

// ---------------------------------------------------------------------------------------------
// .auth parsing: everything else is malformed-auth

struct BadAuth {
  const char* name;
  std::string text;
  const char* message_part;  // a word the error message must contain ("" = any)
};

class TokenAuthMalformed : public ::testing::TestWithParam<BadAuth> {};

TEST_P(TokenAuthMalformed, Rejected) {
  const BadAuth& c = GetParam();
  auto r = ParseAuthFile(c.text);
  ASSERT_FALSE(r.ok()) << "accepted: " << c.text;
  EXPECT_EQ(r.error().code, "malformed-auth");
  EXPECT_FALSE(r.error().message.empty());
  EXPECT_THAT(r.error().message, HasSubstr(c.message_part));
}

const std::string kM = " mac=" + kMacHex;
const std::string kV1 = "2f483b9cbf75c7222fe15e45f54d97cb02d8b9f222ea556f78458019c59f9f72";
std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    All, TokenAuthMalformed,
    ::testing::Values(
        BadAuth{"Empty", "", "empty"}, BadAuth{"OnlyNewline", "\n", ""},
        BadAuth{"TwoNewlines", "v=2 timeout=60" + kM + "\n\n", "line"},
        BadAuth{"NewlineInside", "v=2 timeout=60\n" + kM.substr(1), "line"},
        BadAuth{"LeadingNewline", "\nv=2 timeout=60" + kM, "line"},
        BadAuth{"Crlf", "v=2 timeout=60" + kM + "\r\n", "carriage return"},
        BadAuth{"CrOnly", "v=2 timeout=60" + kM + "\r", "carriage return"},
        BadAuth{"Nul", std::string("v=2 timeout=60") + kM + std::string(1, '\0'), "NUL"},
        BadAuth{"NulInside", std::string("v=2 timeout=6\0", 14) + "0" + kM, "NUL"},
        BadAuth{"Tab", "v=2\ttimeout=60" + kM, "printable"},
        BadAuth{"NonAscii", "v=2 timeout=60" + kM + "\xc3\xa9", "printable"},
        BadAuth{"TooLong", "v=2 timeout=60" + kM + std::string(5000, 'a'), "4096"},
        BadAuth{"LeadingSpace", " v=2 timeout=60" + kM, "leading space"},
        BadAuth{"TrailingSpace", "v=2 timeout=60" + kM + " ", "trailing space"},
        BadAuth{"TrailingSpaceBeforeNewline", "v=2 timeout=60" + kM + " \n", "trailing space"},
        BadAuth{"DoubleSpace", "v=2  timeout=60" + kM, "single space"},
        BadAuth{"DoubleSpaceBeforeMac", "v=2 timeout=60 " + kM, "single space"},
        BadAuth{"UnknownKey", "v=2 timeout=60 foo=bar" + kM, "unknown key"},
        BadAuth{"UnknownKeyBody", "v=2 timeout=60 body-sha256=" + kSha256EchoHi + kM,
                "unknown key"},
        BadAuth{"UnknownKeyCid", "v=2 timeout=60 cid=" + kCidV2 + kM, "unknown key"},
        BadAuth{"UpperCaseKey", "v=2 TIMEOUT=60" + kM, "unknown key"},
        BadAuth{"UpperCaseV", "V=2 timeout=60" + kM, "first"},
        BadAuth{"UpperCaseMacKey", "v=2 timeout=60 MAC=" + kMacHex, "last"},
        BadAuth{"UpperCaseMacHex", "v=2 timeout=60 mac=" + Upper(kMacHex), "lowercase"},
        BadAuth{"OneUpperMacHex", "v=2 timeout=60 mac=" + kMacHex.substr(0, 63) + "A", "lowercase"},
        BadAuth{"ShortMac", "v=2 timeout=60 mac=" + kMacHex.substr(1), "64"},
        BadAuth{"LongMac", "v=2 timeout=60 mac=" + kMacHex + "0", "64"},
        BadAuth{"EmptyMac", "v=2 timeout=60 mac=", "64"},
        BadAuth{"NonHexMac", "v=2 timeout=60 mac=" + kMacHex.substr(0, 63) + "g", "hex"},
        BadAuth{"DuplicateTimeout", "v=2 timeout=60 timeout=60" + kM, "repeated"},
        BadAuth{"DuplicateTimeoutDiffering", "v=2 timeout=60 timeout=61" + kM, "repeated"},
        BadAuth{"DuplicateKind", "v=2 timeout=60 kind=cmd kind=cmd" + kM, "repeated"},
        BadAuth{"DuplicateV", "v=2 v=2 timeout=60" + kM, "repeated"},
        BadAuth{"DuplicateMac", "v=2 timeout=60" + kM + kM, "repeated"},
        BadAuth{"MissingTimeout", "v=2" + kM, "timeout"},
        BadAuth{"MissingTimeoutWithKind", "v=2 kind=cmd" + kM, "timeout"},
        BadAuth{"TimeoutZero", "v=2 timeout=0" + kM, "timeout"},
        BadAuth{"Timeout86401", "v=2 timeout=86401" + kM, "timeout"},
        BadAuth{"TimeoutHuge", "v=2 timeout=4294967297" + kM, "timeout"},
        BadAuth{"TimeoutLeadingZero", "v=2 timeout=060" + kM, "timeout"},
        BadAuth{"TimeoutDoubleZero", "v=2 timeout=00" + kM, "timeout"},
        BadAuth{"TimeoutNonDigit", "v=2 timeout=6x" + kM, "timeout"},
        BadAuth{"TimeoutSuffix", "v=2 timeout=60s" + kM, "timeout"},
        BadAuth{"TimeoutSign", "v=2 timeout=+60" + kM, "timeout"},
        BadAuth{"TimeoutNegative", "v=2 timeout=-1" + kM, "timeout"},
        BadAuth{"TimeoutEmpty", "v=2 timeout=" + kM, "timeout"},
        BadAuth{"TimeoutHex", "v=2 timeout=0x3c" + kM, "timeout"},
        BadAuth{"KindUnknown", "v=2 timeout=60 kind=shell" + kM, "kind"},
        BadAuth{"KindUpper", "v=2 timeout=60 kind=PING" + kM, "kind"},
        BadAuth{"KindEmpty", "v=2 timeout=60 kind=" + kM, "kind"},
        BadAuth{"MacNotLast", "v=2" + kM + " timeout=60", "last"},
        BadAuth{"MacMissing", "v=2 timeout=60", "last"},
        BadAuth{"VNotFirst", "timeout=60 v=2" + kM, "first"},
        BadAuth{"VMissing", "timeout=60" + kM, "first"},
        BadAuth{"V3", "v=3 timeout=60" + kM, "version"},
        BadAuth{"V1Explicit", "v=1 timeout=60" + kM, "version"},
        BadAuth{"V02", "v=02 timeout=60" + kM, "version"},
        BadAuth{"VEmpty", "v= timeout=60" + kM, "version"}, BadAuth{"VOnly", "v=2", "last"},
        BadAuth{"FieldWithoutEquals", "v=2 timeout=60 ping" + kM, "'='"},
        BadAuth{"EmptyKey", "v=2 timeout=60 =x" + kM, "empty key"},
        BadAuth{"V1UpperHex", Upper(kV1), "lowercase"},
        BadAuth{"V1OneUpper", kV1.substr(0, 63) + "F", "lowercase"},
        BadAuth{"V1UpperHexNewline", Upper(kV1) + "\n", "lowercase"},
        BadAuth{"V1TwoNewlines", kV1 + "\n\n", "line"},
        BadAuth{"V1Crlf", kV1 + "\r\n", "carriage return"}, BadAuth{"V1Short", kV1.substr(1), "64"},
        BadAuth{"V1Long", kV1 + "0", "64"}, BadAuth{"V1LeadingSpace", " " + kV1, ""},
        BadAuth{"V1TrailingSpace", kV1 + " ", ""},
        BadAuth{"V1NonHex", kV1.substr(0, 63) + "g", "hex"},
        BadAuth{"V1TwoTokens", kV1 + " " + kV1, ""},
        BadAuth{"V1Nul", kV1 + std::string(1, '\0'), "NUL"}),
    [](const ::testing::TestParamInfo<BadAuth>& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// VerifyAuth

TEST(TokenVerify, V2DesignVectorAuthenticates) {
  auto a = ParseAuthFile("v=2 timeout=60 mac=" + kMacHex + "\n");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(VerifyAuth(kKey, kCidV2, *a, "echo hi").ok());
}

TEST(TokenVerify, V2RejectsSwappedBodyCidKeyAndTimeout) {
  auto a = ParseAuthFile("v=2 timeout=60 mac=" + kMacHex);
  ASSERT_TRUE(a.ok());
  auto swapped = VerifyAuth(kKey, kCidV2, *a, "rm -rf /");
  ASSERT_FALSE(swapped.ok());
  EXPECT_EQ(swapped.error().code, "auth");
  EXPECT_EQ(VerifyAuth(kKey, "20261123-004500-123-0123456789abcdee", *a, "echo hi").error().code,
            "auth");
  EXPECT_EQ(VerifyAuth(std::string(64, '0'), kCidV2, *a, "echo hi").error().code, "auth");
  auto t = ParseAuthFile("v=2 timeout=61 mac=" + kMacHex);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(VerifyAuth(kKey, kCidV2, *t, "echo hi").error().code, "auth");
  auto k = ParseAuthFile("v=2 timeout=60 kind=cmd mac=" + kMacHex);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(VerifyAuth(kKey, kCidV2, *k, "echo hi").error().code, "auth");
}

TEST(TokenVerify, V1) {
  const std::string cid = "20260218-135855-12345-deadbeef";
  auto a = ParseAuthFile("2f483b9cbf75c7222fe15e45f54d97cb02d8b9f222ea556f78458019c59f9f72\n");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(VerifyAuth(kKey, cid, *a, "anything").ok());  // v1 does not cover the body
  EXPECT_EQ(VerifyAuth(kKey, "20260218-135855-12345-deadbeee", *a, "").error().code, "auth");

  auto p = ParseAuthFile("dfb3f4321e9607fb452f87fd9531c3c09d26a0ca9da8b381431da9c347dc4957");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(VerifyAuth(kKey, "ping-1771419535000000000-4242", *p, "true\n").ok());
}

TEST(TokenVerify, ShapeMustMatchVersion) {
  // A valid v1 token for a v2-shaped cid is refused as malformed, not accepted.
  auto v1 = ParseAuthFile(TokenV1(kKey, kCidV2));
  ASSERT_TRUE(v1.ok());
  auto r = VerifyAuth(kKey, kCidV2, *v1, "echo hi");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "malformed");

  // A correct v2 MAC for a v1-shaped cid: refused too.
  const std::string v1cid = "20260218-135855-12345-deadbeef";
  auto v2 = ParseAuthFile(FormatAuthV2(Timeout("60"), MacV2(kKey, v1cid, Timeout("60"), "x")));
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(VerifyAuth(kKey, v1cid, *v2, "x").error().code, "malformed");

  // Injection-shaped cids never authenticate, whatever the token.
  const std::string evil = "x'$(touch X)'y";
  auto e = ParseAuthFile(TokenV1(kKey, evil));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(VerifyAuth(kKey, evil, *e, "").error().code, "malformed");
}

TEST(TokenVerify, ChecksTheShapeBeforeTheKeyAsTheValidationTableDoes) {
  // A v1 token on a v2 cid with no valid key: malformed (step 5), not auth (step 7).
  auto v1 = ParseAuthFile(TokenV1(kKey, kCidV2));
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(VerifyAuth("", kCidV2, *v1, "echo hi").error().code, "malformed");
}

TEST(TokenVerify, BadKeyNeverAuthenticates) {
  std::string upper = Upper(kKey);
  auto a = ParseAuthFile(FormatAuthV2(Timeout("60"), MacV2(upper, kCidV2, Timeout("60"), "x")));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(VerifyAuth(upper, kCidV2, *a, "x").error().code, "auth");
  auto empty = ParseAuthFile(FormatAuthV2(Timeout("60"), MacV2("", kCidV2, Timeout("60"), "x")));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(VerifyAuth("", kCidV2, *empty, "x").error().code, "auth");
}

}  // namespace
}  // namespace qvmr
