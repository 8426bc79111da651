// Shadowed rules: a rule that can never be the first match, because a rule the decision tries
// before it matches every argv it matches. The check is sound (it never reports a rule that can
// be reached) and deliberately simple. Rule B is reported as shadowed by an earlier rule A when:
//
//   * A and B name the same program and verb, and A is tried before B whenever B is tried:
//     A is a class rule earlier in class order (read-only, monitor, manage; load order within a
//     class), so at the same or a lower level; or A and B are both in one VM's `allow` list and A
//     comes first;
//   * A is not a filter unless B is one too (a filter is skipped at the first pipeline stage);
//   * their operand items correspond one to one, each of A's allowing at least the counts B's
//     allows (`[X]...` ⊇ `X...` ⊇ `X`, `[X]` ⊇ `X`); their option items correspond one to one
//     (same option, a value in both or in neither, A's item optional if B's is, repeatable if
//     B's is); when either rule names one option twice, the option items must be equal and in the
//     same order;
//   * in every position A's pattern covers B's: equal patterns, a set containing B's literals,
//     or a strictly broader placeholder — <text> covers every pattern without control
//     characters; <word> covers <prop>, <int>, <vm>, <any-vm>, <self> and literals it matches;
//     <unit> covers <word>, <prop>, <int> and unit-pattern literals; a list set `{..}+` is
//     covered only by a list set with more members; <boot> covers only <boot> and boot literals;
//     <net> covers <int>, <prop> and literals it matches;
//     <any-vm> (and <vm> in a read-only or monitor rule) covers <vm>, <self> and VM-name
//     literals; <prop> and <int> cover literals they match. A `<vm>` of a manage or allow rule
//     (what the targets cover, never the requester) covers only the same `<vm>`.
//
// So identical rules (modulo whitespace, quoting and option order) are always found. Not found:
// coverage by a union of several earlier rules, operand lists of different lengths (`[X] [Y]`
// vs `X`), an option B allows that A lacks as an item, and class rules made unreachable for one
// particular VM by that VM's own allow rules.
#include <algorithm>
#include <map>
#include <tuple>

#include "tools/policy/policy_tool.h"

namespace qvmr::tool {
namespace {

using Kind = ValuePattern::Kind;

// Whether every literal of `b` is a value the placeholder `kind` matches (the engine's own
// predicate, so lint and decisions never disagree).
bool AllLiterals(const ValuePattern& b, Kind kind) {
  ValuePattern placeholder;
  placeholder.kind = kind;
  return std::all_of(b.literals.begin(), b.literals.end(), [&](const std::string& l) {
    return ValueMatches(placeholder, l, VmScope::kAnyVm, MatchContext{});
  });
}

bool Subset(const std::vector<std::string>& b, const std::vector<std::string>& a) {
  return std::all_of(b.begin(), b.end(),
                     [&](const auto& l) { return std::find(a.begin(), a.end(), l) != a.end(); });
}

// Does every value `b` matches (for any requester, targets and protected list) match `a`?
bool Covers(const ValuePattern& a, VmScope sa, const ValuePattern& b, VmScope sb) {
  // A list set (`{A,B}+`) matches joined values of any length: only a list set covers it.
  const bool b_list = b.kind == Kind::kSet && b.comma_list;
  const bool b_literal = (b.kind == Kind::kLiteral || b.kind == Kind::kSet) && !b_list;
  const bool b_vm_like = b.kind == Kind::kVm || b.kind == Kind::kAnyVm || b.kind == Kind::kSelf;
  switch (a.kind) {
    case Kind::kLiteral:
    case Kind::kSet:
      if (a.comma_list) {
        if (b_list) return Subset(b.literals, a.literals);
        return b_literal && std::all_of(b.literals.begin(), b.literals.end(), [&](const auto& l) {
                 return ValueMatches(a, l, VmScope::kAnyVm, MatchContext{});
               });
      }
      return b_literal && Subset(b.literals, a.literals);
    case Kind::kText:
      if (b_list) return false;
      return b_literal ? AllLiterals(b, Kind::kText) : true;
    case Kind::kWord:
      if (b_list) return false;
      if (b_literal) return AllLiterals(b, Kind::kWord);
      return b.kind != Kind::kText && b.kind != Kind::kUnit && b.kind != Kind::kBoot &&
             b.kind != Kind::kNet;
    case Kind::kUnit:
      if (b_list) return false;
      if (b_literal) return AllLiterals(b, Kind::kUnit);
      return b.kind == Kind::kUnit || b.kind == Kind::kWord || b.kind == Kind::kProp ||
             b.kind == Kind::kInt;
    case Kind::kBoot:
      return b_literal ? AllLiterals(b, Kind::kBoot) : b.kind == Kind::kBoot;
    case Kind::kNet:
      if (b_list) return false;
      if (b_literal) return AllLiterals(b, Kind::kNet);
      return b.kind == Kind::kNet || b.kind == Kind::kInt || b.kind == Kind::kProp;
    case Kind::kAnyVm:
      if (b_literal) return AllLiterals(b, Kind::kAnyVm);
      return b_vm_like;
    case Kind::kVm:
      if (sa == VmScope::kAnyVm) {
        if (b_literal) return AllLiterals(b, Kind::kAnyVm);
        return b_vm_like;
      }
      return b.kind == Kind::kVm && sb == VmScope::kTargeted;
    case Kind::kProp:
      return b_literal ? AllLiterals(b, Kind::kProp) : b.kind == Kind::kProp;
    case Kind::kInt:
      return b_literal ? AllLiterals(b, Kind::kInt) : b.kind == Kind::kInt;
    case Kind::kSelf:
      return b.kind == Kind::kSelf;
  }
  return false;
}

bool HasDuplicateOption(const std::vector<OptionItem>& items) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    for (std::size_t j = i + 1; j < items.size(); ++j) {
      if (items[i].in_verb == items[j].in_verb && items[i].index == items[j].index) return true;
    }
  }
  return false;
}

