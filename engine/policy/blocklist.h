// The `blocked` patterns as one RE2 set: one pass over the text answers "does any pattern match,
// and which ones", whatever the number of patterns. Unanchored search.
#ifndef QVMR_ENGINE_POLICY_BLOCKLIST_H_
#define QVMR_ENGINE_POLICY_BLOCKLIST_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"

#include <re2/re2.h>
#include <re2/set.h>

namespace qvmr {

struct BlockedPattern {
  std::string pattern;  // RE2 syntax
  std::string reason;
  SourcePos pos;
};

class Blocklist {
 public:
  Blocklist();
  ~Blocklist();
  Blocklist(Blocklist&&) noexcept;
  Blocklist& operator=(Blocklist&&) noexcept;

  // Compiles every pattern (each on its own first, so an error names the pattern's position),
  // then the set. An empty list blocks nothing.
  static Result<Blocklist> Compile(std::vector<BlockedPattern> patterns);

  // The first pattern (in load order) that matches anywhere in `text`, or nullptr.
  const BlockedPattern* FirstMatch(std::string_view text) const;

  const std::vector<BlockedPattern>& patterns() const { return patterns_; }

 private:
  std::vector<BlockedPattern> patterns_;
  std::unique_ptr<RE2::Set> set_;
};

}  // namespace qvmr

#endif  // QVMR_ENGINE_POLICY_BLOCKLIST_H_
