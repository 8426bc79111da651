// Shell analysis for levels below `full`: turn command text into a Plan — the argvs and how they
// connect — or refuse with a stable reason code and the byte offset of the construct.
//
// Only what can be proved is accepted: simple commands made of literal words (unquoted safe
// characters, single quotes, double quotes without expansions, backslash escapes, line
// continuations), joined by `|`, `;`, newline, `&&`, `||`; comments; and the redirections
// `[n]>/dev/null` (n = 1 or 2, or none) and `2>&1`. The executor runs exactly the Plan: no shell
// ever re-reads the text, so the Plan's argvs must be what bash itself would produce.
//
// Cost: one pass over the text, O(n) time and memory. Limits below are explicit; exceeding one
// is a deny with reason "limit", never a truncation.
#ifndef QVMR_ENGINE_SHELL_SHELL_H_
#define QVMR_ENGINE_SHELL_SHELL_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace qvmr {

struct ShellLimits {
  std::size_t max_text_bytes = 1 << 20;  // 1 MiB, the wire limit
  std::size_t max_commands = 64;         // simple commands in the whole text
  std::size_t max_words = 256;           // words in one simple command
  std::size_t max_word_bytes = 65536;    // bytes of one word after quote removal
  std::size_t max_redirects = 16;        // redirections in one simple command
};

struct Redirect {
  enum class Target { kDevNull, kStdout };  // `n>/dev/null` or `2>&1`
  int fd = 1;                               // 1 or 2
  Target target = Target::kDevNull;
};

struct SimpleCommand {
  std::vector<std::string> argv;    // after quote removal; argv[0] is the program as written
  std::vector<Redirect> redirects;  // in source order (order matters: `2>&1 >/dev/null`)
  std::size_t offset = 0;           // byte offset of the command's first byte in the text
};

// Stages joined by `|`: stage i's stdout feeds stage i+1's stdin.
struct Pipeline {
  std::vector<SimpleCommand> stages;
};

// How a pipeline is joined to the one before it. The first pipeline's connector is kSeq.
// Evaluation is bash's and-or list: run pipelines left to right; skip a kAnd one if the last
// status that was produced is non-zero, skip a kOr one if it is zero; a skipped pipeline does
// not change the status. `;` and newline are kSeq.
enum class Connector { kSeq, kAnd, kOr };

struct Plan {
  std::vector<Pipeline> pipelines;
  std::vector<Connector> connectors;  // same size as pipelines
};

// A refusal. `code` is one of the stable codes below; `offset` is the byte offset in the text of
// the construct that was refused; `message` says what it is in a sentence a person can act on.
struct ShellDenial {
  std::string code;
  std::size_t offset = 0;
  std::string message;
};

// Stable reason codes (tests and the audit log rely on these strings):
//   command-substitution  `$(...)` or backquotes
//   process-substitution  `<(...)` or `>(...)`
//   arithmetic            `$((...))` or `((...))`
//   variable              any other `$` expansion, `$'...'` and `$"..."` included
//   glob                  unquoted `*`, `?` or `[`
//   tilde                 unquoted `~` at the start of a word
//   brace                 unquoted `{` or `}` inside a word (brace expansion)
//   group                 `{ ...; }` command group
//   subshell              `( ... )`
//   function              a function definition
//   here-document         `<<` (and `<<-`)
//   here-string           `<<<`
//   background            `&` (not part of `&&`, `2>&1`)
//   pipe-stderr           `|&`
//   assignment            `NAME=value` before a command (or alone)
//   redirection           any redirection other than `[n]>/dev/null` and `2>&1`
//   control-flow          a reserved word in command position (if, for, while, case, `!`, `[[`)
//   wrapper               a program that runs another command or re-reads text
//                         (eval exec env sudo xargs nohup timeout nice command builtin . source
//                          bash sh dash zsh ksh su doas setsid stdbuf chroot nsenter unshare ...)
//   control-character     a byte < 0x20 other than tab and newline, or 0x7f
//   syntax                unterminated quote, empty command between operators, dangling operator
//   empty                 no command at all
//   limit                 a ShellLimits bound was exceeded
struct ShellResult {
  bool ok = false;
  Plan plan;           // valid when ok
  ShellDenial denial;  // valid when !ok
};

ShellResult AnalyzeShell(std::string_view text, const ShellLimits& limits = {});

// The normalized form of a simple command for `blocked` matching: argv joined by single spaces.
std::string NormalizedCommand(const SimpleCommand& command);

}  // namespace qvmr

#endif  // QVMR_ENGINE_SHELL_SHELL_H_
