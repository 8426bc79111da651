#include "engine/policy/rule.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include "engine/base/vm_name.h"
#include "engine/policy/targets.h"

namespace qvmr {
namespace {

struct RawToken {
  std::string raw;     // as written, quotes included
  std::size_t offset;  // byte offset in the rule text
};

bool IsBlank(char c) {
  return c == ' ' || c == '\t';
}

// Splits at blanks outside single quotes. An unterminated quote is an error.
Result<std::vector<RawToken>> Tokenize(std::string_view text, const SourcePos& pos) {
  std::vector<RawToken> out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (IsBlank(text[i])) {
      ++i;
      continue;
    }
    RawToken tok{{}, i};
    bool quoted = false;
    std::size_t quote_start = 0;
    while (i < text.size() && (quoted || !IsBlank(text[i]))) {
      if (text[i] == '\'') {
        quoted = !quoted;
        quote_start = i;
      }
      tok.raw += text[i++];
    }
    if (quoted) {
      SourcePos p = pos;
      p.column += static_cast<int>(quote_start);
      return MakeError("bad-rule", "unterminated quote in rule", p);
    }
    out.push_back(std::move(tok));
  }
  return out;
}

bool HasQuote(std::string_view raw) {
  return raw.find('\'') != std::string_view::npos;
}

std::string Unquote(std::string_view raw) {
  std::string s;
  for (char c : raw) {
    if (c != '\'') s += c;
  }
  return s;
}

Result<ValuePattern> ParsePattern(std::string_view raw, const SourcePos& where) {
  ValuePattern p;
  if (HasQuote(raw)) {
    p.literals.push_back(Unquote(raw));
    return p;
  }
  if (raw.size() >= 2 && raw.front() == '<' && raw.back() == '>') {
    static const std::pair<std::string_view, ValuePattern::Kind> kPlaceholders[] = {
        {"<vm>", ValuePattern::Kind::kVm},        {"<self>", ValuePattern::Kind::kSelf},
        {"<any-vm>", ValuePattern::Kind::kAnyVm}, {"<prop>", ValuePattern::Kind::kProp},
        {"<int>", ValuePattern::Kind::kInt},      {"<word>", ValuePattern::Kind::kWord},
        {"<text>", ValuePattern::Kind::kText},    {"<unit>", ValuePattern::Kind::kUnit},
        {"<boot>", ValuePattern::Kind::kBoot},    {"<net>", ValuePattern::Kind::kNet},
    };
    for (const auto& [name, kind] : kPlaceholders) {
      if (raw == name) {
        p.kind = kind;
        return p;
      }
    }
    return MakeError(
        "bad-rule",
        "unknown placeholder " + std::string(raw) +
            " (known: <vm> <self> <any-vm> <prop> <int> <word> <text> <unit> <boot> <net>)",
        where);
  }
  if (raw.size() >= 3 && raw.front() == '{' && raw.ends_with("}+")) {
    p.comma_list = true;
    raw.remove_suffix(1);
  }
  if (raw.size() >= 2 && raw.front() == '{' && raw.back() == '}') {
    p.kind = ValuePattern::Kind::kSet;
    std::string_view body = raw.substr(1, raw.size() - 2);
    while (true) {
      std::size_t comma = body.find(',');
      std::string_view item = body.substr(0, comma);
      if (item.empty())
        return MakeError("bad-rule", "empty member in set " + std::string(raw), where);
      if (p.comma_list && item.find_first_of("+") != std::string_view::npos)
        return MakeError("bad-rule", "'+' in a member of the list set " + std::string(raw), where);
      p.literals.emplace_back(item);
      if (comma == std::string_view::npos) break;
      body.remove_prefix(comma + 1);
    }
    return p;
  }
  if (raw.find_first_of("<>{}[]") != std::string_view::npos) {
    return MakeError("bad-rule",
                     "'" + std::string(raw) + "' mixes literal text with pattern syntax; quote it",
                     where);
  }
  p.literals.emplace_back(raw);
  return p;
}

bool IsWordChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
    return true;
  }
  if (first) return false;
  return c == '.' || c == ':' || c == '@' || c == '+' || c == ',' || c == '=' || c == '%' ||
         c == '-';
}