// Everything about an option item, for exact comparison.
auto ItemKey(const OptionItem& o) {
  return std::make_tuple(o.in_verb, o.index, o.required, o.repeat, o.value.has_value(),
                         o.value ? static_cast<int>(o.value->kind) : -1,
                         o.value && o.value->comma_list,
                         o.value ? o.value->literals : std::vector<std::string>{});
}

bool OptionsCovered(const Rule& a, const Rule& b) {
  if (a.options.size() != b.options.size()) return false;
  auto sorted = [](const Rule& r) {
    std::vector<OptionItem> v = r.options;
    std::sort(v.begin(), v.end(),
              [](const OptionItem& x, const OptionItem& y) { return ItemKey(x) < ItemKey(y); });
    return v;
  };
  const std::vector<OptionItem> oa = sorted(a), ob = sorted(b);
  if (HasDuplicateOption(oa) || HasDuplicateOption(ob)) {
    // One option named twice: the engine assigns occurrences to items in rule order, so only
    // the very same items in the same order are known to match the same argvs.
    for (std::size_t i = 0; i < a.options.size(); ++i) {
      if (ItemKey(a.options[i]) != ItemKey(b.options[i])) return false;
    }
    return true;
  }
  // Each option once in both (so sorted by option they pair up): A's brackets and `...` no
  // stricter than B's, and A's value covers B's.
  for (std::size_t i = 0; i < oa.size(); ++i) {
    const OptionItem& x = oa[i];
    const OptionItem& y = ob[i];
    if (x.in_verb != y.in_verb || x.index != y.index) return false;
    if (x.value.has_value() != y.value.has_value()) return false;
    if ((x.required && !y.required) || (y.repeat && !x.repeat)) return false;
    if (x.value && !Covers(*x.value, a.vm_scope, *y.value, b.vm_scope)) return false;
  }
  return true;
}

// A matches every argv B matches (for the same requester).
bool Subsumes(const Rule& a, const Rule& b) {
  if (a.program != b.program || a.verb != b.verb) return false;
  if (a.filter && !b.filter) return false;
  if (a.operands.size() != b.operands.size()) return false;
  for (std::size_t i = 0; i < a.operands.size(); ++i) {
    const OperandItem& x = a.operands[i];
    const OperandItem& y = b.operands[i];
    if (x.min > y.min || x.max < y.max) return false;  // A's arity range contains B's
    if (!Covers(x.pattern, a.vm_scope, y.pattern, b.vm_scope)) return false;
  }
  return OptionsCovered(a, b);
}

void Report(const Rule& shadowed, const Rule& by, std::vector<Diagnostic>& out) {
  out.push_back({shadowed.pos, "rule '" + shadowed.text + "' (" + shadowed.origin +
                                   ") is shadowed by rule '" + by.text + "' at " +
                                   by.pos.FileLine() + " (" + by.origin +
                                   "): it can never be the first match"});
}

void CheckList(const std::vector<const Rule*>& rules, std::vector<Diagnostic>& out) {
  for (std::size_t j = 0; j < rules.size(); ++j) {
    for (std::size_t i = 0; i < j; ++i) {
      if (rules[i]->level <= rules[j]->level && Subsumes(*rules[i], *rules[j])) {
        Report(*rules[j], *rules[i], out);
        break;
      }
    }
  }
}

}  // namespace

std::vector<Diagnostic> FindShadowedRules(const Policy& policy) {
  std::vector<Diagnostic> out;
  // Class rules: policy.rules is in the order the decision tries them.
  std::map<std::string, std::vector<const Rule*>> by_program;
  for (const Rule& r : policy.rules) by_program[r.program].push_back(&r);
  for (const auto& [program, rules] : by_program) CheckList(rules, out);
  for (const auto& [name, vm] : policy.vms) {
    std::map<std::string, std::vector<const Rule*>> allow;
    for (const Rule& r : vm.allow) allow[r.program].push_back(&r);
    for (const auto& [program, rules] : allow) CheckList(rules, out);
  }
  return out;
}

}  // namespace qvmr::tool
