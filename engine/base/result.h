// Errors as values. A Result<T> holds either a T or an Error; nothing in the engine throws
// across its public interface (RE2's style: the caller decides what a failure means).
#ifndef QVMR_ENGINE_BASE_RESULT_H_
#define QVMR_ENGINE_BASE_RESULT_H_

#include <string>
#include <utility>
#include <variant>

namespace qvmr {

// Where something was written: 1-based line and column, as editors and compilers print them.
// line == 0 means "no position" (a whole file, or a value that came from no file).
struct SourcePos {
  std::string file;
  int line = 0;
  int column = 0;

  // "file:line:col", "file:line" with column 0, or "file" with line 0.
  std::string ToString() const;
  // "file:line" (what decisions quote for a rule).
  std::string FileLine() const;
};

struct Error {
  std::string code;     // stable, machine-readable: "yaml-syntax", "unknown-key", ...
  std::string message;  // for a person; does not repeat the position
  SourcePos pos;

  // "file:line:col: error: message" (or just the message when there is no position).
  std::string ToString() const;
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// For operations that produce nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

inline Error MakeError(std::string code, std::string message, SourcePos pos = {}) {
  return Error{std::move(code), std::move(message), std::move(pos)};
}

}  // namespace qvmr

#endif  // QVMR_ENGINE_BASE_RESULT_H_
