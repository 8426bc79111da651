// The `blocked` patterns as one RE2 set: one pass over the text answers "does any pattern match,
// and which ones", whatever the number of patterns. Unanchored search.
//
// Fail closed: `blocked` is the one check that applies at every level, dev-mode included, so a
// search that RE2 cannot finish (its DFA out of memory, an inconsistent result) is an error the
// decision turns into a deny (code `limit`), never a "not blocked". RE2 reports such failures
// only through RE2::Set::ErrorInfo; a bare Match() returns false for them, as for "no match".
//
// Cost: Compile is linear in the patterns' size, bounded by the memory budget; FirstMatch is one
// DFA pass over the text (linear in its length) plus a scan of the hits.
// Thread safety: immutable after Compile; FirstMatch may be called from several threads at once
// (RE2::Set::Match is const and thread-safe).
#ifndef QVMR_ENGINE_POLICY_BLOCKLIST_H_
#define QVMR_ENGINE_POLICY_BLOCKLIST_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/limits.h"
#include "engine/base/result.h"

#include <re2/re2.h>
#include <re2/set.h>

namespace qvmr {

struct BlockedPattern {
  std::string pattern;  // RE2 syntax
  std::string reason;
  SourcePos pos;
};

// How one set search runs: RE2::Set::Match by default. Returns whether any pattern matched,
// fills `hits` with their indexes, and sets `error->kind` when the search could not finish.
using BlocklistSearch = bool (*)(const RE2::Set& set, std::string_view text, std::vector<int>* hits,
                                 RE2::Set::ErrorInfo* error);

struct BlocklistOptions {
  // RE2's budget for the compiled set, program and DFA cache together.
  std::int64_t max_mem_bytes = limits::kBlocklistMaxMemBytes;
  // A seam for tests: RE2 2022-06's Set::Compile runs the DFA once and refuses a set whose DFA
  // cannot start, so no budget makes a later search fail on demand; a test substitutes a search
  // that reports the error RE2 would. Null: RE2::Set::Match.
  BlocklistSearch search = nullptr;
};

class Blocklist {
 public:
  Blocklist();
  ~Blocklist();
  Blocklist(Blocklist&&) noexcept;
  Blocklist& operator=(Blocklist&&) noexcept;

  // Compiles every pattern (each on its own first, so an error names the pattern's position),
  // then the set. An empty list blocks nothing. Errors (code `bad-regex`): a pattern that does
  // not compile, or a set over the memory budget. Never throws.
  static Result<Blocklist> Compile(std::vector<BlockedPattern> patterns,
                                   const BlocklistOptions& options = {});

  // The first pattern (in load order) that matches anywhere in `text`, or nullptr if none does.
  // An error (code `limit`) if RE2 could not finish the search: the caller must deny.
  Result<const BlockedPattern*> FirstMatch(std::string_view text) const;

  const std::vector<BlockedPattern>& patterns() const { return patterns_; }

 private:
  Error SearchError(RE2::Set::ErrorKind kind) const;

  std::vector<BlockedPattern> patterns_;
  std::unique_ptr<RE2::Set> set_;
  BlocklistSearch search_ = nullptr;
  std::int64_t max_mem_bytes_ = 0;
};

}  // namespace qvmr

#endif  // QVMR_ENGINE_POLICY_BLOCKLIST_H_
