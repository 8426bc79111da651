#include "engine/policy/policy_yaml.h"

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <set>

#include "engine/base/units.h"
#include "engine/base/vm_name.h"

namespace qvmr {
namespace {

constexpr std::int64_t kMaxTimeoutSeconds = 86400;
constexpr std::int64_t kMaxDevDurationSeconds = 7 * 86400;
constexpr std::uint64_t kMaxOutputBytes = 1ull << 30;

// Reads one file; every error carries file:line:col of the node at fault.
class FileReader {
 public:
  FileReader(PolicyDraft& draft, std::string file) : d_(draft), file_(std::move(file)) {}

  Status Apply(const std::string& text);

 private:
  SourcePos Pos(const YAML::Node& n) const {
    YAML::Mark m = n.Mark();
    if (m.line < 0) return SourcePos{file_, 0, 0};
    return SourcePos{file_, m.line + 1, m.column + 1};
  }
  Error Err(const YAML::Node& n, std::string code, std::string message) const {
    return MakeError(std::move(code), std::move(message), Pos(n));
  }

  // A mapping whose keys are unique scalars from `allowed` (empty: any key).
  Status CheckMap(const YAML::Node& n, const std::string& where,
                  std::initializer_list<const char*> allowed);
  Result<std::string> Scalar(const YAML::Node& n, const std::string& where);
  Result<std::vector<YAML::Node>> Sequence(const YAML::Node& n, const std::string& where);
  Result<Level> LevelOf(const YAML::Node& n, const std::string& where);
  Result<std::int64_t> DurationOf(const YAML::Node& n, const std::string& where, std::int64_t max);
  Result<std::uint64_t> SizeOf(const YAML::Node& n, const std::string& where);
  Result<bool> BoolOf(const YAML::Node& n, const std::string& where);
  Result<std::vector<std::string>> VmNames(const YAML::Node& n, const std::string& where,
                                           bool patterns);

  template <typename T>
  void Override(Setting<T>& s, T value, const YAML::Node& n, const std::string& where) {
    if (s.pos.line > 0) {
      d_.policy.warnings.push_back(
          {Pos(n), where + " overrides the value set at " + s.pos.ToString()});
    }
    s.value = std::move(value);
    s.pos = Pos(n);
  }

  Status ApplyCommands(const YAML::Node& n);
  Status ApplyOptionSet(const YAML::Node& n, const std::string& where, OptionSet& set);
  Status ApplyClasses(const YAML::Node& n);
  Status ApplyRules(const YAML::Node& n, const std::string& where, RawRule proto,
                    std::vector<RawRule>& out);
  Status ApplyBlocked(const YAML::Node& n);
  Status ApplyDefaults(const YAML::Node& n);
  Status ApplyVms(const YAML::Node& n);
  Status ApplyVm(const std::string& name, const YAML::Node& n);
  Status ApplyTests(const YAML::Node& n);

  PolicyDraft& d_;
  std::string file_;
};

Status FileReader::CheckMap(const YAML::Node& n, const std::string& where,
                            std::initializer_list<const char*> allowed) {
  if (!n.IsMap()) return Err(n, "wrong-type", where + " must be a mapping");
  std::set<std::string> seen;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) return Err(kv.first, "wrong-type", where + ": keys must be text");
    const std::string& key = kv.first.Scalar();
    if (!seen.insert(key).second) {
      return Err(kv.first, "duplicate-key", "duplicate key '" + key + "' in " + where);
    }
    if (allowed.size() == 0) continue;
    bool known = false;
    std::string list;
    for (const char* a : allowed) {
      known = known || key == a;
      list += (list.empty() ? "" : ", ") + std::string(a);
    }
    if (!known) {
      return Err(kv.first, "unknown-key",
                 "unknown key '" + key + "' in " + where + " (allowed: " + list + ")");
    }
  }
  return Ok{};
}

Result<std::string> FileReader::Scalar(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) return Err(n, "wrong-type", where + " must be a scalar");
  return n.Scalar();
}

Result<std::vector<YAML::Node>> FileReader::Sequence(const YAML::Node& n,
                                                     const std::string& where) {
  if (!n.IsSequence()) return Err(n, "wrong-type", where + " must be a list");
  std::vector<YAML::Node> items;
  for (const auto& item : n) items.push_back(item);
  return items;
}

