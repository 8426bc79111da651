// Shell analysis: the grammar (lists, and-or lists, pipelines, simple commands) over the tokens
// of shell_lexer. See shell.h for what is accepted.
#include "engine/shell/shell.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>

#include "engine/base/excerpt.h"
#include "engine/shell/shell_lexer.h"

namespace qvmr {
namespace {

using shell_internal::IsAssignmentWord;
using shell_internal::Lexer;
using shell_internal::Refuse;
using shell_internal::SoftRefusal;
using shell_internal::Token;
using shell_internal::TokKind;

// Reserved words of bash (and `[[`, `]]`, `!`, `{`, `}`), special only unquoted in command
// position.
constexpr std::string_view kReserved[] = {
    "!",    "[[", "]]",  "{",        "}",  "case", "coproc", "do",   "done", "elif",  "else",
    "esac", "fi", "for", "function", "if", "in",   "select", "then", "time", "until", "while"};

// For each first byte, the lengths (bit n: length n) of the reserved words starting with it:
// most command names are ruled out by this lookup instead of 22 comparisons.
constexpr auto kReservedShapes = [] {
  std::array<std::uint32_t, 256> shapes{};
  for (std::string_view word : kReserved) {
    shapes[static_cast<unsigned char>(word[0])] |= std::uint32_t{1} << word.size();
  }
  return shapes;
}();

bool MaybeReserved(std::string_view word) {
  return !word.empty() && word.size() < 32 &&
         (kReservedShapes[static_cast<unsigned char>(word[0])] >> word.size() & 1) != 0;
}

// Programs that run another command or re-read text, matched on the last path component of
// argv[0], also with a trailing version (digits and dots) removed: `python3.11` is `python`.
// Declaration builtins are here too: they evaluate arithmetic (`declare -i x='a[$(id)]'` runs id).
// Sorted (binary search). clang-format off
constexpr std::string_view kWrappers[] = {".",
                                          "alias",
                                          "ash",
                                          "at",
                                          "awk",
                                          "bash",
                                          "batch",
                                          "builtin",
                                          "busybox",
                                          "bwrap",
                                          "capsh",
                                          "chroot",
                                          "chrt",
                                          "command",
                                          "csh",
                                          "dash",
                                          "declare",
                                          "doas",
                                          "env",
                                          "eval",
                                          "exec",
                                          "expect",
                                          "export",
                                          "fakeroot",
                                          "firejail",
                                          "fish",
                                          "flock",
                                          "gawk",
                                          "gdb",
                                          "ionice",
                                          "ksh",
                                          "let",
                                          "local",
                                          "ltrace",
                                          "lua",
                                          "mawk",
                                          "mksh",
                                          "nawk",
                                          "newgrp",
                                          "nice",
                                          "node",
                                          "nohup",
                                          "nsenter",
                                          "parallel",
                                          "perl",
                                          "php",
                                          "pkexec",
                                          "posh",
                                          "python",
                                          "rbash",
                                          "readonly",
                                          "ruby",
                                          "run-parts",
                                          "runuser",
                                          "script",
                                          "setpriv",
                                          "setsid",
                                          "sg",
                                          "sh",
                                          "source",
                                          "start-stop-daemon",
                                          "stdbuf",
                                          "strace",
                                          "su",
                                          "sudo",
                                          "systemd-run",
                                          "taskset",
                                          "tclsh",
                                          "tcsh",
                                          "time",
                                          "timeout",
                                          "trap",
                                          "typeset",
                                          "unshare",
                                          "watch",
                                          "xargs",
                                          "yash",
                                          "zsh"};
// clang-format on

static_assert(std::is_sorted(std::begin(kWrappers), std::end(kWrappers)), "keep kWrappers sorted");

// The same order as string_view's `<` (bytes compared as unsigned), inline: the names are short
// and most probes differ in the first byte, so a call to memcmp costs more than the comparison.
bool WrapperLess(std::string_view a, std::string_view b) {
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

bool InList(std::string_view name) {
  return std::binary_search(std::begin(kWrappers), std::end(kWrappers), name, WrapperLess);
}

bool IsWrapper(std::string_view argv0) {
  std::size_t slash = argv0.rfind('/');
  std::string_view base = slash == std::string_view::npos ? argv0 : argv0.substr(slash + 1);
  if (InList(base)) return true;
  std::size_t end = base.size();
  while (end > 0 && ((base[end - 1] >= '0' && base[end - 1] <= '9') || base[end - 1] == '.')) {
    --end;
  }
  return end > 0 && end < base.size() && InList(base.substr(0, end));
}

bool IsFindExec(std::string_view arg) {
  return arg == "-exec" || arg == "-execdir" || arg == "-ok" || arg == "-okdir";
}

bool IsControl(unsigned char b) {
  return (b < 0x20 && b != '\t' && b != '\n') || b == 0x7f;
}

// Whether the text has a control character. Branch-free so that the compiler vectorises it:
// almost no text has one, and only then is the text searched byte by byte for the first.
bool HasControl(std::string_view text) {
  unsigned char found = 0;
  for (char c : text) {
    auto b = static_cast<unsigned char>(c);
    found |= static_cast<unsigned char>((b < 0x20) & (b != '\t') & (b != '\n')) | (b == 0x7f);
  }
  return found != 0;
}

class Parser {
 public:
  Parser(std::string_view text, const ShellLimits& limits)
      : text_(text), lex_(text, limits.max_word_bytes), limits_(limits) {}

  ShellResult Run();

 private:
  // The Parse functions share one token, the lookahead: each is called with its first token in
  // *tok and returns with the first token it did not consume there. (One Token for the whole
  // parse: no copies, and the lexer reuses its strings' capacity.)
  bool Get(bool command_position, bool redirect_target, Token* tok) {
    return lex_.Next(command_position, redirect_target, tok, &denial_);
  }
  bool SkipNewlines(Token* tok);
  bool ParseProgram();
  bool ParseAndOr(Token* tok, Connector connector);
  bool ParsePipeline(Token* tok, Pipeline* pipeline);
  bool ParseCommand(Token* tok, SimpleCommand* command);
  bool ParseSimple(Token* tok, SimpleCommand* command);
  bool ParseRedirect(const Token& op, SimpleCommand* command);
  bool Deny(const char* code, std::size_t offset, std::string message) {
    return Refuse(&denial_, code, offset, std::move(message));
  }

  std::string_view text_;
  Lexer lex_;
  const ShellLimits& limits_;
  std::size_t commands_ = 0;
  Plan plan_;
  ShellDenial denial_;
  // The current simple command's word offsets (for the find check), capacity kept from one
  // command to the next.
  std::vector<std::size_t> word_offsets_;
};

bool Parser::SkipNewlines(Token* tok) {
  do {
    if (!Get(true, false, tok)) return false;
  } while (tok->kind == TokKind::kNewline);
  return true;
}

ShellResult Parser::Run() {
  ShellResult result;
  if (text_.size() > limits_.max_text_bytes) {
    Deny("limit", limits_.max_text_bytes,
         "the command is longer than " + std::to_string(limits_.max_text_bytes) + " bytes");
    result.denial = std::move(denial_);
    return result;
  }
  for (std::size_t i = HasControl(text_) ? 0 : text_.size(); i < text_.size(); ++i) {
    auto b = static_cast<unsigned char>(text_[i]);
    if (IsControl(b)) {
      char hex[8];
      static constexpr char kDigits[] = "0123456789abcdef";
      hex[0] = '0';
      hex[1] = 'x';
      hex[2] = kDigits[b >> 4];
      hex[3] = kDigits[b & 0xf];
      hex[4] = '\0';
      Deny("control-character", i,
           std::string("control character ") + hex + " is not allowed (only tab and newline)");
      result.denial = std::move(denial_);
      return result;
    }
  }
  if (ParseProgram()) {
    result.ok = true;
    result.plan = std::move(plan_);
  } else {
    result.denial = std::move(denial_);
  }
  return result;
}

bool Parser::ParseProgram() {
  Token tok;
  if (!SkipNewlines(&tok)) return false;
  if (tok.kind == TokKind::kEnd) return Deny("empty", 0, "there is no command");
  for (;;) {
    if (!ParseAndOr(&tok, Connector::kSeq)) return false;
    switch (tok.kind) {
      case TokKind::kEnd:
        return true;
      case TokKind::kSemi:
      case TokKind::kNewline:
        if (!SkipNewlines(&tok)) return false;
        if (tok.kind == TokKind::kEnd) return true;
        break;
      case TokKind::kAmp:
        return Deny("background", tok.offset, "'&' runs a command in the background");
      default:
        return Deny("syntax", tok.offset, "unexpected operator");
    }
  }
}

bool Parser::ParseAndOr(Token* tok, Connector connector) {
  for (;;) {
    Pipeline pipeline;
    if (!ParsePipeline(tok, &pipeline)) return false;
    plan_.pipelines.push_back(std::move(pipeline));
    plan_.connectors.push_back(connector);
    if (tok->kind != TokKind::kAndAnd && tok->kind != TokKind::kOrOr) return true;
    connector = tok->kind == TokKind::kAndAnd ? Connector::kAnd : Connector::kOr;
    std::size_t op = tok->offset;
    if (!SkipNewlines(tok)) return false;
    if (tok->kind == TokKind::kEnd) {
      return Deny("syntax", op, "the command ends with an operator that needs a command after it");
    }
  }
}

bool Parser::ParsePipeline(Token* tok, Pipeline* pipeline) {
  for (;;) {
    SimpleCommand command;
    if (!ParseCommand(tok, &command)) return false;
    pipeline->stages.push_back(std::move(command));
    if (tok->kind == TokKind::kPipeAmp) {
      return Deny("pipe-stderr", tok->offset, "'|&' is not allowed; write '2>&1 |'");
    }
    if (tok->kind != TokKind::kPipe) return true;
    std::size_t op = tok->offset;
    if (!SkipNewlines(tok)) return false;
    if (tok->kind == TokKind::kEnd) {
      return Deny("syntax", op, "the command ends with '|'");
    }
  }
}

bool Parser::ParseCommand(Token* tok, SimpleCommand* command) {
  switch (tok->kind) {
    case TokKind::kWord:
    case TokKind::kRedirOut:
    case TokKind::kRedirDup:
      return ParseSimple(tok, command);
    case TokKind::kLParen: {
      std::size_t n = lex_.SkipContinuations(tok->offset + 1);
      if (n < text_.size() && text_[n] == '(') {
        return Deny("arithmetic", tok->offset, "arithmetic commands ((...)) are not allowed");
      }
      return Deny("subshell", tok->offset, "subshells (...) are not allowed");
    }
    default:
      return Deny("syntax", tok->offset, "a command was expected here");
  }
}

bool Parser::ParseSimple(Token* tok, SimpleCommand* command) {
  if (++commands_ > limits_.max_commands) {
    return Deny("limit", tok->offset,
                "more than " + std::to_string(limits_.max_commands) + " simple commands");
  }
  command->offset = tok->offset;
  // Commands rarely have more than 16 words: one allocation instead of growing 1, 2, 4, 8, 16,
  // each growth moving every word.
  command->argv.reserve(16);
  word_offsets_.clear();
  std::size_t last_word_end = std::string_view::npos;
  for (;;) {
    if (tok->kind == TokKind::kWord) {
      bool command_position = command->argv.empty();
      if (command_position && !tok->quoted && MaybeReserved(tok->Raw())) {
        for (std::string_view word : kReserved) {
          if (tok->Raw() != word) continue;
          if (word == "{" || word == "}") {
            return Deny("group", tok->offset, "command groups { ...; } are not allowed");
          }
          if (word == "function") {
            return Deny("function", tok->offset, "function definitions are not allowed");
          }
          return Deny(
              "control-flow", tok->offset,
              "'" + std::string(word) + "' is a shell keyword; control flow is not allowed");
        }
      }
      if (command_position && IsAssignmentWord(tok->Raw())) {
        return Deny("assignment", tok->offset,
                    "variable assignments are not allowed: '" + Excerpt(tok->Raw(), 64) + "'");
      }
      if (tok->soft_code != nullptr) return SoftRefusal(*tok, &denial_);
      if (command->argv.size() >= limits_.max_words) {
        return Deny("limit", tok->offset,
                    "more than " + std::to_string(limits_.max_words) + " words in one command");
      }
      if (command_position && IsWrapper(tok->value)) {
        return Deny(
            "wrapper", tok->offset,
            "'" + Excerpt(tok->value, 64) + "' runs another command; run that command directly");
      }
      command->argv.push_back(std::move(tok->value));
      word_offsets_.push_back(tok->offset);
      last_word_end = tok->end;
    } else if (tok->kind == TokKind::kRedirOut || tok->kind == TokKind::kRedirDup) {
      if (!ParseRedirect(*tok, command)) return false;
    } else if (tok->kind == TokKind::kLParen) {
      if (command->argv.size() == 1 && command->redirects.empty()) {
        return Deny("function", command->offset, "function definitions are not allowed");
      }
      if (tok->offset == last_word_end && tok->offset > 0) {
        char prev = text_[tok->offset - 1];
        if (prev == '+' || prev == '@' || prev == '!') {
          return Deny("glob", tok->offset - 1, "extended glob patterns are not allowed");
        }
      }
      return Deny("syntax", tok->offset, "unexpected '('; quote it to pass it literally");
    } else {
      break;  // the command ends; *tok is the caller's
    }
    if (!Get(command->argv.empty(), false, tok)) return false;
  }
  if (command->argv.empty()) {
    return Deny("redirection", command->offset, "a redirection without a command");
  }
  if (std::string_view a0 = command->argv[0];
      a0.substr(a0.rfind('/') == std::string_view::npos ? 0 : a0.rfind('/') + 1) == "find") {
    for (std::size_t i = 1; i < command->argv.size(); ++i) {
      if (IsFindExec(command->argv[i])) {
        return Deny("wrapper", word_offsets_[i],
                    "find " + Excerpt(command->argv[i], 64) + " runs another command");
      }
    }
  }
  return true;
}

bool Parser::ParseRedirect(const Token& op, SimpleCommand* command) {
  static constexpr char kOnly[] =
      "only the redirections >/dev/null, 1>/dev/null, 2>/dev/null and 2>&1 are allowed";
  if (command->redirects.size() >= limits_.max_redirects) {
    return Deny(
        "limit", op.offset,
        "more than " + std::to_string(limits_.max_redirects) + " redirections in one command");
  }
  bool dup = op.kind == TokKind::kRedirDup;
  if (dup ? op.fd != 2 : (op.fd != Token::kNoFd && op.fd != 1 && op.fd != 2)) {
    return Deny("redirection", op.offset, kOnly);
  }
  Token target;
  if (!Get(false, true, &target)) return false;
  if (target.kind != TokKind::kWord) {
    return Deny("syntax", op.offset, "a redirection needs a target word");
  }
  if (target.soft_code != nullptr) return SoftRefusal(target, &denial_);
  Redirect redirect;
  if (dup) {
    if (!target.digits || target.value != "1") return Deny("redirection", op.offset, kOnly);
    redirect.fd = 2;
    redirect.target = Redirect::Target::kStdout;
  } else {
    if (target.value != "/dev/null") return Deny("redirection", op.offset, kOnly);
    redirect.fd = op.fd == 2 ? 2 : 1;
    redirect.target = Redirect::Target::kDevNull;
  }
  command->redirects.push_back(redirect);
  return true;
}

}  // namespace

ShellResult AnalyzeShell(std::string_view text, const ShellLimits& limits) {
  try {
    Parser parser(text, limits);
    return parser.Run();
  } catch (...) {  // Only std::bad_alloc can get here; refuse rather than throw.
    ShellResult result;
    result.denial = ShellDenial{"limit", 0, "out of memory while analysing the command"};
    return result;
  }
}

std::string NormalizedCommand(const SimpleCommand& command) {
  std::string out;
  for (std::size_t i = 0; i < command.argv.size(); ++i) {
    if (i > 0) out.push_back(' ');
    out += command.argv[i];
  }
  return out;
}

}  // namespace qvmr
