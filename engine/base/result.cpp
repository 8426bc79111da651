#include "engine/base/result.h"

namespace qvmr {

std::string SourcePos::ToString() const {
  if (line <= 0) return file;
  std::string s = file + ":" + std::to_string(line);
  if (column > 0) s += ":" + std::to_string(column);
  return s;
}

std::string SourcePos::FileLine() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line);
}

std::string Error::ToString() const {
  std::string where = pos.ToString();
  if (where.empty()) return "error: " + message;
  return where + ": error: " + message;
}

}  // namespace qvmr