Result<Level> FileReader::LevelOf(const YAML::Node& n, const std::string& where) {
  auto s = Scalar(n, where);
  if (!s) return s.error();
  if (auto level = ParseLevel(*s)) return *level;
  return Err(n, "bad-level",
             where + ": '" + *s + "' is not a level (deny, read-only, monitor, manage, full)");
}

Result<std::int64_t> FileReader::DurationOf(const YAML::Node& n, const std::string& where,
                                            std::int64_t max) {
  auto s = Scalar(n, where);
  if (!s) return s.error();
  if (auto v = ParseDurationSeconds(*s, max)) return *v;
  return Err(n, "bad-duration",
             where + ": '" + *s + "' is not a duration between 1s and " + FormatDuration(max) +
                 " (write 90s, 30m or 2h)");
}

Result<std::uint64_t> FileReader::SizeOf(const YAML::Node& n, const std::string& where) {
  auto s = Scalar(n, where);
  if (!s) return s.error();
  if (auto v = ParseSizeBytes(*s, kMaxOutputBytes)) return *v;
  return Err(n, "bad-size", where + ": '" + *s + "' is not a size up to 1GiB (write 10MiB)");
}

Result<bool> FileReader::BoolOf(const YAML::Node& n, const std::string& where) {
  auto s = Scalar(n, where);
  if (!s) return s.error();
  if (*s == "true") return true;
  if (*s == "false") return false;
  return Err(n, "wrong-type", where + " must be true or false");
}

Result<std::vector<std::string>> FileReader::VmNames(const YAML::Node& n, const std::string& where,
                                                     bool patterns) {
  auto items = Sequence(n, where);
  if (!items) return items.error();
  std::vector<std::string> names;
  for (const auto& item : *items) {
    auto s = Scalar(item, where);
    if (!s) return s.error();
    if (patterns ? !IsValidVmPattern(*s) : !IsValidVmName(*s)) {
      return Err(item, "bad-vm-name",
                 where + ": '" + *s + "' is not a valid VM name" +
                     (patterns ? " or pattern (letters, digits, _ . - and the wildcard *, "
                                 "starting with a letter or *)"
                               : ""));
    }
    names.push_back(*s);
  }
  return names;
}

Status FileReader::Apply(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return MakeError("yaml-syntax", e.msg, {file_, e.mark.line + 1, e.mark.column + 1});
  } catch (const YAML::Exception& e) {
    return MakeError("yaml-syntax", e.msg, {file_, e.mark.line + 1, e.mark.column + 1});
  }
  try {
    if (!root.IsDefined() || root.IsNull()) {
      return MakeError("missing-version", "empty policy file (it needs at least 'version: 1')",
                       {file_, 1, 1});
    }
    auto st = CheckMap(root, "the policy file",
                       {"version", "commands", "classes", "blocked", "defaults", "vms", "tests"});
    if (!st) return st;
    if (!root["version"]) {
      return MakeError("missing-version", "missing 'version: 1'", Pos(root));
    }
    if (!root["version"].IsScalar() || root["version"].Scalar() != "1") {
      return Err(root["version"], "bad-version", "unsupported version (this is version 1)");
    }
    for (const auto& kv : root) {
      const std::string& key = kv.first.Scalar();
      Status s = Ok{};
      if (key == "commands") s = ApplyCommands(kv.second);
      if (key == "classes") s = ApplyClasses(kv.second);
      if (key == "blocked") s = ApplyBlocked(kv.second);
      if (key == "defaults") s = ApplyDefaults(kv.second);
      if (key == "vms") s = ApplyVms(kv.second);
      if (key == "tests") s = ApplyTests(kv.second);
      if (!s) return s;
    }
  } catch (const YAML::Exception& e) {
    return MakeError("yaml-syntax", e.msg, {file_, e.mark.line + 1, e.mark.column + 1});
  }
  return Ok{};
}

Status FileReader::ApplyOptionSet(const YAML::Node& n, const std::string& where, OptionSet& set) {
  auto items = Sequence(n, where + ".options");
  if (!items) return items.error();
  for (const auto& item : *items) {
    auto text = Scalar(item, where + ".options");
    if (!text) return text.error();
    auto spec = ParseOptionSpec(*text, Pos(item));
    if (!spec) return spec.error();
    for (const auto& name : spec->names) {
      if (auto existing = set.FindExact(name)) {
        return Err(item, "duplicate-option",
                   where + ": option " + name + " is already declared at " +
                       set.options[*existing].pos.ToString());
      }
    }
    set.options.push_back(std::move(*spec));
  }
  return Ok{};
}

