#include "daemon/text_log.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace qvmr {
namespace {

TEST(TextLog, FormatsCategoryAndFieldsLeavingEmptyOnesOut) {
  EXPECT_EQ(
      TextLog::Format(LogCategory::kDenied,
                      {.vm = "work", .id = "c1", .outcome = "denied", .reason = "no-rule"}, {}),
      "DENIED vm=work id=c1 outcome=denied reason=no-rule");
  EXPECT_EQ(TextLog::Format(LogCategory::kAuthFail, {.vm = "work"}, "3 names removed"),
            "AUTH-FAIL vm=work 3 names removed");
}

TEST(TextLog, EscapesBytesThatCouldForgeALineOrSplitAField) {
  std::string line = TextLog::Format(LogCategory::kReject, {.id = "a\nDONE vm=x\x1b[2J b"}, {});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_EQ(line, "REJECT id=a\\x0aDONE\\x20vm=x\\x1b[2J\\x20b");
}

TEST(TextLog, AppendsLinesToItsFile) {
  std::string dir = ::testing::TempDir() + "/text_log_test";
  std::string path = dir + "/sub/qvm-remote.log";
  std::remove(path.c_str());
  {
    auto log = TextLog::Open(path, false);
    ASSERT_TRUE(log) << log.error().ToString();
    (*log)->Write(LogCategory::kDone, {.vm = "work", .outcome = "ok"});
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("Z DONE vm=work outcome=ok\n"), std::string::npos) << text.str();
}

}  // namespace
}  // namespace qvmr
