#include "engine/shell/shell_lexer.h"

#include "engine/base/excerpt.h"

#include <array>
#include <utility>

namespace qvmr::shell_internal {
namespace {

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsNameChar(char c) {
  return IsNameStart(c) || (c >= '0' && c <= '9');
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// Bytes that end an unquoted word (bash's metacharacters).
constexpr bool IsWordEnd(char c) {
  switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case ';':
    case '&':
    case '|':
    case '(':
    case ')':
    case '<':
    case '>':
      return true;
    default:
      return false;
  }
}

// Bytes that need no thought inside an unquoted word: everything except the word ends above,
// quoting, expansions, pattern and brace characters, `~` and `#`. A run of them is appended in
// one piece (most of a typical command is such runs).
constexpr bool IsPlainTable(unsigned char c) {
  switch (c) {
    case '\'':
    case '"':
    case '\\':
    case '$':
    case '`':
    case '*':
    case '?':
    case '[':
    case '{':
    case '}':
    case '~':
    case '#':
      return false;
    default:
      return !IsWordEnd(static_cast<char>(c));
  }
}
constexpr auto kPlain = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) table[c] = IsPlainTable(static_cast<unsigned char>(c));
  return table;
}();
bool IsPlain(char c) {
  return kPlain[static_cast<unsigned char>(c)];
}

// Inside double quotes, the bytes other than these are taken literally.
bool IsDoubleQuoteSpecial(char c) {
  return c == '"' || c == '$' || c == '`' || c == '\\';
}

constexpr const char kRedirMessage[] =
    "only the redirections >/dev/null, 1>/dev/null, 2>/dev/null and 2>&1 are allowed";

}  // namespace

bool Refuse(ShellDenial* denial, const char* code, std::size_t offset, std::string message) {
  denial->code = code;
  denial->offset = offset;
  denial->message = std::move(message);
  return false;
}

bool IsAssignmentWord(std::string_view raw) {
  if (raw.empty() || !IsNameStart(raw[0])) return false;
  std::size_t i = 1;
  while (i < raw.size() && IsNameChar(raw[i])) ++i;
  if (i < raw.size() && raw[i] == '[') {
    // A subscript: over-approximate bash's skipsubscript with "some later `]=` or `]+=`".
    std::size_t close = raw.find("]=", i);
    std::size_t close_plus = raw.find("]+=", i);
    return close != std::string_view::npos || close_plus != std::string_view::npos;
  }
  if (i < raw.size() && raw[i] == '=') return true;
  return i + 1 < raw.size() && raw[i] == '+' && raw[i + 1] == '=';
}

bool Lexer::OperatorNext(std::size_t pos, std::string_view extenders, std::size_t* next,
                         ShellDenial* denial) const {
  std::size_t n = pos + 1;
  std::size_t m = SkipContinuations(n);
  if (m != n && !AtEnd(m) && extenders.find(t_[m]) != std::string_view::npos) {
    return Refuse(denial, "syntax", n,
                  "a line continuation splits an operator; write the operator in one piece");
  }
  *next = m;
  return true;
}

