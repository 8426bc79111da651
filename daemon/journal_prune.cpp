// Journal retention: pruning delivered rows by cid time and the low-water mark that keeps a
// pruned cid from ever being accepted again (CONTRACT.md "Journal"; the rule is in journal.h).
#include <algorithm>
#include <utility>

#include "daemon/journal.h"
#include "daemon/journal_sqlite.h"

namespace qvmr {

using journal_sqlite::JournalError;
using journal_sqlite::Stmt;
using journal_sqlite::WriteTxn;

Result<std::size_t> Journal::Prune(const std::string& vm, int version, TimeMs now) {
  std::lock_guard<std::mutex> lock(mu_);
  return PruneLocked(vm, version, now);
}

Result<std::size_t> Journal::PruneAll(TimeMs now) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, int>> keys;
  {
    Stmt s(db_, "SELECT DISTINCT vm, version FROM requests");
    if (!s.prepared()) return JournalError(path_, db_, "cannot list VMs");
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) keys.emplace_back(s.Text(0), static_cast<int>(s.Int(1)));
    if (rc != SQLITE_DONE) return JournalError(path_, db_, "cannot list VMs");
  }
  std::size_t total = 0;
  for (const auto& [vm, version] : keys) {
    auto pruned = PruneLocked(vm, version, now);
    if (!pruned) return pruned.error();
    total += *pruned;
  }
  return total;
}

Result<std::size_t> Journal::PruneLocked(const std::string& vm, int version, TimeMs now) {
  WriteTxn txn(db_);
  if (!txn.began()) return JournalError(path_, db_, "cannot begin a transaction");
  TimeMs newest = 0;
  {
    Stmt s(db_, "SELECT MAX(cid_time_ms) FROM requests WHERE vm = ?1 AND version = ?2");
    if (!s.prepared() ||
        (s.Bind(1, vm), s.Bind(2, std::int64_t{version}), s.Step()) != SQLITE_ROW) {
      return JournalError(path_, db_, "cannot read the newest cid time");
    }
    if (s.IsNull(0)) return std::size_t{0};  // no rows
    newest = s.Int(0);
  }
  // By the cid's own time, bounded by the newest request: a clock that jumps forward cannot
  // prune (and so make replayable-then-stale) anything newer requests have not already passed.
  const TimeMs cutoff = std::min(now, newest) - WindowFor(version);
  constexpr const char* kPrunable =
      " FROM requests WHERE vm = ?1 AND version = ?2 AND cid_time_ms < ?3 "
      "AND state IN ('delivered', 'abandoned')";
  std::size_t count = 0;
  TimeMs highest = 0;
  {
    Stmt s(db_, (std::string("SELECT COUNT(*), MAX(cid_time_ms)") + kPrunable).c_str());
    if (!s.prepared() || (s.Bind(1, vm), s.Bind(2, std::int64_t{version}), s.Bind(3, cutoff),
                          s.Step()) != SQLITE_ROW) {
      return JournalError(path_, db_, "cannot select rows to prune");
    }
    count = static_cast<std::size_t>(s.Int(0));
    highest = s.Int(1);
  }
  if (count == 0) return std::size_t{0};
  {
    Stmt s(db_, (std::string("DELETE") + kPrunable).c_str());
    if (!s.prepared() || (s.Bind(1, vm), s.Bind(2, std::int64_t{version}), s.Bind(3, cutoff),
                          s.Step()) != SQLITE_DONE) {
      return JournalError(path_, db_, "cannot prune");
    }
  }
  {
    // The mark only rises: a pruned cid can never be accepted again, whatever the clock does.
    Stmt s(db_,
           "INSERT INTO low_water (vm, version, mark_ms) VALUES (?1, ?2, ?3) "
           "ON CONFLICT (vm, version) DO UPDATE SET mark_ms = MAX(mark_ms, excluded.mark_ms)");
    if (!s.prepared() || (s.Bind(1, vm), s.Bind(2, std::int64_t{version}), s.Bind(3, highest),
                          s.Step()) != SQLITE_DONE) {
      return JournalError(path_, db_, "cannot raise the low-water mark");
    }
  }
  if (!txn.Commit()) return JournalError(path_, db_, "cannot commit the prune");
  return count;
}

}  // namespace qvmr