// A zeroed buffer on the stack for the common sizes, on the heap beyond: the decision's hot path
// does not allocate per rule tried.
template <typename T, std::size_t kInline>
class ScratchBuffer {
 public:
  explicit ScratchBuffer(std::size_t size) {
    if (size > kInline) heap_.resize(size);
    data_ = size > kInline ? heap_.data() : inline_.data();
    std::fill(data_, data_ + size, T{});
  }
  T& operator[](std::size_t i) { return data_[i]; }
  T* data() { return data_; }

 private:
  std::array<T, kInline> inline_;
  std::vector<T> heap_;
  T* data_;
};

// Operand sequences match in O(items × operands): reach[i] says the items so far can consume
// exactly ops[0, i). A backtracking match would be exponential in the number of repeated items,
// and the operands come from the VM.
bool MatchOperands(const std::vector<OperandItem>& items, const std::vector<std::string>& ops,
                   VmScope scope, const MatchContext& ctx) {
  const std::size_t n = ops.size();
  constexpr std::size_t kInline = 260;  // the shell's word limit is 256
  ScratchBuffer<std::uint8_t, kInline> reach(n + 1), next(n + 1);
  ScratchBuffer<std::size_t, kInline> run(n + 1);
  ScratchBuffer<std::int32_t, kInline + 1> delta(n + 2);
  reach[0] = 1;
  for (const OperandItem& item : items) {
    run[n] = 0;  // run[i]: consecutive matches from i, capped at item.max
    for (std::size_t i = n; i-- > 0;) {
      run[i] =
          ValueMatches(item.pattern, ops[i], scope, ctx) ? std::min(item.max, run[i + 1] + 1) : 0;
    }
    std::fill(delta.data(), delta.data() + n + 2, 0);
    bool any = false;
    for (std::size_t i = 0; i <= n; ++i) {
      if (!reach[i] || run[i] < item.min) continue;
      ++delta[i + item.min];
      --delta[i + run[i] + 1];
      any = true;
    }
    if (!any) return false;
    std::int32_t open = 0;
    for (std::size_t j = 0; j <= n; ++j) {
      open += delta[j];
      next[j] = open > 0;
    }
    std::copy(next.data(), next.data() + n + 1, reach.data());
  }
  return reach[n] != 0;
}

void DerivePrechecks(Rule& rule) {
  rule.min_operands = 0;
  rule.max_operands = 0;
  for (const OperandItem& item : rule.operands) {
    rule.min_operands += item.min;
    rule.max_operands = item.max == SIZE_MAX || rule.max_operands == SIZE_MAX
                            ? SIZE_MAX
                            : rule.max_operands + item.max;
  }
  rule.required_options = 0;
  rule.repeats_options = false;
  for (const OptionItem& item : rule.options) {
    rule.required_options += item.required ? 1 : 0;
    rule.repeats_options = rule.repeats_options || item.repeat;
  }
  rule.fixed_literal_operand = SIZE_MAX;
  for (std::size_t i = 0; i < rule.operands.size(); ++i) {
    const OperandItem& item = rule.operands[i];
    if (item.min != 1 || item.max != 1) break;
    if (item.pattern.kind == ValuePattern::Kind::kLiteral ||
        (item.pattern.kind == ValuePattern::Kind::kSet && !item.pattern.comma_list)) {
      rule.fixed_literal_operand = i;
      break;
    }
  }
}

}  // namespace

