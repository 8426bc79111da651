// Reading one policy file's YAML into a draft that collects all files before compiling (rules
// need every file's option tables). Internal to the loader; see policy_loader.h.
#ifndef QVMR_ENGINE_POLICY_POLICY_YAML_H_
#define QVMR_ENGINE_POLICY_POLICY_YAML_H_

#include <map>
#include <string>
#include <vector>

#include "engine/policy/policy.h"

namespace qvmr {

struct RawRule {
  std::string text;
  SourcePos pos;
  int column_offset = 0;  // where the rule text starts relative to pos.column (quotes)
  bool filter = false;
  std::string origin;
  Level level = Level::kReadOnly;
  VmScope vm_scope = VmScope::kAnyVm;
};

struct PolicyDraft {
  Policy policy;                     // everything except compiled rules and the blocklist
  std::vector<RawRule> class_rules;  // in file order; sorted into class order when compiled
  std::map<std::string, std::vector<RawRule>> vm_rules;
  std::vector<BlockedPattern> blocked;
};

// Applies one file: maps merge, lists append, a later scalar wins (with a warning).
Status ApplyPolicyFile(PolicyDraft& draft, const std::string& file, const std::string& text);

}  // namespace qvmr

#endif  // QVMR_ENGINE_POLICY_POLICY_YAML_H_
