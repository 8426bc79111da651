// Permission levels, cumulative: each level may run everything the ones below it may.
#ifndef QVMR_ENGINE_BASE_LEVEL_H_
#define QVMR_ENGINE_BASE_LEVEL_H_

#include <optional>
#include <string_view>

namespace qvmr {

enum class Level { kDeny = 0, kReadOnly = 1, kMonitor = 2, kManage = 3, kFull = 4 };

// "deny", "read-only", "monitor", "manage", "full"; anything else is nullopt.
std::optional<Level> ParseLevel(std::string_view text);
std::string_view LevelName(Level level);

}  // namespace qvmr

#endif  // QVMR_ENGINE_BASE_LEVEL_H_
