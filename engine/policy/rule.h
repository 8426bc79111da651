// Argv rules: patterns such as `qvm-prefs <vm> <prop>` or `journalctl --no-pager [-u <word>]...`
// compiled once against their command's option table and matched against a read argv. The
// language is specified in docs/policy-reference.md ("Rules").
//
// Cost: RuleMatches is O(argv options × rule option items + rule operand items × argv operands):
// the operands are matched by a table over positions, never by backtracking (the operands come
// from the VM). A targeted `<vm>` test adds a pass over the VM's targets and protected patterns
// (engine/policy/targets.h). Thread safety: a compiled Rule is immutable; matching is pure.
#ifndef QVMR_ENGINE_POLICY_RULE_H_
#define QVMR_ENGINE_POLICY_RULE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/level.h"
#include "engine/base/result.h"
#include "engine/policy/option_table.h"

namespace qvmr {

// One value pattern: a literal, a set of literals, or a placeholder.
struct ValuePattern {
  enum class Kind {
    kLiteral,
    kSet,
    kVm,
    kSelf,
    kAnyVm,
    kProp,
    kInt,
    kWord,
    kText,
    kUnit,  // <unit>: a unit name or a glob the TOOL expands (`qubes-*`); see IsUnitPattern
    kBoot,  // <boot>: a journalctl boot offset or ID (IsBootDescriptor in option_table.h), not
            // `all`
    kNet,   // <net>: a host, address, network, port range or protocol; never holds `=`
  };
  Kind kind = Kind::kLiteral;
  std::vector<std::string> literals;  // kLiteral: one; kSet: several
  // kSet written `{a,b}+`: the value is one or more members joined by `,` (systemctl -p A,B).
  bool comma_list = false;

  std::string ToString() const;
};

struct OptionItem {
  bool in_verb = false;
  std::size_t index = 0;              // into the scope's OptionSet
  std::optional<ValuePattern> value;  // present iff the rule gives a value
  bool required = true;               // not in brackets
  bool repeat = false;                // `...`
};

struct OperandItem {
  ValuePattern pattern;
  std::size_t min = 1;
  std::size_t max = 1;  // SIZE_MAX for `...`
};

// Where a rule comes from decides what `<vm>` ranges over (docs/policy-reference.md).
enum class VmScope {
  kAnyVm,     // read-only and monitor class rules: any valid VM name
  kTargeted,  // manage class rules and a VM's own allow rules: the requester's targets only
};

struct Rule {
  std::string text;                // as written
  SourcePos pos;                   // of the rule string
  std::string origin;              // "read-only", "monitor", "manage" or "vms.<name>.allow"
  Level level = Level::kReadOnly;  // the class level (a VM's allow rules: kReadOnly)
  VmScope vm_scope = VmScope::kAnyVm;
  bool filter = false;  // only as a later pipeline stage, reading stdin

  std::string program;
  std::string verb;  // for tools with verbs
  std::vector<OptionItem> options;
  std::vector<OperandItem> operands;

  // Derived by CompileRule so RuleMatches can reject most non-matching argvs in a few
  // comparisons (a policy may hold many rules for one program).
  std::size_t min_operands = 0;
  std::size_t max_operands = 0;      // SIZE_MAX with a repeated operand
  std::size_t required_options = 0;  // option items not in brackets
  bool repeats_options = false;      // some option item has `...`
  // An operand at a fixed position (every earlier item matches exactly one word) that must be
  // one of literal values: its index into `operands`, or SIZE_MAX if there is none.
  std::size_t fixed_literal_operand = SIZE_MAX;
};

// Compiles `text` against `table` (whose name must equal the rule's program). Errors carry the
// position of the offending token (pos advanced by its byte offset in the text).
Result<Rule> CompileRule(std::string_view text, const CommandTable& table, const SourcePos& pos,
                         int column_offset_of_text);

// Who is asking, and what `<vm>` may name for them.
struct MatchContext {
  std::string_view requester;
  const std::vector<std::string>* targets = nullptr;  // null: no targets set (`<vm>` names none)
  const std::vector<std::string>* protected_patterns = nullptr;  // null: none
  // For explanations only: `<vm>` matches any valid VM name whatever the rule's scope, so a
  // denial can say that the scope, not the rule, refused.
  bool unscoped = false;
};

bool ValueMatches(const ValuePattern& pattern, std::string_view value, VmScope scope,
                  const MatchContext& ctx);

// `<unit>`: `^[A-Za-z0-9_][A-Za-z0-9_.:@+,=%*?\[\]\\-]{0,254}$` — a `<word>` that may also
// hold the glob characters `* ? [ ]` and `\` (systemd's `\x2d` escapes). The glob is for
// systemctl/journalctl to expand over unit names (the shell never sees it: an unquoted `*` is
// denied by the shell analysis as `glob`). The first character is never a glob character, so a
// pattern names a family (`qubes-*`), never every unit (`*`, `*.service`).
bool IsUnitPattern(std::string_view value);

// `<net>`: `^[A-Za-z0-9:][A-Za-z0-9_.:/-]{0,254}$` — host names, IPv4/IPv6 addresses and
// networks (`10.0.0.0/8`, `fd00::/8`), port ranges (`1200-1400`), protocol names. It never
// holds `=`, so where a tool reads `key=value` words (qvm-firewall's `action=accept`) a `<net>`
// word can only be a positional value, never a key that overrides an earlier one.
bool IsNetWord(std::string_view value);

// True if the argv (already read against the same table the rule was compiled with) matches.
bool RuleMatches(const Rule& rule, const ParsedArgv& argv, const MatchContext& ctx);

// The program name of a rule text (its first token), or empty.
std::string RuleProgram(std::string_view text);

}  // namespace qvmr

#endif  // QVMR_ENGINE_POLICY_RULE_H_