Status FileReader::ApplyCommands(const YAML::Node& n) {
  auto st = CheckMap(n, "commands", {});
  if (!st) return st;
  for (const auto& kv : n) {
    const std::string name = kv.first.Scalar();
    const std::string where = "commands." + name;
    if (name.empty() || name.find_first_of("/ \t'\"") != std::string::npos) {
      return Err(kv.first, "bad-command", where + ": a program is a bare name without '/'");
    }
    if (kv.second.IsNull()) continue;
    st = CheckMap(
        kv.second, where,
        {"options", "permute", "operands_only", "verbs", "abbreviate_verbs", "obsolete_number"});
    if (!st) return st;
    CommandTable& table = d_.policy.commands[name];
    if (table.name.empty()) {
      table.name = name;
      table.pos = Pos(kv.first);
    }
    for (const auto& field : kv.second) {
      const std::string key = field.first.Scalar();
      if (key == "options") {
        st = ApplyOptionSet(field.second, where, table.global);
      } else if (key == "verbs") {
        st = CheckMap(field.second, where + ".verbs", {});
        if (!st) return st;
        for (const auto& verb : field.second) {
          const std::string vwhere = where + ".verbs." + verb.first.Scalar();
          OptionSet& set = table.verbs[verb.first.Scalar()];
          if (verb.second.IsNull()) continue;
          st = CheckMap(verb.second, vwhere, {"options", "permute"});
          if (!st) return st;
          if (verb.second["options"]) st = ApplyOptionSet(verb.second["options"], vwhere, set);
          if (!st) return st;
          if (verb.second["permute"]) {
            auto b = BoolOf(verb.second["permute"], vwhere + ".permute");
            if (!b) return b.error();
            set.permute = *b;
          }
        }
      } else if (key == "obsolete_number") {
        if (!field.second.IsScalar()) {
          return Err(field.second, "wrong-type", where + ".obsolete_number: an option name");
        }
        table.obsolete_number = field.second.Scalar();
      } else {
        auto b = BoolOf(field.second, where + "." + key);
        if (!b) return b.error();
        if (key == "permute") table.global.permute = *b;
        if (key == "operands_only") table.operands_only = *b;
        if (key == "abbreviate_verbs") table.abbreviate_verbs = *b;
      }
      if (!st) return st;
    }
    if (!table.obsolete_number.empty()) {
      // "-20" becomes this option's value: it must be a global option that takes one.
      auto index = table.global.FindExact(table.obsolete_number);
      if (!index || table.global.options[*index].arg != OptionArg::kRequired) {
        return Err(kv.second["obsolete_number"] ? kv.second["obsolete_number"] : kv.first,
                   "bad-option-spec",
                   where + ".obsolete_number: '" + table.obsolete_number +
                       "' is not an option of this table that takes a value (write e.g. -n)");
      }
    }
  }
  return Ok{};
}

Status FileReader::ApplyRules(const YAML::Node& n, const std::string& where, RawRule proto,
                              std::vector<RawRule>& out) {
  auto items = Sequence(n, where);
  if (!items) return items.error();
  for (const auto& item : *items) {
    RawRule rule = proto;
    YAML::Node text_node = item;
    if (item.IsMap()) {
      auto st = CheckMap(item, where + " rule", {"argv", "filter"});
      if (!st) return st;
      if (!item["argv"]) return Err(item, "wrong-type", where + ": a rule map needs 'argv'");
      text_node.reset(item["argv"]);  // re-point; operator= would overwrite `item`
      if (item["filter"]) {
        auto b = BoolOf(item["filter"], where + " filter");
        if (!b) return b.error();
        rule.filter = *b;
      }
    }
    auto text = Scalar(text_node, where + " rule");
    if (!text) return text.error();
    rule.text = *text;
    rule.pos = Pos(text_node);
    rule.column_offset = text_node.Tag() == "!" ? 1 : 0;  // quoted scalar: skip the quote
    out.push_back(std::move(rule));
  }
  return Ok{};
}