std::string ValuePattern::ToString() const {
  switch (kind) {
    case Kind::kLiteral:
      return literals.empty() ? "" : literals.front();
    case Kind::kVm:
      return "<vm>";
    case Kind::kSelf:
      return "<self>";
    case Kind::kAnyVm:
      return "<any-vm>";
    case Kind::kProp:
      return "<prop>";
    case Kind::kInt:
      return "<int>";
    case Kind::kWord:
      return "<word>";
    case Kind::kText:
      return "<text>";
    case Kind::kUnit:
      return "<unit>";
    case Kind::kBoot:
      return "<boot>";
    case Kind::kNet:
      return "<net>";
    case Kind::kSet:
      break;
  }
  std::string s = "{";
  for (std::size_t i = 0; i < literals.size(); ++i) s += (i ? "," : "") + literals[i];
  return s + (comma_list ? "}+" : "}");
}

std::string RuleProgram(std::string_view text) {
  std::size_t start = text.find_first_not_of(" \t");
  if (start == std::string_view::npos) return {};
  std::size_t end = text.find_first_of(" \t", start);
  return std::string(text.substr(start, end == std::string_view::npos ? end : end - start));
}

Result<Rule> CompileRule(std::string_view text, const CommandTable& table, const SourcePos& pos,
                         int column_offset_of_text) {
  SourcePos base = pos;
  if (base.line > 0) base.column += column_offset_of_text;
  auto at = [&](std::size_t offset) {
    SourcePos p = base;
    if (p.line > 0) p.column += static_cast<int>(offset);
    return p;
  };
  auto toks = Tokenize(text, base);
  if (!toks) return toks.error();
  const auto& tokens = *toks;
  if (tokens.empty()) return MakeError("bad-rule", "empty rule", at(0));

  Rule rule;
  rule.text = std::string(text);
  rule.pos = pos;
  rule.program = tokens[0].raw;
  if (rule.program != table.name) {
    return MakeError("bad-rule", "rule program '" + rule.program + "' has no option table",
                     at(tokens[0].offset));
  }
  bool want_verb = table.has_verbs();
  const OptionSet* scope = &table.global;
  bool in_verb = false;
  // After the verb: the verb's options, then (GNU permutation) the tool's global ones.
  auto find_option = [&](const std::string& name) -> std::optional<std::pair<bool, std::size_t>> {
    if (auto i = scope->FindExact(name)) return std::make_pair(in_verb, *i);
    if (in_verb && scope->permute) {
      if (auto i = table.global.FindExact(name)) return std::make_pair(false, *i);
    }
    return std::nullopt;
  };
  auto spec_of = [&](const std::pair<bool, std::size_t>& id) -> const OptionSpec& {
    return (id.first ? *scope : table.global).options[id.second];
  };

  for (std::size_t i = 1; i < tokens.size(); ++i) {
    std::string raw = tokens[i].raw;
    std::size_t offset = tokens[i].offset;
    bool bracket = false;
    if (!raw.empty() && raw[0] == '[') {
      bracket = true;
      raw.erase(0, 1);
      ++offset;
    }
    // The item's last token carries `]` and `...`.
    auto strip_suffix = [&](std::string& last, bool& repeat) -> Status {
      repeat = false;
      if (last.ends_with("...")) {
        repeat = true;
        last.resize(last.size() - 3);
      }
      if (bracket) {
        if (!last.ends_with("]")) {
          return MakeError("bad-rule", "'[' without a matching ']'", at(tokens[i].offset));
        }
        last.pop_back();
      } else if (last.ends_with("]") && !HasQuote(last)) {
        return MakeError("bad-rule", "']' without a matching '['", at(tokens[i].offset));
      }
      return Ok{};
    };

    bool is_option = !table.operands_only && !raw.empty() && raw[0] == '-' && !HasQuote(raw);
    if (is_option) {
      std::string name = raw;
      std::optional<std::string> value_raw;
      bool repeat = false;
      std::size_t eq = raw.find('=');
      if (eq != std::string::npos) {
        name = raw.substr(0, eq);
        value_raw = raw.substr(eq + 1);
      }
      // Strip the suffix from whichever token ends the item.
      if (!value_raw) {
        std::string probe = name;
        if (probe.ends_with("...")) probe.resize(probe.size() - 3);
        if (bracket && probe.ends_with("]")) probe.pop_back();
        auto index = find_option(probe);
        if (index && spec_of(*index).arg == OptionArg::kRequired) {
          if (bracket && name.ends_with("]")) {
            return MakeError("bad-rule", "option " + probe + " needs a value in the rule",
                             at(offset));
          }
          if (i + 1 >= tokens.size()) {
            return MakeError("bad-rule", "option " + probe + " needs a value in the rule",
                             at(offset));
          }
          value_raw = tokens[++i].raw;
          auto st = strip_suffix(*value_raw, repeat);
          if (!st) return st.error();
        } else {
          auto st = strip_suffix(name, repeat);
          if (!st) return st.error();
        }
      } else {
        auto st = strip_suffix(*value_raw, repeat);
        if (!st) return st.error();
      }
      auto index = find_option(name);
      if (!index) {
        return MakeError("bad-rule",
                         "'" + name + "' is not in the option table of " + table.name +
                             (in_verb ? " " + rule.verb : std::string()) +
                             " (rules write options in full)",
                         at(offset));
      }
      const OptionSpec& spec = spec_of(*index);
      OptionItem item;
      item.in_verb = index->first;
      item.index = index->second;
      item.required = !bracket;
      item.repeat = repeat;
      if (value_raw) {
        if (spec.arg == OptionArg::kNone) {
          return MakeError("bad-rule", "option " + name + " takes no value", at(offset));
        }
        auto pattern = ParsePattern(*value_raw, at(offset));
        if (!pattern) return pattern.error();
        item.value = std::move(*pattern);
      } else if (spec.arg == OptionArg::kRequired) {
        return MakeError("bad-rule", "option " + name + " needs a value in the rule", at(offset));
      }
      rule.options.push_back(std::move(item));
      continue;
    }

    bool repeat = false;
    auto st = strip_suffix(raw, repeat);
    if (!st) return st.error();
    if (want_verb) {
      if (bracket || repeat || HasQuote(raw) || !table.verbs.count(raw)) {
        return MakeError("bad-rule",
                         "'" + raw + "' is not a " + table.name + " command (write verbs in full)",
                         at(offset));
      }
      rule.verb = raw;
      scope = &table.verbs.at(raw);
      in_verb = true;
      want_verb = false;
      continue;
    }
    auto pattern = ParsePattern(raw, at(offset));
    if (!pattern) return pattern.error();
    OperandItem item;
    item.pattern = std::move(*pattern);
    item.min = bracket ? 0 : 1;
    item.max = repeat ? SIZE_MAX : 1;
    rule.operands.push_back(std::move(item));
  }
  if (want_verb) return MakeError("bad-rule", table.name + " rules must name a command", at(0));
  DerivePrechecks(rule);
  return rule;
}

