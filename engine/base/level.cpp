#include "engine/base/level.h"

#include <array>

namespace qvmr {
namespace {
constexpr std::array<std::string_view, 5> kNames = {"deny", "read-only", "monitor", "manage",
                                                    "full"};
}

std::optional<Level> ParseLevel(std::string_view text) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == text) return static_cast<Level>(i);
  }
  return std::nullopt;
}

std::string_view LevelName(Level level) {
  return kNames[static_cast<std::size_t>(level)];
}

}  // namespace qvmr
