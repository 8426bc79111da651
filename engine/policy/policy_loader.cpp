#include "engine/policy/policy_loader.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <map>
#include <memory>

#include "engine/policy/policy_yaml.h"

namespace qvmr {
namespace {

Result<Rule> CompileRaw(const Policy& policy, const RawRule& raw) {
  std::string program = RuleProgram(raw.text);
  auto table = policy.commands.find(program);
  if (table == policy.commands.end()) {
    SourcePos p = raw.pos;
    p.column += raw.column_offset;
    return MakeError("no-option-table",
                     "rule program '" + program + "' has no option table in 'commands'", p);
  }
  auto rule = CompileRule(raw.text, table->second, raw.pos, raw.column_offset);
  if (!rule) return rule.error();
  rule->origin = raw.origin;
  rule->level = raw.level;
  rule->vm_scope = raw.vm_scope;
  rule->filter = raw.filter;
  return rule;
}

}  // namespace

std::vector<std::string> DefaultPolicyDirs(const std::string& root) {
  return {root + "/usr/share/qvm-remote/policies", root + "/etc/qubes/remote-policy.d"};
}

Result<std::vector<std::string>> ListPolicyFiles(Env& env, const LoadOptions& options) {
  // name → (dir index, full path): a later directory's file masks an earlier one's.
  std::map<std::string, std::pair<std::size_t, std::string>> chosen;
  for (std::size_t d = 0; d < options.dirs.size(); ++d) {
    const std::string& dir = options.dirs[d];
    auto info = env.Stat(dir);
    if (!info) return info.error();
    if (!info->exists) continue;
    if (!info->is_dir) return MakeError("io", dir + " is not a directory", {dir});
    auto names = env.ListDir(dir);
    if (!names) return names.error();
    for (const auto& name : *names) {
      if (!name.ends_with(".yaml") || name[0] == '.') continue;
      chosen[name] = {d, dir + "/" + name};
    }
  }
  // Directory order first, bytewise name order within a directory.
  std::vector<std::pair<std::pair<std::size_t, std::string>, std::string>> order;
  for (const auto& [name, where] : chosen) order.push_back({{where.first, name}, where.second});
  std::sort(order.begin(), order.end());
  std::vector<std::string> files;
  for (auto& entry : order) files.push_back(std::move(entry.second));
  for (const auto& f : options.extra_files) files.push_back(f);
  return files;
}

Result<Policy> LoadPolicy(Env& env, const LoadOptions& options) {
  auto files = ListPolicyFiles(env, options);
  if (!files) return files.error();

  PolicyDraft draft;
  std::vector<PolicyFileBytes> loaded;
  for (const auto& file : *files) {
    if (options.check_trust) {
      auto trusted = CheckTrusted(env, file);
      if (!trusted) return trusted.error();
    }
    auto text = env.ReadFile(file, options.max_file_bytes);
    if (!text) return MakeError(text.error().code, text.error().message, {file});
    auto applied = ApplyPolicyFile(draft, file, *text);
    if (!applied) return applied.error();
    draft.policy.files.push_back(file);
    loaded.push_back({file, std::move(*text)});
  }
  draft.policy.revision = PolicyRevision(loaded);

  Policy& policy = draft.policy;
  for (const auto& [name, table] : policy.commands) {
    if (table.operands_only && (!table.global.options.empty() || table.has_verbs())) {
      return MakeError("bad-command",
                       "commands." + name + ": operands_only excludes options and verbs",
                       table.pos);
    }
  }
  // Class rules in class order (read-only, monitor, manage), file order within a class.
  std::stable_sort(draft.class_rules.begin(), draft.class_rules.end(),
                   [](const RawRule& a, const RawRule& b) { return a.level < b.level; });
  for (const auto& raw : draft.class_rules) {
    auto rule = CompileRaw(policy, raw);
    if (!rule) return rule.error();
    policy.rules.push_back(std::move(*rule));
  }
  for (auto& [vm, raws] : draft.vm_rules) {
    for (const auto& raw : raws) {
      auto rule = CompileRaw(policy, raw);
      if (!rule) return rule.error();
      policy.vms[vm].allow.push_back(std::move(*rule));
    }
  }
  auto blocklist = Blocklist::Compile(std::move(draft.blocked));
  if (!blocklist) return blocklist.error();
  policy.blocklist = std::move(*blocklist);
  for (const auto& rule : policy.rules) policy.rules_by_program[rule.program].emplace_back(rule);
  return std::move(draft.policy);
}

std::string PolicyRevision(const std::vector<PolicyFileBytes>& files) {
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
  for (const auto& f : files) {
    const std::string size = std::to_string(f.bytes.size());
    ok = ok && EVP_DigestUpdate(ctx.get(), f.path.data(), f.path.size()) == 1 &&
         EVP_DigestUpdate(ctx.get(), "", 1) == 1 &&
         EVP_DigestUpdate(ctx.get(), size.data(), size.size()) == 1 &&
         EVP_DigestUpdate(ctx.get(), "", 1) == 1 &&
         EVP_DigestUpdate(ctx.get(), f.bytes.data(), f.bytes.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx.get(), md.data(), &md_len) == 1;
  if (!ok) return std::string();  // only when OpenSSL cannot allocate
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < md_len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 0xf];
  }
  return hex;
}

RuleIndexEntry::RuleIndexEntry(const Rule& r)
    : rule(&r),
      level(r.level),
      min_operands(static_cast<std::uint32_t>(std::min<std::size_t>(r.min_operands, UINT32_MAX))),
      max_operands(static_cast<std::uint32_t>(std::min<std::size_t>(r.max_operands, UINT32_MAX))),
      required_options(static_cast<std::uint32_t>(r.required_options)),
      max_options(r.repeats_options ? UINT32_MAX : static_cast<std::uint32_t>(r.options.size())) {}

Level Policy::BaseLevel(const std::string& vm) const {
  const VmPolicy* p = FindVm(vm);
  return p && p->level ? p->level->value : defaults.level.value;
}

std::int64_t Policy::TimeoutSeconds(const std::string& vm) const {
  const VmPolicy* p = FindVm(vm);
  return p && p->timeout_seconds ? p->timeout_seconds->value : defaults.timeout_seconds.value;
}

std::uint64_t Policy::MaxOutputBytes(const std::string& vm) const {
  const VmPolicy* p = FindVm(vm);
  return p && p->max_output_bytes ? p->max_output_bytes->value : defaults.max_output_bytes.value;
}

std::int64_t Policy::MaxDevDurationSeconds(const std::string& vm) const {
  const VmPolicy* p = FindVm(vm);
  return p && p->max_dev_duration_seconds ? p->max_dev_duration_seconds->value
                                          : defaults.max_dev_duration_seconds.value;
}

}  // namespace qvmr
