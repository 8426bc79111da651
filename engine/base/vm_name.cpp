#include "engine/base/vm_name.h"

namespace qvmr {
namespace {
bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsNameChar(char c) {
  return IsAlpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}
}  // namespace

bool IsValidVmName(std::string_view name) {
  if (name.empty() || name.size() > 31 || !IsAlpha(name[0])) return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

bool IsValidVmPattern(std::string_view pattern) {
  if (pattern.find('*') == std::string_view::npos) return IsValidVmName(pattern);
  // A pattern must be able to match some valid name: no other metacharacter, and a first
  // character a name may start with.
  if (pattern.size() > 31 || !(IsAlpha(pattern[0]) || pattern[0] == '*')) return false;
  for (char c : pattern) {
    if (!IsNameChar(c) && c != '*') return false;
  }
  return true;
}

bool VmPatternMatches(std::string_view pattern, std::string_view name) {
  // Iterative glob with '*' only; linear backtracking on the last star.
  std::size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace qvmr
