// Finding programs only through QVM_REMOTE_EXEC_PATH.
#include "daemon/exec_path.h"

#include "gtest/gtest.h"
#include "tests/support/daemon_temp_dir.h"

namespace qvmr {
namespace {

using Kind = ProgramLookup::Kind;

TEST(ExecPathTest, RelativeAndEmptyEntriesAreDropped) {
  ExecPath path = ExecPath::Parse("::bin:/usr/bin/:./x:/bin:");
  EXPECT_EQ(path.directories(), (std::vector<std::string>{"/usr/bin", "/bin"}));
  EXPECT_EQ(path.Joined(), "/usr/bin:/bin");
  EXPECT_TRUE(ExecPath::Parse("").directories().empty());
}

TEST(ExecPathTest, DefaultIsTheContractList) {
  EXPECT_EQ(ExecPath::Parse(kDefaultExecPath).Joined(), "/usr/local/bin:/usr/bin:/bin");
}

class ExecPathLookupTest : public ::testing::Test {
 protected:
  ExecPathLookupTest() {
    temp_.MakeDir("a");
    temp_.MakeDir("b");
    temp_.MakeDir("b/dir-named");
    temp_.WriteFile("a/plain", "x", 0644);
    temp_.WriteFile("b/plain", "#!/bin/sh\n", 0755);
    temp_.WriteFile("a/only-plain", "x", 0644);
    temp_.WriteFile("a/tool", "#!/bin/sh\n", 0755);
    temp_.WriteFile("b/tool", "#!/bin/sh\n", 0755);
    path_ = ExecPath::Parse(temp_.Sub("a") + ":" + temp_.Sub("b"));
  }
  testing::TempDir temp_;
  ExecPath path_;
};

TEST_F(ExecPathLookupTest, FirstDirectoryWithAnExecutableWins) {
  ProgramLookup tool = path_.Lookup("tool");
  EXPECT_EQ(tool.kind, Kind::kFound);
  EXPECT_EQ(tool.path, temp_.Sub("a/tool"));
  // A non-executable match does not stop the search.
  ProgramLookup plain = path_.Lookup("plain");
  EXPECT_EQ(plain.kind, Kind::kFound);
  EXPECT_EQ(plain.path, temp_.Sub("b/plain"));
}

TEST_F(ExecPathLookupTest, FailuresCarryTheShellStatus) {
  struct Row {
    const char* program;
    Kind kind;
    int status;
  };
  for (const Row& row :
       {Row{"only-plain", Kind::kNotExecutable, 126}, Row{"missing", Kind::kNotFound, 127},
        Row{"dir-named", Kind::kNotFound, 127}, Row{"", Kind::kNotFound, 127},
        Row{"..", Kind::kNotFound, 127}, Row{"a/tool", Kind::kHasSlash, 127},
        Row{"/usr/bin/echo", Kind::kHasSlash, 127}}) {
    ProgramLookup lookup = path_.Lookup(row.program);
    EXPECT_EQ(lookup.kind, row.kind) << row.program;
    EXPECT_EQ(lookup.Status(), row.status) << row.program;
    EXPECT_TRUE(lookup.path.empty()) << row.program;
  }
}

TEST(ProgramLookupTest, ErrLineQuotesTheNameAsOneLine) {
  ProgramLookup missing;
  missing.kind = Kind::kNotFound;
  EXPECT_EQ(missing.ErrLine("frob"),
            "qvm-remote: frob: command not found in QVM_REMOTE_EXEC_PATH\n");
  EXPECT_EQ(missing.ErrLine("a\nb\x1b"),
            "qvm-remote: a\\x0ab\\x1b: command not found in QVM_REMOTE_EXEC_PATH\n");
}

}  // namespace
}  // namespace qvmr
