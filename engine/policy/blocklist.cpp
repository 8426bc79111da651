#include "engine/policy/blocklist.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>

namespace qvmr {
namespace {

bool Re2SetMatch(const RE2::Set& set, std::string_view text, std::vector<int>* hits,
                 RE2::Set::ErrorInfo* error) {
  return set.Match(re2::StringPiece(text.data(), text.size()), hits, error);
}

std::string SearchErrorText(RE2::Set::ErrorKind kind) {
  switch (kind) {
    case RE2::Set::kOutOfMemory:
      return "RE2 ran out of memory";
    case RE2::Set::kNotCompiled:
      return "the pattern set is not compiled";
    case RE2::Set::kInconsistent:
      return "RE2 gave an inconsistent result";
    case RE2::Set::kNoError:
      break;
  }
  return "RE2 reported an unknown error";
}

}  // namespace

Blocklist::Blocklist() = default;
Blocklist::~Blocklist() = default;
Blocklist::Blocklist(Blocklist&&) noexcept = default;
Blocklist& Blocklist::operator=(Blocklist&&) noexcept = default;

Result<Blocklist> Blocklist::Compile(std::vector<BlockedPattern> patterns,
                                     const BlocklistOptions& options) {
  RE2::Options re2_options;
  re2_options.set_log_errors(false);
  re2_options.set_max_mem(options.max_mem_bytes);
  Blocklist list;
  list.search_ = options.search ? options.search : &Re2SetMatch;
  list.max_mem_bytes_ = options.max_mem_bytes;
  list.set_ = std::make_unique<RE2::Set>(re2_options, RE2::UNANCHORED);
  for (const auto& p : patterns) {
    RE2 single(p.pattern, re2_options);
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
    return MakeError("bad-regex", "the blocked patterns together exceed RE2's memory budget (" +
                                      std::to_string(options.max_mem_bytes) + " bytes)");
  }
  list.patterns_ = std::move(patterns);
  return list;
}

Error Blocklist::SearchError(RE2::Set::ErrorKind kind) const {
  return MakeError("limit", "the blocked patterns could not be searched (" + SearchErrorText(kind) +
                                "; budget " + std::to_string(max_mem_bytes_) +
                                " bytes): denied rather than run a command no pattern checked");
}

Result<const BlockedPattern*> Blocklist::FirstMatch(std::string_view text) const {
  if (patterns_.empty()) return nullptr;
  std::vector<int> hits;
  RE2::Set::ErrorInfo error{RE2::Set::kNoError};
  const bool matched = search_(*set_, text, &hits, &error);
  // Checked before `matched`: RE2 returns false for a search it could not finish. A match
  // without hits is RE2's own "inconsistent" case, reported the same way.
  if (error.kind == RE2::Set::kNoError && matched && hits.empty()) {
    error.kind = RE2::Set::kInconsistent;
  }
  if (error.kind != RE2::Set::kNoError) return SearchError(error.kind);
  if (!matched) return nullptr;
  const int first = *std::min_element(hits.begin(), hits.end());
  if (first < 0 || static_cast<std::size_t>(first) >= patterns_.size()) {
    return SearchError(RE2::Set::kInconsistent);
  }
  return &patterns_[static_cast<std::size_t>(first)];
}

}  // namespace qvmr
