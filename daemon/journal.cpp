#include "daemon/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

#include "daemon/journal_sqlite.h"

namespace qvmr {

using journal_sqlite::JournalError;
using journal_sqlite::Stmt;
using journal_sqlite::WriteTxn;

namespace {

// Schema version 1. WITHOUT ROWID: the (vm, cid) key is the row's identity, and the journal is
// looked up by it on every request.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS requests (
  vm TEXT NOT NULL,
  cid TEXT NOT NULL,
  version INTEGER NOT NULL CHECK (version IN (1, 2)),
  ping INTEGER NOT NULL,
  cid_time_ms INTEGER NOT NULL,
  claim_time_ms INTEGER NOT NULL,
  timeout_s INTEGER NOT NULL,
  state TEXT NOT NULL
    CHECK (state IN ('accepted', 'started', 'finished', 'delivered', 'abandoned')),
  containment_id TEXT, boot_id TEXT, leader_start_time INTEGER, started_ms INTEGER,
  status INTEGER, outcome TEXT, stdout_bytes INTEGER, stderr_bytes INTEGER, truncated TEXT,
  spool TEXT, meta TEXT, finished_ms INTEGER,
  delivered_ms INTEGER, abandoned_ms INTEGER, abandoned_why TEXT,
  PRIMARY KEY (vm, cid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS requests_by_time ON requests (vm, version, cid_time_ms);
CREATE INDEX IF NOT EXISTS requests_by_state ON requests (state, vm, cid_time_ms);
CREATE TABLE IF NOT EXISTS low_water (
  vm TEXT NOT NULL,
  version INTEGER NOT NULL,
  mark_ms INTEGER NOT NULL,
  PRIMARY KEY (vm, version)
) WITHOUT ROWID;
PRAGMA user_version = 1;
)sql";

constexpr const char* kRowColumns =
    "vm, cid, version, ping, cid_time_ms, claim_time_ms, timeout_s, state, containment_id, "
    "boot_id, leader_start_time, started_ms, status, outcome, stdout_bytes, stderr_bytes, "
    "truncated, spool, meta, finished_ms, delivered_ms, abandoned_ms, abandoned_why";

std::optional<JournalState> StateFromName(std::string_view name) {
  for (JournalState s : {JournalState::kAccepted, JournalState::kStarted, JournalState::kFinished,
                         JournalState::kDelivered, JournalState::kAbandoned}) {
    if (JournalStateName(s) == name) return s;
  }
  return std::nullopt;
}

JournalRow RowFromStmt(Stmt& s) {
  JournalRow row;
  row.accepted.vm = s.Text(0);
  row.accepted.cid = s.Text(1);
  row.accepted.version = static_cast<int>(s.Int(2));
  row.accepted.ping = s.Int(3) != 0;
  row.accepted.cid_time_ms = s.Int(4);
  row.accepted.claim_time_ms = s.Int(5);
  row.accepted.timeout_seconds = static_cast<std::uint32_t>(s.Int(6));
  // The CHECK constraint keeps the column to the five names.
  row.state = StateFromName(s.Text(7)).value_or(JournalState::kAccepted);
  if (!s.IsNull(8)) {
    row.started =
        StartedInfo{s.Text(8), s.Text(9), static_cast<std::uint64_t>(s.Int(10)), s.Int(11)};
  }
  if (!s.IsNull(12)) {
    row.finished = FinishedInfo{static_cast<int>(s.Int(12)),
                                s.Text(13),
                                static_cast<std::uint64_t>(s.Int(14)),
                                static_cast<std::uint64_t>(s.Int(15)),
                                s.Text(16),
                                s.Text(17),
                                s.Text(18),
                                s.Int(19)};
  }
  row.delivered_ms = s.IsNull(20) ? 0 : s.Int(20);
  row.abandoned_ms = s.IsNull(21) ? 0 : s.Int(21);
  row.abandoned_why = s.Text(22);
  return row;
}

// Runs a SELECT of kRowColumns (with `bind` filling its parameters) and collects the rows.
Result<std::vector<JournalRow>> SelectRows(sqlite3* db, const std::string& path,
                                           const std::string& sql,
                                           const std::function<void(Stmt&)>& bind) {
  Stmt s(db, sql.c_str());
  if (!s.prepared()) return JournalError(path, db, "cannot read rows");
  bind(s);
  std::vector<JournalRow> rows;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) rows.push_back(RowFromStmt(s));
  if (rc != SQLITE_DONE) return JournalError(path, db, "cannot read rows");
  return rows;
}

// Creates the journal's directory (0700) when it is missing; an existing one is left as it is.
Status MakeParentDir(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return Ok{};
  std::string dir = path.substr(0, slash);
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) return Ok{};
  Status made = Env::Posix()->MakeDirs(dir, 0700);
  if (!made) return MakeError("journal", "journal " + path + ": " + made.error().message);
  return Ok{};
}

}  // namespace

