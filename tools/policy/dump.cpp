// `dump [--json]`: the merged policy as the engine sees it, every item with its position.
#include <iostream>

#include "engine/base/units.h"
#include "tools/policy/json_out.h"
#include "tools/policy/policy_tool.h"

namespace qvmr::tool {
namespace {

using nlohmann::json;

json OptionSetJson(const OptionSet& set) {
  json options = json::array();
  for (const auto& spec : set.options) options.push_back(OptionSpecText(spec));
  return {{"options", options}, {"permute", set.permute}};
}

template <typename T, typename F>
json SettingJson(const Setting<T>& s, F&& show) {
  return {{"value", show(s.value)}, {"pos", PosJson(s.pos)}};
}

std::string Where(const SourcePos& pos) {
  return pos.line > 0 ? pos.FileLine() : "built-in";
}

std::string TransportName(TransportKind t) {
  switch (t) {
    case TransportKind::kWatch:
      return "watch";
    case TransportKind::kLocal:
      return "local";
    case TransportKind::kPoll:
      break;
  }
  return "poll";
}

json DumpJsonValue(const Policy& p) {
  auto level = [](Level l) { return std::string(LevelName(l)); };
  auto dur = [](std::int64_t s) { return FormatDuration(s); };
  auto same = [](const auto& v) { return v; };
  json j;
  j["files"] = p.files;
  json commands = json::object();
  for (const auto& [name, t] : p.commands) {
    json c = OptionSetJson(t.global);
    c["pos"] = PosJson(t.pos);
    c["operands_only"] = t.operands_only;
    c["abbreviate_verbs"] = t.abbreviate_verbs;
    if (!t.obsolete_number.empty()) c["obsolete_number"] = t.obsolete_number;
    json verbs = json::object();
    for (const auto& [verb, set] : t.verbs) verbs[verb] = OptionSetJson(set);
    c["verbs"] = verbs;
    commands[name] = c;
  }
  j["commands"] = commands;
  json classes = {
      {"read-only", json::array()}, {"monitor", json::array()}, {"manage", json::array()}};
  for (const Rule& r : p.rules) classes[std::string(LevelName(r.level))].push_back(RuleJson(r));
  j["classes"] = classes;
  json blocked = json::array();
  for (const auto& b : p.blocklist.patterns()) {
    blocked.push_back({{"pattern", b.pattern}, {"reason", b.reason}, {"pos", PosJson(b.pos)}});
  }
  j["blocked"] = blocked;
  const Defaults& d = p.defaults;
  j["defaults"] = {{"level", SettingJson(d.level, level)},
                   {"timeout", SettingJson(d.timeout_seconds, dur)},
                   {"max_output", SettingJson(d.max_output_bytes, same)},
                   {"protected", SettingJson(d.protected_vms, same)},
                   {"max_dev_duration", SettingJson(d.max_dev_duration_seconds, dur)}};
  json vms = json::object();
  for (const auto& [name, vm] : p.vms) {
    json v = {{"pos", PosJson(vm.pos)}, {"effective_base_level", level(p.BaseLevel(name))}};
    if (vm.level) v["level"] = SettingJson(*vm.level, level);
    json allow = json::array();
    for (const Rule& r : vm.allow) allow.push_back(RuleJson(r));
    v["allow"] = allow;
    if (vm.targets) v["targets"] = {{"value", *vm.targets}, {"pos", PosJson(vm.targets_pos)}};
    if (vm.max_dev_mode) v["max_dev_mode"] = SettingJson(*vm.max_dev_mode, level);
    if (vm.max_dev_duration_seconds) {
      v["max_dev_duration"] = SettingJson(*vm.max_dev_duration_seconds, dur);
    }
    if (vm.timeout_seconds) v["timeout"] = SettingJson(*vm.timeout_seconds, dur);
    if (vm.max_output_bytes) v["max_output"] = SettingJson(*vm.max_output_bytes, same);
    v["accept_v1"] = SettingJson(vm.accept_v1, same);
    if (vm.transport) v["transport"] = SettingJson(*vm.transport, TransportName);
    vms[name] = v;
  }
  j["vms"] = vms;
  json tests = json::array();
  for (const auto& t : p.tests) {
    json c = {{"vm", t.vm},
              {"cmd", t.cmd},
              {"expect", t.expect_allow ? "allow" : "deny"},
              {"pos", PosJson(t.pos)}};
    if (t.rule) c["rule"] = *t.rule;
    if (t.reason) c["reason"] = *t.reason;
    if (t.level) c["level"] = level(*t.level);
    if (t.at) c["at"] = *t.at;
    tests.push_back(c);
  }
  j["tests"] = tests;
  json warnings = json::array();
  for (const auto& w : p.warnings) warnings.push_back(w.ToString());
  j["warnings"] = warnings;
  return j;
}

void DumpText(const Policy& p) {
  std::cout << "files:\n";
  for (const auto& f : p.files) std::cout << "  " << f << "\n";
  std::cout << "commands:\n";
  auto print_set = [](const OptionSet& set, const std::string& indent) {
    std::cout << indent << "options:";
    for (const auto& spec : set.options) std::cout << " " << OptionSpecText(spec);
    std::cout << (set.permute ? "" : "  (no permutation)") << "\n";
  };
  for (const auto& [name, t] : p.commands) {
    std::cout << "  " << name << " (" << Where(t.pos) << ")"
              << (t.operands_only ? " operands only" : "")
              << (t.abbreviate_verbs ? " abbreviate_verbs" : "")
              << (t.obsolete_number.empty() ? "" : " obsolete_number " + t.obsolete_number) << "\n";
    if (!t.operands_only) print_set(t.global, "    ");
    for (const auto& [verb, set] : t.verbs) {
      std::cout << "    verb " << verb << ":\n";
      print_set(set, "      ");
    }
  }
  for (Level l : {Level::kReadOnly, Level::kMonitor, Level::kManage}) {
    std::cout << "class " << LevelName(l) << ":\n";
    for (const Rule& r : p.rules) {
      if (r.level != l) continue;
      std::cout << "  " << r.pos.FileLine() << ": " << r.text << (r.filter ? "  (filter)" : "")
                << "\n";
    }
  }
  std::cout << "blocked:\n";
  for (const auto& b : p.blocklist.patterns()) {
    std::cout << "  " << b.pos.FileLine() << ": /" << b.pattern << "/ — " << b.reason << "\n";
  }
  const Defaults& d = p.defaults;
  std::string prot;
  for (const auto& v : d.protected_vms.value) prot += (prot.empty() ? "" : ", ") + v;
  std::cout << "defaults:\n"
            << "  level: " << LevelName(d.level.value) << " (" << Where(d.level.pos) << ")\n"
            << "  timeout: " << FormatDuration(d.timeout_seconds.value) << " ("
            << Where(d.timeout_seconds.pos) << ")\n"
            << "  max_output: " << d.max_output_bytes.value << " bytes ("
            << Where(d.max_output_bytes.pos) << ")\n"
            << "  protected: " << prot << " (" << Where(d.protected_vms.pos) << ")\n"
            << "  max_dev_duration: " << FormatDuration(d.max_dev_duration_seconds.value) << " ("
            << Where(d.max_dev_duration_seconds.pos) << ")\n";
  std::cout << "vms:\n";
  for (const auto& [name, vm] : p.vms) {
    std::cout << "  " << name << " (" << Where(vm.pos) << "):\n";
    std::cout << "    level: " << LevelName(p.BaseLevel(name)) << " ("
              << (vm.level ? Where(vm.level->pos) : "defaults") << ")\n";
    if (vm.targets) {
      std::string t;
      for (const auto& v : *vm.targets) t += (t.empty() ? "" : ", ") + v;
      std::cout << "    targets: " << t << " (" << Where(vm.targets_pos) << ")\n";
    }
    if (vm.max_dev_mode) {
      std::cout << "    max_dev_mode: " << LevelName(vm.max_dev_mode->value) << " ("
                << Where(vm.max_dev_mode->pos) << "), max_dev_duration "
                << FormatDuration(p.MaxDevDurationSeconds(name)) << "\n";
    }
    std::cout << "    timeout: " << FormatDuration(p.TimeoutSeconds(name))
              << ", max_output: " << p.MaxOutputBytes(name) << " bytes"
              << ", accept_v1: " << (vm.accept_v1.value ? "true" : "false")
              << (vm.transport ? ", transport: " + TransportName(vm.transport->value) : "") << "\n";
    for (const Rule& r : vm.allow) {
      std::cout << "    allow " << r.pos.FileLine() << ": " << r.text << "\n";
    }
  }
  std::cout << "tests: " << p.tests.size() << "\n";
}

}  // namespace

int RunDump(Env& env, const CommonOptions& common, bool json_output) {
  auto policy = LoadOrReport(env, common);
  if (!policy) return kExitUsage;
  if (json_output) {
    std::cout << DumpJson(DumpJsonValue(*policy), 2) << "\n";
  } else {
    DumpText(*policy);
  }
  return kExitOk;
}

}  // namespace qvmr::tool
