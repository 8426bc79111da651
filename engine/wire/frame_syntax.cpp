#include "engine/wire/frame_syntax.h"

#include "engine/wire/token.h"

namespace qvmr::frame_syntax {

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    std::size_t sp = line.find(' ');
    fields.push_back(line.substr(0, sp));
    if (sp == std::string_view::npos) break;
    line.remove_prefix(sp + 1);
  }
  for (std::string_view f : fields) {
    if (f.empty()) return {};
  }
  return fields;
}

bool ParseDecimal(std::string_view text, std::uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  if (text.size() > 1 && text.front() == '0') return false;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

bool IsScriptErrorCode(std::string_view code) {
  if (code.empty() || code.size() > 32) return false;
  for (char c : code) {
    if (!((c >= 'a' && c <= 'z') || c == '-')) return false;
  }
  return true;
}

bool IsRemovableName(std::string_view name) {
  constexpr std::string_view kAuth = ".auth";
  if (name.size() > kAuth.size() && name.substr(name.size() - kAuth.size()) == kAuth) {
    name.remove_suffix(kAuth.size());
  }
  return ClassifyCid(name) != CidShape::kInvalid;
}

}  // namespace qvmr::frame_syntax