std::string_view JournalStateName(JournalState state) {
  switch (state) {
    case JournalState::kAccepted:
      return "accepted";
    case JournalState::kStarted:
      return "started";
    case JournalState::kFinished:
      return "finished";
    case JournalState::kDelivered:
      return "delivered";
    case JournalState::kAbandoned:
      return "abandoned";
  }
  return "accepted";
}

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& path, JournalOptions options) {
  if (Status dir = MakeParentDir(path); !dir) return dir.error();
  // Create the file ourselves so it is 0600 from its first byte (SQLite would use 0644, and
  // gives its -wal and -shm files the database file's mode). O_NOFOLLOW: never write through a
  // symlink planted in the state directory.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return MakeError("journal",
                     "journal " + path + ": cannot open for writing: " + std::strerror(errno));
  }
  ::close(fd);

  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, nullptr);
  if (rc != SQLITE_OK) {
    Error e = JournalError(path, db, "cannot open");
    sqlite3_close_v2(db);
    return e;
  }
  std::unique_ptr<Journal> journal(new Journal(path, db, options));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  // SQLite silently falls back to read-only when it may not write the file; a journal that
  // cannot record an accept must fail now, not at the first request.
  if (sqlite3_db_readonly(db, "main") == 1) {
    return MakeError("journal", "journal " + path + ": opened read-only (check its permissions)");
  }

  // The first read: a file that is not a database fails here.
  std::int64_t user_version = 0;
  {
    Stmt s(db, "PRAGMA user_version");
    if (!s.prepared() || s.Step() != SQLITE_ROW) {
      return JournalError(path, db, "cannot read the schema version");
    }
    user_version = s.Int(0);
  }
  if (user_version > kJournalSchemaVersion) {
    return MakeError("journal",
                     "journal " + path + ": schema version " + std::to_string(user_version) +
                         " is newer than this daemon's " + std::to_string(kJournalSchemaVersion) +
                         " (a newer qvm-remote-dom0 wrote it; refusing to downgrade it)");
  }
  {
    // journal_mode answers with the mode in effect: anything but "wal" means the file system
    // cannot hold WAL's shared memory, and commits would not be what the header promises.
    Stmt s(db, "PRAGMA journal_mode=WAL");
    if (!s.prepared() || s.Step() != SQLITE_ROW) {
      return JournalError(path, db, "cannot set WAL mode");
    }
    if (s.Text(0) != "wal") {
      return MakeError("journal",
                       "journal " + path + ": WAL mode refused (mode " + s.Text(0) + ")");
    }
  }
  if (sqlite3_exec(db, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return JournalError(path, db, "cannot set synchronous=FULL");
  }
  if (user_version < kJournalSchemaVersion) {
    WriteTxn txn(db);
    if (!txn.began() || sqlite3_exec(db, kSchemaV1, nullptr, nullptr, nullptr) != SQLITE_OK ||
        !txn.Commit()) {
      return JournalError(path, db, "cannot create the schema");
    }
  }
  return journal;
}

Journal::Journal(std::string path, sqlite3* db, JournalOptions options)
    : path_(std::move(path)), db_(db), options_(options) {}

Journal::~Journal() {
  sqlite3_close_v2(db_);
}

