// The policy model: what the loader builds from the YAML files and the decision reads. Every
// rule, pattern and setting keeps the position it was written at, so every decision and every
// error can say which file and line made it. docs/policy-reference.md is the specification.
//
// Thread safety and lifetime: a Policy is built once by LoadPolicy (policy_loader.h) and is
// immutable afterwards; share it as `std::shared_ptr<const Policy>`. Any number of threads may
// read one Policy (Evaluate, FindVm, ...) at once without locking. A reload builds a new Policy
// and swaps the pointer; the old one lives while a decision still holds it. Rules, the index
// (`rules_by_program` points into `rules`) and Decisions (engine/decide/decision.h) point into
// their Policy: moving a Policy keeps them valid (a moved std::vector or std::map keeps its
// elements where they are); a copy would point into the original, so never copy one.
#ifndef QVMR_ENGINE_POLICY_POLICY_H_
#define QVMR_ENGINE_POLICY_POLICY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/base/level.h"
#include "engine/base/result.h"
#include "engine/policy/blocklist.h"
#include "engine/policy/option_table.h"
#include "engine/policy/rule.h"
#include "engine/policy/targets.h"

namespace qvmr {

// A value and where it was set (for scalars that later files may override).
template <typename T>
struct Setting {
  T value{};
  SourcePos pos;  // line 0: the built-in default
};

struct Defaults {
  Setting<Level> level{Level::kDeny, {}};
  Setting<std::int64_t> timeout_seconds{300, {}};
  Setting<std::uint64_t> max_output_bytes{10u << 20, {}};
  Setting<std::vector<std::string>> protected_vms{DefaultProtectedVms(), {}};
  Setting<std::int64_t> max_dev_duration_seconds{7200, {}};
  bool protected_set = false;  // a file gave `protected` (then its lists replace the built-in)
};

enum class TransportKind { kPoll, kWatch, kLocal };

struct VmPolicy {
  std::string name;
  SourcePos pos;
  std::optional<Setting<Level>> level;
  std::vector<Rule> allow;
  std::optional<std::vector<std::string>> targets;  // names and `*` patterns (targets.h)
  SourcePos targets_pos;
  std::vector<SourcePos> target_item_pos;  // one per entry of `targets`, for lint
  std::optional<Setting<Level>> max_dev_mode;
  std::optional<Setting<std::int64_t>> max_dev_duration_seconds;
  std::optional<Setting<std::int64_t>> timeout_seconds;
  std::optional<Setting<std::uint64_t>> max_output_bytes;
  Setting<bool> accept_v1{false, {}};
  std::optional<Setting<TransportKind>> transport;
};

struct PolicyTest {
  std::string vm;
  std::string cmd;
  bool expect_allow = false;
  std::optional<std::string> rule;    // text of the expected rule
  std::optional<std::string> reason;  // expected deny reason code
  std::optional<Level> level;         // expected effective level
  std::optional<std::string> at;      // ISO 8601 UTC
  SourcePos pos;
};

// A non-fatal finding of the loader (scalar overridden, ...), for `lint`.
struct Diagnostic {
  SourcePos pos;
  std::string message;
  std::string ToString() const { return pos.ToString() + ": warning: " + message; }
};

// One class rule in the per-program index: its level and the counts RuleMatches checks first,
// stored contiguously so a decision skips most rules of a program without touching the rules
// themselves (a policy may hold hundreds of rules for one program).
struct RuleIndexEntry {
  const Rule* rule = nullptr;
  Level level = Level::kReadOnly;
  std::uint32_t min_operands = 0;
  std::uint32_t max_operands = 0;  // UINT32_MAX: unbounded
  std::uint32_t required_options = 0;
  std::uint32_t max_options = 0;  // UINT32_MAX: an option item repeats

  explicit RuleIndexEntry(const Rule& r);
  // False if the rule cannot match an argv with this many operands and options.
  bool Admits(std::size_t operands, std::size_t options) const {
    return operands >= min_operands && operands <= max_operands && options >= required_options &&
           options <= max_options;
  }
};

struct Policy {
  std::map<std::string, CommandTable> commands;
  std::vector<Rule> rules;  // every class rule, in class order (read-only, monitor, manage)
  Blocklist blocklist;
  Defaults defaults;
  std::map<std::string, VmPolicy> vms;
  std::vector<PolicyTest> tests;

  std::vector<std::string> files;  // loaded, in order
  // SHA-256 hex over the loaded files in load order (PolicyRevision, policy_loader.h): names the
  // policy state a decision was made with, in `.meta policy=`, the audit line and STATUS=.
  std::string revision;
  std::vector<Diagnostic> warnings;

  // Class rules by program, in the order of `rules` (the decision's index).
  std::unordered_map<std::string, std::vector<RuleIndexEntry>> rules_by_program;

  const VmPolicy* FindVm(const std::string& name) const {
    auto it = vms.find(name);
    return it == vms.end() ? nullptr : &it->second;
  }
  Level BaseLevel(const std::string& vm) const;
  std::int64_t TimeoutSeconds(const std::string& vm) const;
  std::uint64_t MaxOutputBytes(const std::string& vm) const;
  std::int64_t MaxDevDurationSeconds(const std::string& vm) const;
};

}  // namespace qvmr

#endif  // QVMR_ENGINE_POLICY_POLICY_H_
