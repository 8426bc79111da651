#include "tools/policy/json_out.h"

namespace qvmr::tool {

using nlohmann::json;

json PosJson(const SourcePos& pos) {
  if (pos.file.empty() && pos.line == 0) return nullptr;
  return {{"file", pos.file}, {"line", pos.line}, {"column", pos.column}};
}

json RuleJson(const Rule& rule) {
  return {{"text", rule.text},
          {"at", rule.pos.FileLine()},
          {"pos", PosJson(rule.pos)},
          {"origin", rule.origin},
          {"level", std::string(LevelName(rule.level))},
          {"filter", rule.filter},
          {"program", rule.program},
          {"verb", rule.verb}};
}

}  // namespace qvmr::tool
