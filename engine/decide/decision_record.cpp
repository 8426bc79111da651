// The decision record. engine/decide/decision_record.h.
#include "engine/decide/decision_record.h"

#include "engine/base/units.h"

namespace qvmr {

using nlohmann::json;

json GrantJson(const Grant& g) {
  return {{"vm", g.vm},
          {"level", std::string(LevelName(g.level))},
          {"expires", FormatTimeMs(g.expires_ms)},
          {"created", FormatTimeMs(g.created_ms)},
          {"by", g.by},
          {"file", g.file}};
}

namespace {

std::string ConnectorName(Connector c) {
  switch (c) {
    case Connector::kAnd:
      return "and";
    case Connector::kOr:
      return "or";
    case Connector::kSeq:
      break;
  }
  return "seq";
}

}  // namespace

json PlanJson(const Plan& plan) {
  json pipelines = json::array();
  for (std::size_t i = 0; i < plan.pipelines.size(); ++i) {
    json stages = json::array();
    for (const SimpleCommand& cmd : plan.pipelines[i].stages) {
      json redirects = json::array();
      for (const Redirect& r : cmd.redirects) {
        redirects.push_back(
            {{"fd", r.fd},
             {"target", r.target == Redirect::Target::kDevNull ? "/dev/null" : "&1"}});
      }
      stages.push_back({{"argv", cmd.argv}, {"redirects", redirects}, {"offset", cmd.offset}});
    }
    Connector c = i < plan.connectors.size() ? plan.connectors[i] : Connector::kSeq;
    pipelines.push_back({{"connector", ConnectorName(c)}, {"stages", stages}});
  }
  json connectors = json::array();
  for (Connector c : plan.connectors) connectors.push_back(ConnectorName(c));
  return {{"pipelines", pipelines}, {"connectors", connectors}};
}

json DecisionRecord(const Decision& d, const DecisionRequest& request) {
  json commands = json::array();
  for (const CommandVerdict& c : d.commands) {
    commands.push_back({{"command", c.normalized},
                        {"rule", c.rule_text},
                        {"at", c.rule_pos},
                        {"origin", c.origin}});
  }
  return {{"decision", d.allow ? "allow" : "deny"},
          {"vm", request.vm},
          {"cmd", request.text},
          {"level", std::string(LevelName(d.level))},
          {"base_level", std::string(LevelName(d.base_level))},
          {"executor", std::string(ExecutorName(d.executor))},
          {"reason_code", d.reason_code},
          {"message", d.message},
          {"rule", d.rule},
          {"offset", d.offset},
          {"grant", d.grant ? GrantJson(*d.grant) : json(nullptr)},
          {"commands", commands},
          {"plan", d.has_plan ? PlanJson(d.plan) : json(nullptr)},
          {"timeout_seconds", d.timeout_seconds},
          {"max_output_bytes", d.max_output_bytes}};
}

std::string DumpJson(const json& value, int indent) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

}  // namespace qvmr