std::size_t Journal::CapFor(int version) const {
  return version == 1 ? options_.cap_v1 : options_.cap_v2;
}

std::int64_t Journal::WindowFor(int version) const {
  return version == 1 ? options_.prune_window_v1_ms : options_.prune_window_v2_ms;
}

Result<JournalFacts> Journal::Facts(const std::string& vm, const std::string& cid, int version) {
  std::lock_guard<std::mutex> lock(mu_);
  JournalFacts facts;
  facts.cap = CapFor(version);
  {
    Stmt s(db_, "SELECT state FROM requests WHERE vm = ?1 AND cid = ?2");
    if (!s.prepared()) return JournalError(path_, db_, "cannot look up a cid");
    s.Bind(1, vm);
    s.Bind(2, cid);
    int rc = s.Step();
    if (rc == SQLITE_ROW) {
      facts.seen = true;
      facts.state = StateFromName(s.Text(0));
    } else if (rc != SQLITE_DONE) {
      return JournalError(path_, db_, "cannot look up a cid");
    }
  }
  {
    Stmt s(db_, "SELECT mark_ms FROM low_water WHERE vm = ?1 AND version = ?2");
    if (!s.prepared()) return JournalError(path_, db_, "cannot read the low-water mark");
    s.Bind(1, vm);
    s.Bind(2, std::int64_t{version});
    int rc = s.Step();
    if (rc == SQLITE_ROW) {
      facts.low_water_mark = s.Int(0);
    } else if (rc != SQLITE_DONE) {
      return JournalError(path_, db_, "cannot read the low-water mark");
    }
  }
  {
    Stmt s(db_, "SELECT COUNT(*) FROM requests WHERE vm = ?1 AND version = ?2");
    if (!s.prepared() ||
        (s.Bind(1, vm), s.Bind(2, std::int64_t{version}), s.Step()) != SQLITE_ROW) {
      return JournalError(path_, db_, "cannot count rows");
    }
    facts.rows = static_cast<std::size_t>(s.Int(0));
  }
  return facts;
}

Result<std::vector<AcceptVerdict>> Journal::AcceptBatch(const std::vector<AcceptedRow>& rows) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<AcceptVerdict> verdicts;
  verdicts.reserve(rows.size());
  if (rows.empty()) return verdicts;
  WriteTxn txn(db_);
  if (!txn.began()) return JournalError(path_, db_, "cannot begin a transaction");

  Stmt seen(db_, "SELECT 1 FROM requests WHERE vm = ?1 AND cid = ?2");
  Stmt mark(db_, "SELECT mark_ms FROM low_water WHERE vm = ?1 AND version = ?2");
  Stmt count(db_, "SELECT COUNT(*) FROM requests WHERE vm = ?1 AND version = ?2");
  Stmt insert(db_,
              "INSERT INTO requests (vm, cid, version, ping, cid_time_ms, claim_time_ms, "
              "timeout_s, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'accepted')");
  if (!seen.prepared() || !mark.prepared() || !count.prepared() || !insert.prepared()) {
    return JournalError(path_, db_, "cannot prepare the accept statements");
  }
  // Per (vm, version) within this batch: the mark and the row count, read once.
  struct Budget {
    TimeMs mark = 0;
    std::size_t rows = 0;
  };
  std::map<std::pair<std::string, int>, Budget> budgets;

  for (const AcceptedRow& row : rows) {
    sqlite3_reset(seen.get());
    seen.Bind(1, row.vm);
    seen.Bind(2, row.cid);
    int rc = seen.Step();
    if (rc == SQLITE_ROW) {
      verdicts.push_back(AcceptVerdict::kDuplicate);
      continue;
    }
    if (rc != SQLITE_DONE) return JournalError(path_, db_, "cannot look up " + row.cid);

    auto key = std::make_pair(row.vm, row.version);
    auto it = budgets.find(key);
    if (it == budgets.end()) {
      Budget b;
      sqlite3_reset(mark.get());
      mark.Bind(1, row.vm);
      mark.Bind(2, std::int64_t{row.version});
      rc = mark.Step();
      if (rc == SQLITE_ROW) {
        b.mark = mark.Int(0);
      } else if (rc != SQLITE_DONE) {
        return JournalError(path_, db_, "cannot read the low-water mark");
      }
      sqlite3_reset(count.get());
      count.Bind(1, row.vm);
      count.Bind(2, std::int64_t{row.version});
      if (count.Step() != SQLITE_ROW) return JournalError(path_, db_, "cannot count rows");
      b.rows = static_cast<std::size_t>(count.Int(0));
      it = budgets.emplace(key, b).first;
    }
    if (row.cid_time_ms <= it->second.mark) {
      verdicts.push_back(AcceptVerdict::kStale);
      continue;
    }
    if (it->second.rows >= CapFor(row.version)) {
      verdicts.push_back(AcceptVerdict::kFull);
      continue;
    }
    sqlite3_reset(insert.get());
    insert.Bind(1, row.vm);
    insert.Bind(2, row.cid);
    insert.Bind(3, std::int64_t{row.version});
    insert.Bind(4, std::int64_t{row.ping ? 1 : 0});
    insert.Bind(5, row.cid_time_ms);
    insert.Bind(6, row.claim_time_ms);
    insert.Bind(7, std::int64_t{row.timeout_seconds});
    if (insert.Step() != SQLITE_DONE) return JournalError(path_, db_, "cannot record " + row.cid);
    ++it->second.rows;
    verdicts.push_back(AcceptVerdict::kAccepted);
  }
  // The commit point: with synchronous=FULL the WAL is fsynced before COMMIT returns.
  if (!txn.Commit()) return JournalError(path_, db_, "cannot commit the accepted batch");
  return verdicts;
}