bool ValueMatches(const ValuePattern& p, std::string_view v, VmScope scope,
                  const MatchContext& ctx) {
  using Kind = ValuePattern::Kind;
  switch (p.kind) {
    case Kind::kLiteral:
      return p.literals.front() == v;
    case Kind::kSet: {
      auto member = [&](std::string_view m) {
        return std::find(p.literals.begin(), p.literals.end(), m) != p.literals.end();
      };
      if (!p.comma_list) return member(v);
      // Every comma-separated piece a member; an empty piece (`A,,B`, `A,`) never is.
      while (true) {
        std::size_t comma = v.find(',');
        if (!member(v.substr(0, comma))) return false;
        if (comma == std::string_view::npos) return true;
        v.remove_prefix(comma + 1);
      }
    }
    case Kind::kUnit:
      return IsUnitPattern(v);
    case Kind::kBoot:
      // `all` (every boot: the same as no -b) is a descriptor the reader must consume, but not
      // a value the placeholder names; a rule that wants it writes the literal.
      return v != "all" && IsBootDescriptor(v);
    case Kind::kNet:
      return IsNetWord(v);
    case Kind::kSelf:
      return v == ctx.requester;
    case Kind::kAnyVm:
      return IsValidVmName(v);
    case Kind::kVm: {
      if (!IsValidVmName(v)) return false;
      if (scope == VmScope::kAnyVm || ctx.unscoped) return true;
      static const std::vector<std::string> kNone;
      return ClassifyTarget(v, ctx.requester, ctx.targets,
                            ctx.protected_patterns ? *ctx.protected_patterns : kNone) ==
             TargetVerdict::kTarget;
    }
    case Kind::kProp:
      if (v.empty() || v.size() > 64 || v[0] < 'a' || v[0] > 'z') return false;
      for (char c : v) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
      }
      return true;
    case Kind::kInt:
      if (v.empty() || v.size() > 18) return false;
      for (char c : v) {
        if (c < '0' || c > '9') return false;
      }
      return true;
    case Kind::kWord:
      if (v.empty() || v.size() > 255) return false;
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (!IsWordChar(v[i], i == 0)) return false;
      }
      return true;
    case Kind::kText:
      if (v.size() > 4096) return false;
      for (unsigned char c : v) {
        if (c < 0x20 || c == 0x7f) return false;
      }
      return true;
  }
  return false;
}

