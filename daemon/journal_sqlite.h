// Internal to the journal's .cpp files (not for the rest of the daemon): RAII over SQLite's C
// API and the one way journal errors are worded. Thread safety: none of its own; the Journal's
// mutex guards every use.
#ifndef QVMR_DAEMON_JOURNAL_SQLITE_H_
#define QVMR_DAEMON_JOURNAL_SQLITE_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "engine/base/result.h"

namespace qvmr::journal_sqlite {

// Code "journal": "journal <path>: <what>: <SQLite's message>".
inline Error JournalError(const std::string& path, sqlite3* db, const std::string& what) {
  std::string message = "journal " + path + ": " + what;
  if (db != nullptr) message += ": " + std::string(sqlite3_errmsg(db));
  return MakeError("journal", std::move(message));
}

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool prepared() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return stmt_; }
  void Bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, std::int64_t value) { sqlite3_bind_int64(stmt_, i, value); }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  std::int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(p),
                                      static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

// A write transaction (BEGIN IMMEDIATE: takes the write lock up front, so a busy journal fails
// at BEGIN, not half-way). Rolled back unless Commit() succeeded.
class WriteTxn {
 public:
  explicit WriteTxn(sqlite3* db) : db_(db) {
    began_ = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~WriteTxn() {
    if (began_ && !committed_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  bool began() const { return began_; }
  bool Commit() {
    committed_ = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
    return committed_;
  }

 private:
  sqlite3* db_;
  bool began_ = false;
  bool committed_ = false;
};

}  // namespace qvmr::journal_sqlite

#endif  // QVMR_DAEMON_JOURNAL_SQLITE_H_
