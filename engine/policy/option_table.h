// Option grammars: the complete option table of a real tool (policy key `commands`), and the
// reading of an argv against it the way getopt_long and argparse read it — `--opt=v` and
// `--opt v` alike, bundled short flags, unambiguous long-option prefixes, `--`, and global options
// before a verb. Where the real tools would disagree, or we cannot be sure, the reading fails:
// a failure is a deny, never a guess.
//
// Cost: reading an argv is O(words × options) with no allocation beyond the result.
#ifndef QVMR_ENGINE_POLICY_OPTION_TABLE_H_
#define QVMR_ENGINE_POLICY_OPTION_TABLE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"

namespace qvmr {

enum class OptionArg { kNone, kRequired, kOptional };

// How an option with an optional value may also take the NEXT word, as some tools do by hand
// after getopt returns (journalctl's -b: "-b -1" is boot offset -1, because parse_argv looks at
// argv[optind] and consumes it when it parses as a boot descriptor). The reading must take
// exactly the words the tool takes, or `-b -1` would be misread as an unknown option `-1` (a
// deny) or, worse, a word the tool consumes could be read by us as an operand.
enum class Lookahead {
  kNone,
  kBoot,  // spec suffix "=?(boot)": journalctl's parse_id_descriptor (IsBootDescriptor)
};

// True if `word` is what journalctl's parse_id_descriptor() accepts (bounded): `all`, an offset
// `[+-]?[0-9]{1,9}`, or a 32-hex-digit boot ID optionally followed by `[+-][0-9]{1,9}`. It is
// stricter than the tool (no leading blanks, no 36-character UUID form): a word the tool would
// take and we do not is read by us as a match operand, which a rule then has to allow as such.
bool IsBootDescriptor(std::string_view word);

struct OptionSpec {
  std::vector<std::string> names;  // "-x" or "--long-name"
  OptionArg arg = OptionArg::kNone;
  Lookahead lookahead = Lookahead::kNone;  // only with kOptional
  std::string canonical;                   // first long name, else first name
  SourcePos pos;
};

// "-n|--lines=" → names {-n, --lines}, kRequired; "-b|--boot=?(boot)" → kOptional with
// Lookahead::kBoot. Errors name what is wrong.
Result<OptionSpec> ParseOptionSpec(std::string_view text, const SourcePos& pos);
// The spec as a policy file writes it; ParseOptionSpec reads it back to the same spec.
std::string OptionSpecText(const OptionSpec& spec);

// The options of one scope (a tool, or one verb of it).
struct OptionSet {
  std::vector<OptionSpec> options;
  bool permute = true;  // GNU permutation: options may follow operands

  // Index of the option with exactly this name ("-x" or "--long"), if any.
  std::optional<std::size_t> FindExact(std::string_view name) const;
};

struct CommandTable {
  std::string name;
  SourcePos pos;
  OptionSet global;                        // the tool's options; with verbs: before the verb
  bool operands_only = false;              // no option parsing at all (echo)
  bool abbreviate_verbs = false;           // unambiguous verb prefixes resolve (xl)
  std::map<std::string, OptionSet> verbs;  // empty: the tool has no verb table
  // The obsolete "-NUM" form (head -20, tail -20): when non-empty, a FIRST word of a dash and
  // 1-18 digits only is read as this global option (one taking a value) with the digits as its
  // value, as coreutils head and tail rewrite it. Anything else that starts with a digit
  // (`-20f`, `-20c`, `-5` later in the argv) reads as short options, i.e. is denied.
  std::string obsolete_number;

  bool has_verbs() const { return !verbs.empty(); }
};

// One option occurrence in an argv, identified by scope and index into that scope's OptionSet.
struct ParsedOption {
  bool in_verb = false;  // from the verb's table (else the global one)
  std::size_t index = 0;
  std::optional<std::string> value;  // present iff a value was given
};

struct ParsedArgv {
  std::vector<ParsedOption> options;  // in order of appearance
  std::string verb;                   // full verb name when the table has verbs
  std::vector<std::string> operands;  // in order, the verb excluded
};

// Why an argv cannot be read. `code`: unknown-option, ambiguous-option, missing-value,
// unexpected-value, ambiguous-value, unknown-verb, ambiguous-verb, missing-verb.
struct ArgvError {
  std::string code;
  std::string message;
};

struct ArgvReading {
  bool ok = false;
  ParsedArgv parsed;
  ArgvError error;
};

// Reads argv[1..] (argv[0] is the program) against `table`.
ArgvReading ReadArgv(const CommandTable& table, const std::vector<std::string>& argv);

}  // namespace qvmr

#endif  // QVMR_ENGINE_POLICY_OPTION_TABLE_H_
