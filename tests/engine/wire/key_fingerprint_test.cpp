// Tests for engine/wire/key_fingerprint.h. The fingerprints were computed independently:
//   printf %s KEY | sha256sum | cut -c1-16
#include "engine/wire/key_fingerprint.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/wire/token.h"

namespace qvmr {
namespace {

const std::string kKey = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

TEST(KeyFingerprint, IsTheFirst16HexOfSha256OverTheKeysAsciiText) {
  EXPECT_EQ(KeyFingerprint(kKey), "aa23e893b52d03b0");
  EXPECT_EQ(KeyFingerprint(std::string(64, '0')), "60e05bd1b195af2f");
}

TEST(ParseKeyText, AcceptsTheKeyAloneOrWithOneTrailingNewline) {
  auto bare = ParseKeyText(kKey);
  ASSERT_TRUE(bare.ok()) << bare.error().message;
  EXPECT_EQ(*bare, kKey);
  auto line = ParseKeyText(kKey + "\n");
  ASSERT_TRUE(line.ok()) << line.error().message;
  EXPECT_EQ(*line, kKey);
}

TEST(ParseKeyText, LowercasesUpperCaseHexSoBothSidesMacWithTheSameBytes) {
  std::string upper = "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789";
  auto parsed = ParseKeyText(upper + "\n");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, kKey);
  EXPECT_TRUE(IsValidKey(*parsed));
}

TEST(ParseKeyText, SaysCrlfWhenAKeyWasSavedWithWindowsLineEndings) {
  auto parsed = ParseKeyText(kKey + "\r\n");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("\\r\\n"), std::string::npos) << parsed.error().message;
}

TEST(ParseKeyText, RefusesEverythingElse) {
  const struct {
    const char* why;
    std::string text;
  } kCases[] = {
      {"empty", ""},
      {"a newline only", "\n"},
      {"63 digits", kKey.substr(1)},
      {"65 digits", kKey + "a"},
      {"CRLF", kKey + "\r\n"},
      {"CR", kKey + "\r"},
      {"two newlines", kKey + "\n\n"},
      {"a leading space", " " + kKey},
      {"a trailing space", kKey + " "},
      {"a non-hex digit", kKey.substr(0, 63) + "g"},
      {"a NUL", kKey.substr(0, 63) + std::string(1, '\0')},
      {"a newline inside", kKey.substr(0, 32) + "\n" + kKey.substr(32)},
      {"two keys", kKey + "\n" + kKey + "\n"},
  };
  for (const auto& c : kCases) {
    auto parsed = ParseKeyText(c.text);
    ASSERT_FALSE(parsed.ok()) << c.why;
    EXPECT_EQ(parsed.error().code, "bad-key") << c.why;
    EXPECT_EQ(parsed.error().message.find(kKey.substr(0, 8)), std::string::npos)
        << c.why << ": the message must not quote the key";
  }
}

}  // namespace
}  // namespace qvmr