Status FileReader::ApplyClasses(const YAML::Node& n) {
  auto st = CheckMap(n, "classes", {"read-only", "monitor", "manage"});
  if (!st) return st;
  for (const auto& kv : n) {
    RawRule proto;
    proto.origin = kv.first.Scalar();
    proto.level = *ParseLevel(proto.origin);
    proto.vm_scope = proto.level == Level::kManage ? VmScope::kTargeted : VmScope::kAnyVm;
    st = ApplyRules(kv.second, "classes." + proto.origin, proto, d_.class_rules);
    if (!st) return st;
  }
  return Ok{};
}

Status FileReader::ApplyBlocked(const YAML::Node& n) {
  auto items = Sequence(n, "blocked");
  if (!items) return items.error();
  for (const auto& item : *items) {
    auto st = CheckMap(item, "blocked entry", {"pattern", "reason"});
    if (!st) return st;
    if (!item["pattern"] || !item["reason"]) {
      return Err(item, "wrong-type", "a blocked entry needs 'pattern' and 'reason'");
    }
    auto pattern = Scalar(item["pattern"], "blocked pattern");
    if (!pattern) return pattern.error();
    auto reason = Scalar(item["reason"], "blocked reason");
    if (!reason) return reason.error();
    d_.blocked.push_back({*pattern, *reason, Pos(item["pattern"])});
  }
  return Ok{};
}

Status FileReader::ApplyDefaults(const YAML::Node& n) {
  auto st =
      CheckMap(n, "defaults", {"level", "timeout", "max_output", "protected", "max_dev_duration"});
  if (!st) return st;
  Defaults& def = d_.policy.defaults;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const std::string where = "defaults." + key;
    if (key == "level") {
      auto v = LevelOf(kv.second, where);
      if (!v) return v.error();
      Override(def.level, *v, kv.second, where);
    } else if (key == "timeout") {
      auto v = DurationOf(kv.second, where, kMaxTimeoutSeconds);
      if (!v) return v.error();
      Override(def.timeout_seconds, *v, kv.second, where);
    } else if (key == "max_dev_duration") {
      auto v = DurationOf(kv.second, where, kMaxDevDurationSeconds);
      if (!v) return v.error();
      Override(def.max_dev_duration_seconds, *v, kv.second, where);
    } else if (key == "max_output") {
      auto v = SizeOf(kv.second, where);
      if (!v) return v.error();
      Override(def.max_output_bytes, *v, kv.second, where);
    } else {  // protected: a list; lists append, but the first file's list replaces the built-in
      auto v = VmNames(kv.second, where, /*patterns=*/true);
      if (!v) return v.error();
      if (!def.protected_set) def.protected_vms.value.clear();
      def.protected_set = true;
      def.protected_vms.pos = Pos(kv.second);
      for (auto& name : *v) def.protected_vms.value.push_back(std::move(name));
    }
  }
  return Ok{};
}

Status FileReader::ApplyVms(const YAML::Node& n) {
  auto st = CheckMap(n, "vms", {});
  if (!st) return st;
  for (const auto& kv : n) {
    const std::string name = kv.first.Scalar();
    if (!IsValidVmName(name)) {
      return Err(kv.first, "bad-vm-name", "vms: '" + name + "' is not a valid VM name");
    }
    VmPolicy& vm = d_.policy.vms[name];
    if (vm.name.empty()) {
      vm.name = name;
      vm.pos = Pos(kv.first);
    }
    if (kv.second.IsNull()) continue;
    st = ApplyVm(name, kv.second);
    if (!st) return st;
  }
  return Ok{};
}

