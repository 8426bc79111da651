// The command line of `qvm-remote`, parsed without touching the system, so tests can hold every
// rule of it (DESIGN.md "Command lines"; the reference's surface, upstream-facts.md §2).
//
// Options come only before the first non-option word, as in the reference: `qvm-remote ls -l`
// sends `ls -l`. `--` ends the options; unlike the reference, a word after `--` is always a
// command for dom0 (`qvm-remote -- ping` sends `ping`), never one of our subcommands.
// Thread safety: pure functions.
#ifndef QVMR_CLIENT_ARGS_H_
#define QVMR_CLIENT_ARGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/result.h"

namespace qvmr::client {

// The reference's default: the client waits this long for the command (dom0 applies its cap).
inline constexpr std::uint32_t kDefaultTimeoutSeconds = 300;

struct Invocation {
  std::uint32_t timeout_seconds = kDefaultTimeoutSeconds;
  bool quiet = false;
  bool verbose = false;
  bool json = false;
  bool help = false;
  bool version = false;
  // True when `--` came before `rest`: rest is then a command, whatever its first word.
  bool after_double_dash = false;
  std::vector<std::string> rest;  // the first non-option word and everything after it
};

// Parses argv[1..]. Options: -h/--help, --version, -v/--verbose, -q/--quiet, --json,
// -t SEC, -tSEC, --timeout SEC, --timeout=SEC (SEC a decimal 1..86400, the v2 `.auth` range).
// Errors (code "usage") carry the line to print after "qvm-remote: ", in the reference's words
// where it had them ("unknown option: -x", "-t requires an integer, got: X").
Result<Invocation> ParseArgs(const std::vector<std::string>& args);

// What an invocation asks for.
enum class Verb {
  kHelp,
  kVersion,
  kKey,
  kPing,
  kStatus,
  kQueue,
  kLog,
  kHistory,
  kCommand,
  kScript
};
// kScript: no words at all (the caller reads stdin when it is not a tty, else prints usage).
// A subcommand word counts only before `--`.
Verb VerbOf(const Invocation& inv);

// The body for words given on the command line: joined by single spaces, plus "\n" (exactly the
// reference's `" ".join(args) + "\n"`).
std::string CommandText(const std::vector<std::string>& words);

// `log [N | -n N]`, `history [N | -n N]`: N, or `fallback` when absent or not a number (the
// reference ignores what it cannot read).
std::size_t CountArg(const std::vector<std::string>& args, std::size_t fallback);

}  // namespace qvmr::client

#endif  // QVMR_CLIENT_ARGS_H_
