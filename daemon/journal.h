// The replay journal: one SQLite row per (VM, cid) that passed validation, recording how far the
// request got, so that nothing past the commit point ever runs twice and nothing accepted is
// silently lost (CONTRACT.md "Journal", DESIGN.md "Reliability").
//
//   accepted ──MarkStarted──> started ──MarkFinished──> finished ──MarkDelivered──> delivered
//      └───────────────MarkFinished──────────────────────┘   └─────MarkAbandoned──> abandoned
//
// accepted → finished directly is legal: a ping, a denial, or a deadline that passed before a
// worker took the request are answered without starting anything. Any other move is an error
// value (code "journal-state"); a row never goes back. Only delivered and abandoned rows are ever
// pruned, so accepted, started and finished rows stay whatever their age and count against the
// cap, and a full journal refuses new rows instead of evicting old ones.
//
// Storage: WAL mode, synchronous=FULL (a commit is on disk when the call returns), busy_timeout,
// the file 0600 in a 0700 directory. PRAGMA user_version holds kJournalSchemaVersion; a journal
// written by a newer daemon is refused at Open, never migrated down.
//
// Thread safety: one connection behind one mutex; every method is safe for concurrent use and
// runs its statements as one transaction. Calls are serialised, so keep them out of per-byte
// paths (one AcceptBatch per fetched batch, a few Mark* per request).
//
// Failure: every method returns an Error with code "journal" whose message names the file and
// SQLite's own text (disk full, read-only file, "file is not a database", ...), or code
// "journal-state" for a move the state machine forbids or a row that does not exist. After an
// Error the journal is unchanged (the transaction was rolled back) and stays usable.
#ifndef QVMR_DAEMON_JOURNAL_H_
#define QVMR_DAEMON_JOURNAL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/env.h"
#include "engine/base/limits.h"
#include "engine/base/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace qvmr {

// History: 1 — requests(vm, cid, ...) and low_water(vm, version, mark_ms).
inline constexpr int kJournalSchemaVersion = 1;

enum class JournalState { kAccepted, kStarted, kFinished, kDelivered, kAbandoned };
// "accepted", "started", "finished", "delivered", "abandoned" (the words stored in the file).
std::string_view JournalStateName(JournalState state);

struct JournalOptions {
  // Rows per (VM, version); `--journal-cap`, `--journal-cap-v1`.
  std::size_t cap_v2 = limits::kJournalCapV2;
  std::size_t cap_v1 = limits::kJournalCapV1;
  // How far below min(now, newest cid time) a delivered row's cid time must be to be pruned.
  std::int64_t prune_window_v2_ms = limits::kPruneWindowV2Ms;
  std::int64_t prune_window_v1_ms = limits::kPruneWindowV1Ms;
  // How long a statement waits for a lock held by another connection (e.g. an `sqlite3` shell
  // an administrator left open) before failing with "database is locked".
  int busy_timeout_ms = 5000;
};

// What validation steps 2, 10 and 11 need to know about one request (CONTRACT.md "Request
// validation"), read in one call.
struct JournalFacts {
  bool seen = false;                  // a row for (vm, cid) exists, in any state
  std::optional<JournalState> state;  // that row's state when seen
  TimeMs low_water_mark = 0;          // of (vm, version): cid times at or below it are stale
  std::size_t rows = 0;               // rows of (vm, version), any state
  std::size_t cap = 0;                // the cap for that version: rows >= cap means full
};

// A request that passed validation steps 1–11. Times are wall-clock ms: the executor turns
// claim_time_ms + timeout into a monotonic deadline itself, so the row means the same after a
// restart (when the monotonic clock has started over).
struct AcceptedRow {
  std::string vm;
  std::string cid;
  int version = 2;                    // 1 or 2
  bool ping = false;                  // kind=ping (v2) or a v1 ping cid
  TimeMs cid_time_ms = 0;             // the time the cid names (what pruning and freshness compare)
  TimeMs claim_time_ms = 0;           // when dom0's side of the transport claimed it
  std::uint32_t timeout_seconds = 0;  // the request's (v1: 0, meaning the policy's cap)
};

// Written after fork, before exec (the child waits until this is durable): enough to find and
// kill leftovers after a crash, and to be sure they are ours (same boot, same process).
struct StartedInfo {
  // A process group id for now; later a cgroup path or a PID namespace's init pid.
  std::string containment_id;
  // /proc/sys/kernel/random/boot_id, read by the caller: pids mean nothing across a reboot.
  std::string boot_id;
  // Field 22 of /proc/<leader>/stat (clock ticks since boot): a reused pid has another one.
  std::uint64_t leader_start_time = 0;
  TimeMs started_ms = 0;  // wall clock, for `.meta started=` and duration_ms
};

// Written once the result is complete in the spool: enough to deliver it after a crash without
// re-running anything (`meta` is the encoded `.meta` text, exactly what goes to the VM).
struct FinishedInfo {
  int status = 0;       // the `.exit` value: 0..255, or -N for a death by signal N
  std::string outcome;  // `.meta outcome=`: ok, denied, timeout, interrupted, error
  std::uint64_t stdout_bytes = 0;
  std::uint64_t stderr_bytes = 0;
  std::string truncated;  // `.meta truncated=`: "", "stdout", "stderr", "stdout,stderr", ...
  std::string spool;      // where the spooled .out/.err live (a spool id or path prefix)
  std::string meta;       // the encoded `.meta` text
  TimeMs finished_ms = 0;
};

