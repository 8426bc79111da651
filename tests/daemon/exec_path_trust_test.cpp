// TrustedExecPath: remote.conf's exec path with every directory another user could write left out.
#include "daemon/exec_path_trust.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/daemon_temp_dir.h"

namespace qvmr {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

TEST(TrustedExecPath, DropsAndLogsAGroupOrWorldWritableDirectoryAndKeepsTheRestInOrder) {
  TempDir tmp;
  std::string good = tmp.MakeDir("good"), open = tmp.MakeDir("open"), also = tmp.MakeDir("also");
  ::chmod(good.c_str(), 0755);
  ::chmod(also.c_str(), 0755);
  ::chmod(open.c_str(), 0777);
  std::string missing_ok = tmp.Sub("missing");
  std::string missing_under_open = open + "/later";
  auto log = TextLog::Open(tmp.Sub("log"), false);
  ASSERT_TRUE(log);
  ExecPath path =
      TrustedExecPath(*Env::Posix(), {good, open, missing_under_open, also, missing_ok}, **log);
  EXPECT_THAT(path.directories(), ElementsAre(good, also, missing_ok));
  log->reset();
  std::string text = testing::ReadWholeFile(tmp.Sub("log"));
  EXPECT_THAT(text, HasSubstr("QVM_REMOTE_EXEC_PATH directory dropped"));
  EXPECT_THAT(text, HasSubstr(open));
}

}  // namespace
}  // namespace qvmr
