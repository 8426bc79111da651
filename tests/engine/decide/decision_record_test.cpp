// The decision record (engine/decide/decision_record.h): the fields `check --json` and the audit
// line share, for an allow and a deny, and VM text that is not UTF-8.
#include "engine/decide/decision_record.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "engine/policy/policy_loader.h"
#include "support/fake_env.h"

namespace qvmr {
namespace {

using testing::FakeEnv;

constexpr char kPolicy[] = R"(version: 1
commands:
  qvm-ls:
    options: ['--running']
classes:
  read-only:
    - 'qvm-ls [--running]'
blocked:
  - {pattern: 'rm\s+-rf\s+/', reason: 'wipes dom0'}
vms:
  reader: {level: read-only}
)";

class DecisionRecordTest : public ::testing::Test {
 protected:
  DecisionRecordTest() {
    env.AddFile("/p/00-policy.yaml", kPolicy);
    LoadOptions o;
    o.dirs = {"/p"};
    auto p = LoadPolicy(env, o);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().ToString());
    if (p.ok()) policy = std::move(*p);
  }
  nlohmann::json Record(const std::string& vm, const std::string& text) {
    DecisionRequest request{vm, text};
    return DecisionRecord(Evaluate(policy, GrantSet{}, request, env.now_ms), request);
  }
  FakeEnv env;
  Policy policy;
};

TEST_F(DecisionRecordTest, HasExactlyTheDocumentedFields) {
  const nlohmann::json record = Record("reader", "qvm-ls");
  std::set<std::string> keys;
  for (auto it = record.begin(); it != record.end(); ++it) keys.insert(it.key());
  EXPECT_EQ(keys,
            (std::set<std::string>{"decision", "vm", "cmd", "level", "base_level", "executor",
                                   "reason_code", "message", "rule", "offset", "grant", "commands",
                                   "plan", "timeout_seconds", "max_output_bytes"}));
}

TEST_F(DecisionRecordTest, AnAllowNamesItsRuleAndPlan) {
  nlohmann::json r = Record("reader", "qvm-ls --running");
  EXPECT_EQ(r["decision"], "allow");
  EXPECT_EQ(r["executor"], "argv");
  ASSERT_EQ(r["commands"].size(), 1u);
  EXPECT_EQ(r["commands"][0]["at"], "/p/00-policy.yaml:7");
  EXPECT_EQ(r["plan"]["pipelines"][0]["stages"][0]["argv"][1], "--running");
  EXPECT_TRUE(r["grant"].is_null());
}

TEST_F(DecisionRecordTest, ADenyCarriesItsCodeAndPatternPosition) {
  nlohmann::json r = Record("reader", "rm -rf /");
  EXPECT_EQ(r["decision"], "deny");
  EXPECT_EQ(r["reason_code"], "blocked");
  EXPECT_EQ(r["rule"], "/p/00-policy.yaml:9");
  EXPECT_TRUE(r["plan"].is_null());
}

TEST_F(DecisionRecordTest, TextThatIsNotUtf8DumpsWithoutThrowing) {
  std::string line = DumpJson(Record("reader", "qvm-ls \xff\xfe"));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("\"decision\":\"deny\""), std::string::npos);
}

}  // namespace
}  // namespace qvmr