Status Journal::Move(const std::string& vm, const std::string& cid, JournalState to,
                     std::initializer_list<JournalState> from, const char* update_sql,
                     const std::function<void(sqlite3_stmt*)>& bind) {
  std::lock_guard<std::mutex> lock(mu_);
  WriteTxn txn(db_);
  if (!txn.began()) return JournalError(path_, db_, "cannot begin a transaction");
  const std::string what = "vm " + vm + " cid " + cid;
  {
    Stmt s(db_, "SELECT state FROM requests WHERE vm = ?1 AND cid = ?2");
    if (!s.prepared()) return JournalError(path_, db_, "cannot look up " + what);
    s.Bind(1, vm);
    s.Bind(2, cid);
    int rc = s.Step();
    if (rc == SQLITE_DONE) {
      return MakeError("journal-state", "journal " + path_ + ": no row for " + what +
                                            " (cannot mark it " +
                                            std::string(JournalStateName(to)) + ")");
    }
    if (rc != SQLITE_ROW) return JournalError(path_, db_, "cannot look up " + what);
    std::optional<JournalState> now = StateFromName(s.Text(0));
    if (!now || std::find(from.begin(), from.end(), *now) == from.end()) {
      return MakeError("journal-state", "journal " + path_ + ": " + what + " is " + s.Text(0) +
                                            "; it cannot become " +
                                            std::string(JournalStateName(to)));
    }
  }
  Stmt u(db_, update_sql);
  if (!u.prepared()) return JournalError(path_, db_, "cannot update " + what);
  u.Bind(1, vm);
  u.Bind(2, cid);
  bind(u.get());
  if (u.Step() != SQLITE_DONE) return JournalError(path_, db_, "cannot update " + what);
  if (!txn.Commit()) return JournalError(path_, db_, "cannot commit " + what);
  return Ok{};
}

