// Internal to the shell analysis (shell.cpp): bash's tokenizer, reduced to what the analysis may
// accept. Words are returned with quotes removed; every construct that is not a literal word, an
// operator the analysis knows or `[n]>` / `[n]>&` is refused here with its reason code.
//
// Line continuations (backslash-newline) are removed wherever bash removes them (outside single
// quotes and comments), so they may split a word anywhere. One exception is refused rather than
// modelled: a continuation inside a multi-character operator (`&\<newline>&`), where shfmt and
// other tools disagree with bash. A comment whose last byte is a backslash is refused for the
// same reason.
#ifndef QVMR_ENGINE_SHELL_SHELL_LEXER_H_
#define QVMR_ENGINE_SHELL_SHELL_LEXER_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "engine/shell/shell.h"

namespace qvmr::shell_internal {

enum class TokKind {
  kEnd,       // end of text
  kWord,      // a literal word
  kNewline,   // `\n`
  kSemi,      // `;`
  kCaseSep,   // `;;`, `;&`, `;;&` (only valid in `case`)
  kAmp,       // `&`
  kAndAnd,    // `&&`
  kPipe,      // `|`
  kOrOr,      // `||`
  kPipeAmp,   // `|&`
  kLParen,    // `(`
  kRParen,    // `)`
  kRedirOut,  // `[n]>`
  kRedirDup,  // `[n]>&`
};

struct Token {
  TokKind kind = TokKind::kEnd;
  std::size_t offset = 0;  // first byte; for a redirection, its fd digits if any
  std::size_t end = 0;     // one past the last byte

  // kWord.
  std::string value;    // after quote removal
  bool quoted = false;  // some byte was quoted or escaped
  bool digits = false;  // non-empty and only unquoted digits
  // First "soft" problem inside the word (glob, brace, tilde): reported by the parser unless the
  // word turns out to be a reserved word in command position, where its own code wins.
  const char* soft_code = nullptr;
  std::size_t soft_offset = 0;

  // kRedirOut / kRedirDup: the fd digits as written: none, exactly "1" or "2", or other digits
  // (which the analysis refuses, so their value does not matter).
  static constexpr int kNoFd = -1;
  static constexpr int kOtherFd = -2;
  int fd = kNoFd;

  // kWord: the source bytes without line continuations. Almost no word has a continuation, and
  // then these bytes are exactly the text's slice [offset, end): keeping that slice instead of a
  // copy saves building a second string per word. Only a word with a continuation (`spliced`)
  // has them copied, without the continuations, into `spliced_raw`.
  std::string_view Raw() const { return spliced ? std::string_view(spliced_raw) : source; }
  std::string_view source;  // the text's [offset, end); the text outlives every token
  bool spliced = false;
  std::string spliced_raw;

  // Back to a default Token (as `*this = Token{}`), keeping the strings' capacity: one Token is
  // reused for every token of a text. Resets every field above.
  void Reset() {
    kind = TokKind::kEnd;
    offset = end = 0;
    value.clear();
    quoted = digits = false;
    soft_code = nullptr;
    soft_offset = 0;
    fd = kNoFd;
    source = {};
    spliced = false;
    spliced_raw.clear();
  }
};

// Fills *denial and returns false (so callers can `return Refuse(...)`).
bool Refuse(ShellDenial* denial, const char* code, std::size_t offset, std::string message);

// Refuses the word's first soft problem (it must have one).
bool SoftRefusal(const Token& word, ShellDenial* denial);

// True if `raw` (a word's source without continuations) is a bash assignment word:
// NAME=..., NAME+=..., NAME[...]=... or NAME[...]+=... with NAME = [A-Za-z_][A-Za-z0-9_]*.
bool IsAssignmentWord(std::string_view raw);

class Lexer {
 public:
  Lexer(std::string_view text, std::size_t max_word_bytes) : t_(text), max_word_(max_word_bytes) {}

  // Reads the next token. `command_position`: the word, if any, would be the first word of a
  // simple command (an assignment there is reported as "assignment"). `redirect_target`: the
  // word is the target of a redirection (digits before `<`/`>` are then not an fd). Returns false
  // with *denial filled when the text is refused.
  bool Next(bool command_position, bool redirect_target, Token* tok, ShellDenial* denial);

  // The first position at or after `pos` that does not start a line continuation.
  std::size_t SkipContinuations(std::size_t pos) const {
    while (pos + 1 < t_.size() && t_[pos] == '\\' && t_[pos + 1] == '\n') pos += 2;
    return pos;
  }

  std::string_view text() const { return t_; }

 private:
  bool ReadWord(bool command_position, bool redirect_target, Token* tok, ShellDenial* denial);
  bool ReadRedirection(std::size_t op, std::size_t start, int fd, Token* tok, ShellDenial* denial);
  bool Hard(const char* code, std::size_t pos, std::string message, bool command_position,
            Token* word, ShellDenial* denial);
  bool Dollar(std::size_t pos, bool command_position, Token* word, ShellDenial* denial);
  // Inside a word: skips continuations at i_, switching the word to a spliced raw if any.
  void SkipWordContinuations(Token* word) {
    if (std::size_t n = SkipContinuations(i_); n != i_) [[unlikely]] {
      Splice(word, n);
    }
  }
  void Splice(Token* word, std::size_t next);
  // The raw bytes of the word read so far (up to i_).
  std::string_view RawSoFar(Token* word) {
    if (!word->spliced) [[likely]] {
      return t_.substr(word->offset, i_ - word->offset);
    }
    return SplicedRawSoFar(word);
  }
  std::string_view SplicedRawSoFar(Token* word);
  // Position of the byte following the operator byte at `pos`, refusing a continuation there
  // when that byte would extend the operator (one of `extenders`).
  bool OperatorNext(std::size_t pos, std::string_view extenders, std::size_t* next,
                    ShellDenial* denial) const;
  bool Append(Token* tok, char c, bool quoted, ShellDenial* denial) {
    return AppendRun(tok, std::string_view(&c, 1), quoted, denial);
  }
  // Appends bytes to the word's value as if by one Append per byte, but in one string append.
  bool AppendRun(Token* tok, std::string_view bytes, bool quoted, ShellDenial* denial);
  char At(std::size_t pos) const { return pos < t_.size() ? t_[pos] : '\0'; }
  bool AtEnd(std::size_t pos) const { return pos >= t_.size(); }

  std::string_view t_;
  std::size_t max_word_;
  std::size_t i_ = 0;
  char last_unquoted_ = '\0';  // last byte appended to the current word, '\0' if it was quoted
  std::size_t seg_ = 0;        // spliced word: first byte of the text not yet in spliced_raw
};

}  // namespace qvmr::shell_internal

#endif  // QVMR_ENGINE_SHELL_SHELL_LEXER_H_