bool Lexer::Next(bool command_position, bool redirect_target, Token* tok, ShellDenial* denial) {
  tok->Reset();
  for (;;) {
    i_ = SkipContinuations(i_);
    if (AtEnd(i_)) {
      tok->kind = TokKind::kEnd;
      tok->offset = tok->end = t_.size();
      return true;
    }
    char c = t_[i_];
    if (c == ' ' || c == '\t') {
      ++i_;
      continue;
    }
    if (c == '#') {  // A comment: up to the newline, continuations not removed (as bash).
      std::size_t nl = t_.find('\n', i_);
      if (nl == std::string_view::npos) {
        i_ = t_.size();
        continue;
      }
      if (t_[nl - 1] == '\\') {
        return Refuse(denial, "syntax", nl - 1,
                      "a comment ends with a backslash; shells disagree on whether the next line "
                      "continues it");
      }
      i_ = nl;
      continue;
    }
    tok->offset = i_;
    std::size_t n = 0;
    switch (c) {
      case '\n':
        tok->kind = TokKind::kNewline;
        tok->end = ++i_;
        return true;
      case ';':
        if (!OperatorNext(i_, ";&", &n, denial)) return false;
        if (At(n) == ';' || At(n) == '&') {
          tok->kind = TokKind::kCaseSep;
          i_ = n + 1;
        } else {
          tok->kind = TokKind::kSemi;
          ++i_;
        }
        tok->end = i_;
        return true;
      case '&':
        if (!OperatorNext(i_, "&>", &n, denial)) return false;
        if (At(n) == '>') return Refuse(denial, "redirection", i_, kRedirMessage);
        if (At(n) == '&') {
          tok->kind = TokKind::kAndAnd;
          i_ = n + 1;
        } else {
          tok->kind = TokKind::kAmp;
          ++i_;
        }
        tok->end = i_;
        return true;
      case '|':
        if (!OperatorNext(i_, "|&", &n, denial)) return false;
        if (At(n) == '|') {
          tok->kind = TokKind::kOrOr;
          i_ = n + 1;
        } else if (At(n) == '&') {
          tok->kind = TokKind::kPipeAmp;
          i_ = n + 1;
        } else {
          tok->kind = TokKind::kPipe;
          ++i_;
        }
        tok->end = i_;
        return true;
      case '(':
      case ')':
        tok->kind = c == '(' ? TokKind::kLParen : TokKind::kRParen;
        tok->end = ++i_;
        return true;
      case '<':
      case '>':
        return ReadRedirection(i_, i_, Token::kNoFd, tok, denial);
      default:
        return ReadWord(command_position, redirect_target, tok, denial);
    }
  }
}

bool Lexer::ReadRedirection(std::size_t op, std::size_t start, int fd, Token* tok,
                            ShellDenial* denial) {
  std::size_t n = 0;
  if (t_[op] == '<') {
    if (!OperatorNext(op, "<>&(", &n, denial)) return false;
    if (At(n) == '(') {
      return Refuse(denial, "process-substitution", op,
                    "process substitution <(...) runs a command; it is not allowed");
    }
    if (At(n) == '<') {
      std::size_t m = 0;
      if (!OperatorNext(n, "<-", &m, denial)) return false;
      if (At(m) == '<') {
        return Refuse(denial, "here-string", start, "here-strings (<<<) are not allowed");
      }
      return Refuse(denial, "here-document", start, "here-documents (<<) are not allowed");
    }
    return Refuse(denial, "redirection", start, kRedirMessage);
  }
  if (!OperatorNext(op, ">&|(", &n, denial)) return false;
  if (At(n) == '(') {
    return Refuse(denial, "process-substitution", op,
                  "process substitution >(...) runs a command; it is not allowed");
  }
  if (At(n) == '>' || At(n) == '|') return Refuse(denial, "redirection", start, kRedirMessage);
  tok->Reset();
  tok->offset = start;
  tok->fd = fd;
  if (At(n) == '&') {
    tok->kind = TokKind::kRedirDup;
    i_ = n + 1;
  } else {
    tok->kind = TokKind::kRedirOut;
    i_ = op + 1;
  }
  tok->end = i_;
  return true;
}

// Cold path of Append, kept out of line so that Append itself (called per byte) inlines.
[[gnu::noinline, gnu::cold]] static bool WordTooLong(std::size_t max_word, const Token& tok,
                                                     ShellDenial* denial) {
  return Refuse(denial, "limit", tok.offset,
                "a word is longer than " + std::to_string(max_word) + " bytes");
}

bool Lexer::AppendRun(Token* tok, std::string_view bytes, bool quoted, ShellDenial* denial) {
  if (bytes.empty()) return true;
  // Byte by byte, the append that first finds the value at max_word_ bytes fails.
  if (bytes.size() > max_word_ - tok->value.size()) [[unlikely]] {
    return WordTooLong(max_word_, *tok, denial);
  }
  tok->value.append(bytes);
  if (quoted) {
    tok->quoted = true;
    tok->digits = false;
    last_unquoted_ = '\0';
  } else {
    if (tok->digits) {
      for (char c : bytes) {
        if (!IsDigit(c)) {
          tok->digits = false;
          break;
        }
      }
    }
    last_unquoted_ = bytes.back();
  }
  return true;
}