Status FileReader::ApplyVm(const std::string& name, const YAML::Node& n) {
  const std::string base = "vms." + name;
  auto st = CheckMap(n, base,
                     {"level", "allow", "targets", "max_dev_mode", "max_dev_duration", "timeout",
                      "max_output", "accept_v1", "transport"});
  if (!st) return st;
  VmPolicy& vm = d_.policy.vms[name];
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const std::string where = base + "." + key;
    const YAML::Node& v = kv.second;
    if (key == "level" || key == "max_dev_mode") {
      auto level = LevelOf(v, where);
      if (!level) return level.error();
      auto& slot = key == "level" ? vm.level : vm.max_dev_mode;
      if (!slot) slot.emplace();
      Override(*slot, *level, v, where);
    } else if (key == "allow") {
      RawRule proto;
      proto.origin = where;
      proto.level = Level::kReadOnly;
      proto.vm_scope = VmScope::kTargeted;
      st = ApplyRules(v, where, proto, d_.vm_rules[name]);
      if (!st) return st;
    } else if (key == "targets") {
      auto names = VmNames(v, where, /*patterns=*/true);
      if (!names) return names.error();
      if (!vm.targets) vm.targets.emplace();
      vm.targets_pos = Pos(v);
      for (const auto& item : v) vm.target_item_pos.push_back(Pos(item));
      for (auto& t : *names) vm.targets->push_back(std::move(t));
    } else if (key == "max_dev_duration" || key == "timeout") {
      auto secs =
          DurationOf(v, where, key == "timeout" ? kMaxTimeoutSeconds : kMaxDevDurationSeconds);
      if (!secs) return secs.error();
      auto& slot = key == "timeout" ? vm.timeout_seconds : vm.max_dev_duration_seconds;
      if (!slot) slot.emplace();
      Override(*slot, *secs, v, where);
    } else if (key == "max_output") {
      auto bytes = SizeOf(v, where);
      if (!bytes) return bytes.error();
      if (!vm.max_output_bytes) vm.max_output_bytes.emplace();
      Override(*vm.max_output_bytes, *bytes, v, where);
    } else if (key == "accept_v1") {
      auto b = BoolOf(v, where);
      if (!b) return b.error();
      Override(vm.accept_v1, *b, v, where);
    } else {  // transport
      auto s = Scalar(v, where);
      if (!s) return s.error();
      TransportKind t;
      if (*s == "poll") {
        t = TransportKind::kPoll;
      } else if (*s == "watch") {
        t = TransportKind::kWatch;
      } else if (*s == "local") {
        t = TransportKind::kLocal;
      } else {
        return Err(v, "bad-transport", where + ": '" + *s + "' is not poll, watch or local");
      }
      if (!vm.transport) vm.transport.emplace();
      Override(*vm.transport, t, v, where);
    }
  }
  return Ok{};
}

Status FileReader::ApplyTests(const YAML::Node& n) {
  auto items = Sequence(n, "tests");
  if (!items) return items.error();
  for (const auto& item : *items) {
    auto st = CheckMap(item, "test case", {"vm", "cmd", "expect", "rule", "reason", "level", "at"});
    if (!st) return st;
    if (!item["vm"] || !item["cmd"] || !item["expect"]) {
      return Err(item, "wrong-type", "a test case needs 'vm', 'cmd' and 'expect'");
    }
    PolicyTest t;
    t.pos = Pos(item);
    auto vm = Scalar(item["vm"], "test vm");
    if (!vm) return vm.error();
    if (!IsValidVmName(*vm)) return Err(item["vm"], "bad-vm-name", "test: bad VM name " + *vm);
    t.vm = *vm;
    auto cmd = Scalar(item["cmd"], "test cmd");
    if (!cmd) return cmd.error();
    t.cmd = *cmd;
    auto expect = Scalar(item["expect"], "test expect");
    if (!expect) return expect.error();
    if (*expect != "allow" && *expect != "deny") {
      return Err(item["expect"], "wrong-type", "test expect must be allow or deny");
    }
    t.expect_allow = *expect == "allow";
    for (const char* key : {"rule", "reason", "at"}) {
      if (!item[key]) continue;
      auto s = Scalar(item[key], std::string("test ") + key);
      if (!s) return s.error();
      if (std::string(key) == "rule") t.rule = *s;
      if (std::string(key) == "reason") t.reason = *s;
      if (std::string(key) == "at") {
        if (!ParseTimeMs(*s)) {
          return Err(item[key], "bad-time", "test at: '" + *s + "' is not 2026-11-23T10:00:00Z");
        }
        t.at = *s;
      }
    }
    if (item["level"]) {
      auto level = LevelOf(item["level"], "test level");
      if (!level) return level.error();
      t.level = *level;
    }
    d_.policy.tests.push_back(std::move(t));
  }
  return Ok{};
}

}  // namespace

Status ApplyPolicyFile(PolicyDraft& draft, const std::string& file, const std::string& text) {
  return FileReader(draft, file).Apply(text);
}

}  // namespace qvmr
