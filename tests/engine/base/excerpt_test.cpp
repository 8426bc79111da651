#include "engine/base/excerpt.h"

#include <gtest/gtest.h>

namespace qvmr {
namespace {

TEST(ExcerptTest, EscapesControlBytesAndBackslash) {
  EXPECT_EQ(Excerpt("plain text"), "plain text");
  EXPECT_EQ(Excerpt(std::string("a\nb\tc\x7f\x1b", 7)), "a\\x0ab\\x09c\\x7f\\x1b");
  EXPECT_EQ(Excerpt("a\\x0a"), "a\\\\x0a");  // a literal backslash cannot fake an escape
  EXPECT_EQ(Excerpt(std::string("\0", 1)), "\\x00");
  EXPECT_EQ(Excerpt("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 passes
}

TEST(ExcerptTest, Bounds) {
  EXPECT_EQ(Excerpt("abcdef", 3), "abc...");
  EXPECT_EQ(Excerpt("abc", 3), "abc");
  EXPECT_EQ(Excerpt(std::string(100000, 'x')).size(), 123u);
}

}  // namespace
}  // namespace qvmr