void Lexer::Splice(Token* word, std::size_t next) {
  if (!word->spliced) {
    word->spliced = true;
    word->spliced_raw.assign(t_.substr(word->offset, i_ - word->offset));
  } else {
    word->spliced_raw.append(t_.substr(seg_, i_ - seg_));
  }
  i_ = seg_ = next;
}

std::string_view Lexer::SplicedRawSoFar(Token* word) {
  word->spliced_raw.append(t_.substr(seg_, i_ - seg_));
  seg_ = i_;
  return word->spliced_raw;
}

// A refusal found inside a word. An earlier problem of the same word wins: the word being an
// assignment (in command position), then its first soft problem, then this one.
bool Lexer::Hard(const char* code, std::size_t pos, std::string message, bool command_position,
                 Token* word, ShellDenial* denial) {
  if (std::string_view raw = RawSoFar(word); command_position && IsAssignmentWord(raw)) {
    return Refuse(denial, "assignment", word->offset,
                  "variable assignments are not allowed: '" + Excerpt(raw, 64) + "...'");
  }
  if (word->soft_code != nullptr) return SoftRefusal(*word, denial);
  return Refuse(denial, code, pos, std::move(message));
}

bool Lexer::Dollar(std::size_t pos, bool command_position, Token* word, ShellDenial* denial) {
  std::size_t n = SkipContinuations(pos + 1);
  if (At(n) == '(' && !AtEnd(n)) {
    std::size_t m = SkipContinuations(n + 1);
    if (At(m) == '(' && !AtEnd(m)) {
      return Hard("arithmetic", pos, "arithmetic expansion $((...)) is not allowed",
                  command_position, word, denial);
    }
    return Hard("command-substitution", pos, "command substitution $(...) is not allowed",
                command_position, word, denial);
  }
  if (At(n) == '[' && !AtEnd(n)) {
    return Hard("arithmetic", pos, "arithmetic expansion $[...] is not allowed", command_position,
                word, denial);
  }
  return Hard("variable", pos,
              "'$' expands a variable or a special quote; write the value literally, or quote the "
              "'$' in single quotes",
              command_position, word, denial);
}

bool SoftRefusal(const Token& word, ShellDenial* denial) {
  std::string_view code = word.soft_code;
  std::string message;
  if (code == "glob") {
    message = "unquoted *, ? or [ is a filename pattern; quote it to pass it literally";
  } else if (code == "brace") {
    message = "unquoted { or } may be brace expansion; quote it to pass it literally";
  } else {
    message = "unquoted ~ expands to a home directory; quote it to pass it literally";
  }
  return Refuse(denial, word.soft_code, word.soft_offset, std::move(message));
}

