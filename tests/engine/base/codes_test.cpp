// engine/base/codes.h against docs/protocol.md: the "Outcomes" and "Reason codes" tables list
// exactly the enums' names (both directions), and names round-trip through the enums.
#include "engine/base/codes.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace qvmr {
namespace {

std::string ReadProtocolDoc() {
  std::ifstream in(std::string(QVMR_SOURCE_DIR) + "/docs/protocol.md");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The backticked first column of every row of the first table under `heading` (a line of its
// own), up to the first line that is not a table row.
std::set<std::string> FirstColumnCodes(const std::string& doc, const std::string& heading) {
  std::set<std::string> codes;
  std::size_t at = doc.find("\n" + heading + "\n");
  if (at == std::string::npos) return codes;
  std::istringstream lines(doc.substr(at + heading.size() + 2));
  std::string line;
  bool in_table = false;
  while (std::getline(lines, line)) {
    if (line.rfind("|", 0) != 0) {
      if (in_table) break;
      continue;
    }
    in_table = true;
    if (line.rfind("| `", 0) != 0) continue;  // the header and the separator row
    std::size_t end = line.find('`', 3);
    codes.insert(line.substr(3, end - 3));
  }
  return codes;
}

std::set<std::string> AllOutcomeNames() {
  std::set<std::string> names;
  for (Outcome o : {Outcome::kOk, Outcome::kDenied, Outcome::kAuth, Outcome::kMalformed,
                    Outcome::kTimeout, Outcome::kInterrupted, Outcome::kError}) {
    names.insert(std::string(OutcomeName(o)));
  }
  return names;
}

// Every ReasonCode after kNone: the enum is dense and its names are non-empty.
std::set<std::string> AllReasonNames() {
  std::set<std::string> names;
  for (int i = static_cast<int>(ReasonCode::kNone) + 1;; ++i) {
    std::string_view name = ReasonCodeName(static_cast<ReasonCode>(i));
    if (name.empty()) break;
    names.insert(std::string(name));
  }
  return names;
}

TEST(Codes, ProtocolDocListsExactlyTheOutcomes) {
  const std::set<std::string> documented = FirstColumnCodes(ReadProtocolDoc(), "### Outcomes");
  ASSERT_FALSE(documented.empty()) << "docs/protocol.md has no '### Outcomes' table";
  EXPECT_EQ(documented, AllOutcomeNames());
}

TEST(Codes, ProtocolDocListsExactlyTheReasonCodes) {
  const std::set<std::string> documented = FirstColumnCodes(ReadProtocolDoc(), "### Reason codes");
  ASSERT_FALSE(documented.empty()) << "docs/protocol.md has no '### Reason codes' table";
  EXPECT_EQ(documented, AllReasonNames());
  EXPECT_EQ(AllReasonNames().size(), static_cast<std::size_t>(ReasonCode::kNoShellExecutor))
      << "a ReasonCode without a name, or one added after kNoShellExecutor";
}

TEST(Codes, NamesRoundTripThroughTheEnums) {
  for (const std::string& name : AllOutcomeNames()) {
    ASSERT_TRUE(OutcomeFromName(name).has_value()) << name;
    EXPECT_EQ(OutcomeName(*OutcomeFromName(name)), name);
  }
  for (const std::string& name : AllReasonNames()) {
    ASSERT_TRUE(ReasonCodeFromName(name).has_value()) << name;
    EXPECT_EQ(ReasonCodeName(*ReasonCodeFromName(name)), name);
  }
  EXPECT_FALSE(OutcomeFromName("no-answer").has_value());  // client-side only
  EXPECT_FALSE(ReasonCodeFromName("bogus").has_value());
}

TEST(Codes, OutcomeExitStatusIsTheContracts) {
  EXPECT_EQ(OutcomeExitStatus(Outcome::kOk), 0);
  EXPECT_EQ(OutcomeExitStatus(Outcome::kDenied), 126);
  EXPECT_EQ(OutcomeExitStatus(Outcome::kTimeout), 124);
  for (Outcome o : {Outcome::kAuth, Outcome::kMalformed, Outcome::kInterrupted, Outcome::kError}) {
    EXPECT_EQ(OutcomeExitStatus(o), 255) << OutcomeName(o);
  }
}

}  // namespace
}  // namespace qvmr