struct JournalRow {
  AcceptedRow accepted;
  JournalState state = JournalState::kAccepted;
  std::optional<StartedInfo> started;    // set once started (kept in later states)
  std::optional<FinishedInfo> finished;  // set once finished (kept in later states)
  TimeMs delivered_ms = 0;               // set once delivered
  TimeMs abandoned_ms = 0;               // set once abandoned
  std::string abandoned_why;
};

// What AcceptBatch did with each row, in the order given.
enum class AcceptVerdict {
  kAccepted,   // durable: the request may run
  kDuplicate,  // (vm, cid) already had a row (an earlier batch, or earlier in this one)
  kStale,      // cid time at or below the low-water mark (a Prune raised it since the check)
  kFull,       // (vm, version) already held `cap` rows
};

class Journal {
 public:
  // Opens (creating if missing: the directory 0700, the file 0600) the journal at `path`, sets
  // WAL, synchronous=FULL and the busy timeout, and creates or checks the schema. Fails with
  // code "journal" when the file cannot be opened for writing, is not a database, or was
  // written by a newer schema (the message says which).
  static Result<std::unique_ptr<Journal>> Open(const std::string& path,
                                               JournalOptions options = {});
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  const std::string& path() const { return path_; }

  // Validation's view of one request: whether (vm, cid) was seen, and the low-water mark, row
  // count and cap of (vm, version). Read-only.
  Result<JournalFacts> Facts(const std::string& vm, const std::string& cid, int version);

  // Records a fetched batch in ONE transaction (group commit): when this returns Ok, every row
  // whose verdict is kAccepted is durable — the commit point — and the request may run. The
  // other verdicts are not errors: a duplicate is never run again, a stale or full one is
  // answered as validation would have (`stale`, `journal-full`). They are re-checked here,
  // inside the transaction, so that a row counted by Facts before another thread's batch or
  // Prune cannot slip past the cap or the mark. On an Error nothing of the batch was recorded
  // and the caller answers each request `error` / `journal`.
  Result<std::vector<AcceptVerdict>> AcceptBatch(const std::vector<AcceptedRow>& rows);

  // State moves. Each checks the row's current state (see the diagram above) and fails with
  // "journal-state" naming the VM, cid and both states for an illegal move or a missing row.
  Status MarkStarted(const std::string& vm, const std::string& cid, const StartedInfo& info);
  Status MarkFinished(const std::string& vm, const std::string& cid, const FinishedInfo& info);
  Status MarkDelivered(const std::string& vm, const std::string& cid, TimeMs when);
  // Only from finished: to drop a request that never finished, MarkFinished it as
  // `interrupted` first, so every abandoned row says what its result would have been.
  Status MarkAbandoned(const std::string& vm, const std::string& cid, TimeMs when,
                       const std::string& why);

  // The restart table: every accepted, started and finished row of every VM, ordered by VM,
  // then cid time, then cid.
  Result<std::vector<JournalRow>> Unfinished();
  // The finished rows of one VM (results to deliver), in cid-time order.
  Result<std::vector<JournalRow>> Undelivered(const std::string& vm);
  // The cids of one VM's delivered rows still in the journal (their queue entries get removed;
  // a cid arriving again is a replay: never answered, never run).
  Result<std::vector<std::string>> Delivered(const std::string& vm);
  // One row, or nullopt when (vm, cid) has none.
  Result<std::optional<JournalRow>> Find(const std::string& vm, const std::string& cid);

  // Prunes (vm, version): deletes delivered and abandoned rows whose cid time is below
  // min(now, newest cid time of (vm, version)) − window, and raises the persisted low-water mark
  // to the highest cid time it deleted (it never decreases). Because of the min(), a forward
  // clock jump prunes nothing a new request has not already passed; a backward one prunes less.
  // Returns how many rows were deleted.
  Result<std::size_t> Prune(const std::string& vm, int version, TimeMs now);
  // Prune() for every (vm, version) that has rows. Returns the total deleted.
  Result<std::size_t> PruneAll(TimeMs now);

 private:
  Journal(std::string path, sqlite3* db, JournalOptions options);

  std::size_t CapFor(int version) const;
  std::int64_t WindowFor(int version) const;
  // REQUIRES: mu_ held.
  Result<std::size_t> PruneLocked(const std::string& vm, int version, TimeMs now);
  // Moves (vm, cid) from one of `from` to `to` in one transaction; `update_sql` sets the new
  // columns, with ?1 = vm and ?2 = cid and `bind` filling the rest. REQUIRES: mu_ not held.
  Status Move(const std::string& vm, const std::string& cid, JournalState to,
              std::initializer_list<JournalState> from, const char* update_sql,
              const std::function<void(sqlite3_stmt*)>& bind);

  const std::string path_;
  sqlite3* const db_;
  const JournalOptions options_;
  std::mutex mu_;  // guards every use of db_
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_JOURNAL_H_