bool IsUnitPattern(std::string_view v) {
  if (v.empty() || v.size() > 255 || !IsWordChar(v[0], true)) return false;
  for (char c : v.substr(1)) {
    bool glob = c == '*' || c == '?' || c == '[' || c == ']' || c == '\\';
    if (!glob && !IsWordChar(c, false)) return false;
  }
  return true;
}

bool IsNetWord(std::string_view v) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (v.empty() || v.size() > 255 || !(alnum(v[0]) || v[0] == ':')) return false;
  for (char c : v) {
    if (!(alnum(c) || c == '_' || c == '.' || c == ':' || c == '/' || c == '-')) return false;
  }
  return true;
}

bool RuleMatches(const Rule& rule, const ParsedArgv& argv, const MatchContext& ctx) {
  const std::size_t n = argv.operands.size();
  if (n < rule.min_operands || n > rule.max_operands) return false;
  if (argv.options.size() < rule.required_options) return false;
  if (!rule.repeats_options && argv.options.size() > rule.options.size()) return false;
  if (rule.fixed_literal_operand != SIZE_MAX) {
    // Every item before it takes exactly one word, so its word is at the same index.
    const ValuePattern& p = rule.operands[rule.fixed_literal_operand].pattern;
    const std::string& word = argv.operands[rule.fixed_literal_operand];
    if (std::find(p.literals.begin(), p.literals.end(), word) == p.literals.end()) return false;
  }
  if (rule.verb != argv.verb) return false;
  ScratchBuffer<std::uint32_t, 64> used(rule.options.size());  // use count per option item
  for (const ParsedOption& opt : argv.options) {
    bool matched = false;
    for (std::size_t k = 0; k < rule.options.size(); ++k) {
      const OptionItem& item = rule.options[k];
      if (item.in_verb != opt.in_verb || item.index != opt.index) continue;
      if (item.value.has_value() != opt.value.has_value()) continue;
      if (!item.repeat && used[k] > 0) continue;
      if (item.value && !ValueMatches(*item.value, *opt.value, rule.vm_scope, ctx)) continue;
      ++used[k];
      matched = true;
      break;
    }
    if (!matched) return false;
  }
  for (std::size_t k = 0; k < rule.options.size(); ++k) {
    if (rule.options[k].required && used[k] == 0) return false;
  }
  return MatchOperands(rule.operands, argv.operands, rule.vm_scope, ctx);
}

}  // namespace qvmr