namespace {

void BindText(sqlite3_stmt* s, int i, const std::string& text) {
  sqlite3_bind_text(s, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

}  // namespace

Status Journal::MarkStarted(const std::string& vm, const std::string& cid,
                            const StartedInfo& info) {
  return Move(vm, cid, JournalState::kStarted, {JournalState::kAccepted},
              "UPDATE requests SET state = 'started', containment_id = ?3, boot_id = ?4, "
              "leader_start_time = ?5, started_ms = ?6 WHERE vm = ?1 AND cid = ?2",
              [&](sqlite3_stmt* s) {
                BindText(s, 3, info.containment_id);
                BindText(s, 4, info.boot_id);
                sqlite3_bind_int64(s, 5, static_cast<std::int64_t>(info.leader_start_time));
                sqlite3_bind_int64(s, 6, info.started_ms);
              });
}

Status Journal::MarkFinished(const std::string& vm, const std::string& cid,
                             const FinishedInfo& info) {
  return Move(vm, cid, JournalState::kFinished, {JournalState::kAccepted, JournalState::kStarted},
              "UPDATE requests SET state = 'finished', status = ?3, outcome = ?4, "
              "stdout_bytes = ?5, stderr_bytes = ?6, truncated = ?7, spool = ?8, meta = ?9, "
              "finished_ms = ?10 WHERE vm = ?1 AND cid = ?2",
              [&](sqlite3_stmt* s) {
                sqlite3_bind_int64(s, 3, info.status);
                BindText(s, 4, info.outcome);
                sqlite3_bind_int64(s, 5, static_cast<std::int64_t>(info.stdout_bytes));
                sqlite3_bind_int64(s, 6, static_cast<std::int64_t>(info.stderr_bytes));
                BindText(s, 7, info.truncated);
                BindText(s, 8, info.spool);
                BindText(s, 9, info.meta);
                sqlite3_bind_int64(s, 10, info.finished_ms);
              });
}

Status Journal::MarkDelivered(const std::string& vm, const std::string& cid, TimeMs when) {
  return Move(vm, cid, JournalState::kDelivered, {JournalState::kFinished},
              "UPDATE requests SET state = 'delivered', delivered_ms = ?3 "
              "WHERE vm = ?1 AND cid = ?2",
              [&](sqlite3_stmt* s) { sqlite3_bind_int64(s, 3, when); });
}

Status Journal::MarkAbandoned(const std::string& vm, const std::string& cid, TimeMs when,
                              const std::string& why) {
  return Move(vm, cid, JournalState::kAbandoned, {JournalState::kFinished},
              "UPDATE requests SET state = 'abandoned', abandoned_ms = ?3, abandoned_why = ?4 "
              "WHERE vm = ?1 AND cid = ?2",
              [&](sqlite3_stmt* s) {
                sqlite3_bind_int64(s, 3, when);
                BindText(s, 4, why);
              });
}

Result<std::vector<JournalRow>> Journal::Unfinished() {
  std::lock_guard<std::mutex> lock(mu_);
  return SelectRows(db_, path_,
                    std::string("SELECT ") + kRowColumns +
                        " FROM requests WHERE state IN ('accepted', 'started', 'finished') "
                        "ORDER BY vm, cid_time_ms, cid",
                    [](Stmt&) {});
}

Result<std::vector<JournalRow>> Journal::Undelivered(const std::string& vm) {
  std::lock_guard<std::mutex> lock(mu_);
  return SelectRows(db_, path_,
                    std::string("SELECT ") + kRowColumns +
                        " FROM requests WHERE state = 'finished' AND vm = ?1 "
                        "ORDER BY cid_time_ms, cid",
                    [&](Stmt& s) { s.Bind(1, vm); });
}

Result<std::vector<std::string>> Journal::Delivered(const std::string& vm) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "SELECT cid FROM requests WHERE state = 'delivered' AND vm = ?1 "
         "ORDER BY cid_time_ms, cid");
  if (!s.prepared()) return JournalError(path_, db_, "cannot read delivered rows");
  s.Bind(1, vm);
  std::vector<std::string> cids;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) cids.push_back(s.Text(0));
  if (rc != SQLITE_DONE) return JournalError(path_, db_, "cannot read delivered rows");
  return cids;
}

Result<std::optional<JournalRow>> Journal::Find(const std::string& vm, const std::string& cid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto rows =
      SelectRows(db_, path_,
                 std::string("SELECT ") + kRowColumns + " FROM requests WHERE vm = ?1 AND cid = ?2",
                 [&](Stmt& s) {
                   s.Bind(1, vm);
                   s.Bind(2, cid);
                 });
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<JournalRow>();
  return std::optional<JournalRow>(std::move(rows->front()));
}

}  // namespace qvmr