bool Lexer::ReadWord(bool command_position, bool redirect_target, Token* tok, ShellDenial* denial) {
  tok->kind = TokKind::kWord;
  tok->offset = i_;
  tok->digits = true;
  last_unquoted_ = '\0';
  auto soft = [tok](const char* code, std::size_t pos) {
    if (tok->soft_code == nullptr) {
      tok->soft_code = code;
      tok->soft_offset = pos;
    }
  };
  bool closed_quote = false;  // the previous byte closed a quoted string
  for (;;) {
    SkipWordContinuations(tok);
    if (AtEnd(i_)) break;
    char c = t_[i_];
    if (IsPlain(c)) {
      std::size_t end = i_ + 1;
      while (end < t_.size() && IsPlain(t_[end])) ++end;
      if (!AppendRun(tok, t_.substr(i_, end - i_), false, denial)) return false;
      i_ = end;
      closed_quote = false;
      continue;
    }
    if (c == '<' || c == '>') {
      std::size_t n = SkipContinuations(i_ + 1);
      if (At(n) == '(' && !AtEnd(n)) {
        return Hard("process-substitution", i_,
                    "process substitution runs a command; it is not allowed", command_position, tok,
                    denial);
      }
      if (std::string_view raw = RawSoFar(tok); !redirect_target && tok->digits && !raw.empty()) {
        int fd = raw == "1" ? 1 : raw == "2" ? 2 : Token::kOtherFd;
        return ReadRedirection(i_, tok->offset, fd, tok, denial);
      }
      break;
    }
    if (IsWordEnd(c)) break;
    bool after_quote = closed_quote;
    closed_quote = false;
    if (c == '#' && after_quote) {
      // Bash keeps it in the word; shfmt starts a comment. Refuse rather than pick a side.
      return Hard("syntax", i_,
                  "'#' right after a closing quote: shells disagree whether it starts a comment; "
                  "quote the '#'",
                  command_position, tok, denial);
    }
    switch (c) {
      case '\'': {
        std::size_t close = t_.find('\'', i_ + 1);
        if (close == std::string_view::npos) {
          return Hard("syntax", i_, "unterminated single quote", command_position, tok, denial);
        }
        if (!AppendRun(tok, t_.substr(i_ + 1, close - i_ - 1), true, denial)) return false;
        tok->quoted = true;
        tok->digits = false;
        last_unquoted_ = '\0';
        i_ = close + 1;
        closed_quote = true;
        break;
      }
      case '"': {
        std::size_t open = i_;
        ++i_;
        for (;;) {
          SkipWordContinuations(tok);
          if (AtEnd(i_) || (t_[i_] == '\\' && AtEnd(i_ + 1))) {
            return Hard("syntax", open, "unterminated double quote", command_position, tok, denial);
          }
          char q = t_[i_];
          if (q == '"') break;
          if (q == '$') return Dollar(i_, command_position, tok, denial);
          if (q == '`') {
            return Hard("command-substitution", i_, "command substitution `...` is not allowed",
                        command_position, tok, denial);
          }
          if (q == '\\') {
            char e = t_[i_ + 1];
            if (e != '$' && e != '`' && e != '"' && e != '\\') {
              if (!Append(tok, '\\', true, denial)) return false;
            }
            if (!Append(tok, e, true, denial)) return false;
            i_ += 2;
            continue;
          }
          std::size_t end = i_ + 1;
          while (end < t_.size() && !IsDoubleQuoteSpecial(t_[end])) ++end;
          if (!AppendRun(tok, t_.substr(i_, end - i_), true, denial)) return false;
          i_ = end;
        }
        ++i_;
        tok->quoted = true;
        tok->digits = false;
        last_unquoted_ = '\0';
        closed_quote = true;
        break;
      }
      case '\\':
        if (AtEnd(i_ + 1)) {  // A backslash that ends the text stays (as bash).
          if (!Append(tok, '\\', false, denial)) return false;
          tok->digits = false;
          ++i_;
          break;
        }
        if (!Append(tok, t_[i_ + 1], true, denial)) return false;
        i_ += 2;
        break;
      case '$':
        return Dollar(i_, command_position, tok, denial);
      case '`':
        return Hard("command-substitution", i_, "command substitution `...` is not allowed",
                    command_position, tok, denial);
      default:
        if (c == '*' || c == '?' || c == '[') soft("glob", i_);
        if (c == '{' || c == '}') soft("brace", i_);
        if (c == '~' &&
            (RawSoFar(tok).empty() || ((last_unquoted_ == '=' || last_unquoted_ == ':') &&
                                       IsAssignmentWord(RawSoFar(tok))))) {
          soft("tilde", i_);
        }
        if (!Append(tok, c, false, denial)) return false;
        ++i_;
        break;
    }
  }
  tok->source = t_.substr(tok->offset, i_ - tok->offset);
  if (RawSoFar(tok).empty()) tok->digits = false;
  tok->end = i_;
  return true;
}

}  // namespace qvmr::shell_internal
