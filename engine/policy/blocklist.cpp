#include "engine/policy/blocklist.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>

namespace qvmr {

Blocklist::Blocklist() = default;
Blocklist::~Blocklist() = default;
Blocklist::Blocklist(Blocklist&&) noexcept = default;
Blocklist& Blocklist::operator=(Blocklist&&) noexcept = default;

Result<Blocklist> Blocklist::Compile(std::vector<BlockedPattern> patterns) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(64 << 20);
  Blocklist list;
  list.set_ = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
  for (const auto& p : patterns) {
    RE2 single(p.pattern, options);
    if (!single.ok()) {
      return MakeError("bad-regex",
                       "blocked pattern '" + p.pattern + "' does not compile: " + single.error(),
                       p.pos);
    }
    std::string error;
    if (list.set_->Add(p.pattern, &error) < 0) {
      return MakeError("bad-regex", "blocked pattern '" + p.pattern + "': " + error, p.pos);
    }
  }
  if (!list.set_->Compile()) {
    return MakeError("bad-regex", "the blocked patterns together exceed RE2's memory budget");
  }
  list.patterns_ = std::move(patterns);
  return list;
}

const BlockedPattern* Blocklist::FirstMatch(std::string_view text) const {
  if (patterns_.empty()) return nullptr;
  std::vector<int> hits;
  if (!set_->Match(re2::StringPiece(text.data(), text.size()), &hits)) return nullptr;
  return &patterns_[static_cast<std::size_t>(*std::min_element(hits.begin(), hits.end()))];
}

}  // namespace qvmr
