// Tests for daemon/journal.h: the state machine, the commit point (including a crash right after
// it), duplicates, pruning by cid time with clock jumps, the low-water mark, caps, and failures
// returned as values. Each test uses a fresh journal in its own temporary directory.
#include "daemon/journal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace qvmr {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr TimeMs kT0 = 1795400000000;  // an arbitrary instant in 2026
constexpr TimeMs kMinute = 60 * 1000;

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qvmr-journal-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/state/journal.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Journal> OpenJournal(JournalOptions options = {}) {
    auto j = Journal::Open(path_, options);
    EXPECT_TRUE(j.ok()) << j.error().message;
    return j.ok() ? std::move(j.value()) : nullptr;
  }

  static AcceptedRow Row(const std::string& vm, const std::string& cid, TimeMs cid_time,
                         int version = 2) {
    return AcceptedRow{vm, cid, version, false, cid_time, cid_time + 100, 60};
  }

  static void Accept(Journal& j, const AcceptedRow& row) {
    auto v = j.AcceptBatch({row});
    ASSERT_TRUE(v.ok()) << v.error().message;
    ASSERT_THAT(*v, ElementsAre(AcceptVerdict::kAccepted)) << row.cid;
  }

  // Accepts `cid` and walks it to `state` along the legal moves.
  static void AcceptInState(Journal& j, const AcceptedRow& row, JournalState state) {
    Accept(j, row);
    if (state == JournalState::kAccepted) return;
    ASSERT_TRUE(j.MarkStarted(row.vm, row.cid, {"4242", "boot-a", 777, row.claim_time_ms}));
    if (state == JournalState::kStarted) return;
    ASSERT_TRUE(j.MarkFinished(row.vm, row.cid, {0, "ok", 3, 0, "", "spool-1", "id=x\n", 0}));
    if (state == JournalState::kFinished) return;
    if (state == JournalState::kDelivered) {
      ASSERT_TRUE(j.MarkDelivered(row.vm, row.cid, row.claim_time_ms + 1));
    } else {
      ASSERT_TRUE(j.MarkAbandoned(row.vm, row.cid, row.claim_time_ms + 1, "vm gone"));
    }
  }

  static std::vector<std::string> Cids(Journal& j, const std::string& vm) {
    std::vector<std::string> cids;
    auto unfinished = j.Unfinished();
    EXPECT_TRUE(unfinished.ok());
    for (const auto& r : *unfinished) {
      if (r.accepted.vm == vm) cids.push_back(r.accepted.cid);
    }
    auto delivered = j.Delivered(vm);
    EXPECT_TRUE(delivered.ok());
    cids.insert(cids.end(), delivered->begin(), delivered->end());
    std::sort(cids.begin(), cids.end());
    return cids;
  }

  std::string dir_;
  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// Opening

TEST_F(JournalTest, OpenCreatesTheFile0600InADirectory0700) {
  auto j = OpenJournal();
  ASSERT_NE(j, nullptr);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((dir_ + "/state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(j->path(), path_);
}

TEST_F(JournalTest, OpenRefusesAFileThatIsNotADatabaseNamingThePath) {
  std::filesystem::create_directories(dir_ + "/state");
  std::ofstream(path_) << std::string(8192, 'x');
  auto j = Journal::Open(path_);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().code, "journal");
  EXPECT_THAT(j.error().message, HasSubstr(path_));
  EXPECT_THAT(j.error().message, HasSubstr("not a database"));
}

TEST_F(JournalTest, OpenRefusesAJournalWrittenByANewerSchema) {
  ASSERT_NE(OpenJournal(), nullptr);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 2", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto j = Journal::Open(path_);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().code, "journal");
  EXPECT_THAT(j.error().message, HasSubstr("schema version 2"));
}

TEST_F(JournalTest, OpenFailsAsAValueWhenTheDirectoryCannotExist) {
  std::ofstream(dir_ + "/file") << "x";
  auto j = Journal::Open(dir_ + "/file/journal.db");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().code, "journal");
  EXPECT_THAT(j.error().message, HasSubstr(dir_ + "/file"));
}

TEST_F(JournalTest, OpenRefusesASymlinkedJournalFile) {
  std::filesystem::create_directories(dir_ + "/state");
  std::filesystem::create_symlink(dir_ + "/elsewhere.db", path_);
  auto j = Journal::Open(path_);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().code, "journal");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/elsewhere.db"));
}

TEST_F(JournalTest, AReadOnlyJournalFileIsAnErrorValue) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes a 0400 file anyway (CI runs as root)";
  ASSERT_NE(OpenJournal(), nullptr);
  ASSERT_EQ(::chmod(path_.c_str(), 0400), 0);
  auto j = Journal::Open(path_);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().code, "journal");
  EXPECT_THAT(j.error().message, HasSubstr(path_));
}

TEST_F(JournalTest, AnUnwritableDirectoryIsAnErrorValue) {
  if (::geteuid() == 0) GTEST_SKIP() << "root creates files in a 0500 directory anyway";
  std::filesystem::create_directories(dir_ + "/state");
  ASSERT_EQ(::chmod((dir_ + "/state").c_str(), 0500), 0);
  auto j = Journal::Open(path_);
  ::chmod((dir_ + "/state").c_str(), 0700);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().code, "journal");
  EXPECT_THAT(j.error().message, HasSubstr(path_));
}

// ---------------------------------------------------------------------------------------------
// The commit point

TEST_F(JournalTest, AcceptedRowsSurviveCloseAndReopen) {
  {
    auto j = OpenJournal();
    Accept(*j, Row("work", "c1", kT0));
    Accept(*j, Row("work", "c2", kT0 + 1));
  }
  auto j = OpenJournal();
  auto facts = j->Facts("work", "c1", 2);
  ASSERT_TRUE(facts.ok());
  EXPECT_TRUE(facts->seen);
  EXPECT_EQ(facts->state, JournalState::kAccepted);
  EXPECT_EQ(facts->rows, 2u);
}

TEST_F(JournalTest, ABatchIsDurableTheMomentAcceptBatchReturnsEvenIfTheProcessDiesThen) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child: no gtest here; its exit status says how far it got.
    auto j = Journal::Open(path_);
    if (!j.ok()) ::_exit(2);
    auto v = (*j)->AcceptBatch({Row("work", "c1", kT0), Row("work", "c2", kT0 + 1)});
    if (!v.ok()) ::_exit(3);
    ::_exit(0);  // a crash: no destructor, no close, no checkpoint
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto j = OpenJournal();
  EXPECT_THAT(Cids(*j, "work"), ElementsAre("c1", "c2"));
}

TEST_F(JournalTest, DuplicatesWithinABatchAndAcrossBatchesAreReportedAndTheOthersKept) {
  auto j = OpenJournal();
  auto first = j->AcceptBatch({Row("work", "a", kT0), Row("work", "b", kT0 + 1),
                               Row("work", "a", kT0 + 2), Row("other", "a", kT0)});
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_THAT(*first, ElementsAre(AcceptVerdict::kAccepted, AcceptVerdict::kAccepted,
                                  AcceptVerdict::kDuplicate, AcceptVerdict::kAccepted));
  auto second = j->AcceptBatch({Row("work", "b", kT0 + 5), Row("work", "c", kT0 + 6)});
  ASSERT_TRUE(second.ok());
  EXPECT_THAT(*second, ElementsAre(AcceptVerdict::kDuplicate, AcceptVerdict::kAccepted));
  EXPECT_THAT(Cids(*j, "work"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Cids(*j, "other"), ElementsAre("a"));
  // The duplicate did not overwrite the first row's times.
  auto row = j->Find("work", "a");
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->accepted.cid_time_ms, kT0);
}

TEST_F(JournalTest, AnEmptyBatchIsNothing) {
  auto j = OpenJournal();
  auto v = j->AcceptBatch({});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->empty());
}

TEST_F(JournalTest, ConcurrentBatchesFromSeveralThreadsAllLand) {
  auto j = OpenJournal();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&j, t] {
      for (int i = 0; i < 25; ++i) {
        std::string cid = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto v = j->AcceptBatch({Row("work", cid, kT0 + i)});
        EXPECT_TRUE(v.ok() && (*v)[0] == AcceptVerdict::kAccepted);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(j->Facts("work", "x", 2)->rows, 100u);
}

// ---------------------------------------------------------------------------------------------
// State moves

struct MoveCase {
  JournalState from;
  JournalState to;
  bool legal;
};

Status ApplyMove(Journal& j, const std::string& cid, JournalState to) {
  switch (to) {
    case JournalState::kStarted:
      return j.MarkStarted("work", cid, {"4242", "boot-a", 777, kT0});
    case JournalState::kFinished:
      return j.MarkFinished("work", cid, {0, "ok", 1, 2, "", "s", "m", kT0});
    case JournalState::kDelivered:
      return j.MarkDelivered("work", cid, kT0);
    case JournalState::kAbandoned:
      return j.MarkAbandoned("work", cid, kT0, "vm gone");
    case JournalState::kAccepted:
      break;
  }
  return MakeError("test", "no move to accepted");
}

TEST_F(JournalTest, EveryStateMoveIsCheckedAgainstTheStateMachine) {
  using S = JournalState;
  const MoveCase kCases[] = {
      {S::kAccepted, S::kStarted, true},     {S::kAccepted, S::kFinished, true},
      {S::kAccepted, S::kDelivered, false},  {S::kAccepted, S::kAbandoned, false},
      {S::kStarted, S::kStarted, false},     {S::kStarted, S::kFinished, true},
      {S::kStarted, S::kDelivered, false},   {S::kStarted, S::kAbandoned, false},
      {S::kFinished, S::kStarted, false},    {S::kFinished, S::kFinished, false},
      {S::kFinished, S::kDelivered, true},   {S::kFinished, S::kAbandoned, true},
      {S::kDelivered, S::kStarted, false},   {S::kDelivered, S::kFinished, false},
      {S::kDelivered, S::kDelivered, false}, {S::kDelivered, S::kAbandoned, false},
      {S::kAbandoned, S::kStarted, false},   {S::kAbandoned, S::kFinished, false},
      {S::kAbandoned, S::kDelivered, false}, {S::kAbandoned, S::kAbandoned, false},
  };
  auto j = OpenJournal();
  int n = 0;
  for (const MoveCase& c : kCases) {
    std::string cid = "c" + std::to_string(n++);
    std::string what =
        std::string(JournalStateName(c.from)) + " -> " + std::string(JournalStateName(c.to));
    AcceptInState(*j, Row("work", cid, kT0 + n), c.from);
    Status moved = ApplyMove(*j, cid, c.to);
    EXPECT_EQ(moved.ok(), c.legal) << what;
    auto row = j->Find("work", cid);
    ASSERT_TRUE(row.ok() && row->has_value()) << what;
    EXPECT_EQ((*row)->state, c.legal ? c.to : c.from) << what;
    if (!c.legal) {
      EXPECT_EQ(moved.error().code, "journal-state") << what;
      EXPECT_THAT(moved.error().message, HasSubstr(cid)) << what;
    }
  }
}

TEST_F(JournalTest, MovingARowThatDoesNotExistIsAnError) {
  auto j = OpenJournal();
  Status moved = j->MarkStarted("work", "nope", {"1", "b", 1, kT0});
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().code, "journal-state");
  EXPECT_THAT(moved.error().message, HasSubstr("no row"));
}

TEST_F(JournalTest, RowsKeepWhatEachStateRecordedAcrossReopen) {
  {
    auto j = OpenJournal();
    Accept(*j, AcceptedRow{"work", "c1", 1, true, kT0, kT0 + 5, 0});
    ASSERT_TRUE(
        j->MarkStarted("work", "c1", {"/sys/fs/cgroup/q/c1", "boot-b", 123456789, kT0 + 6}));
    ASSERT_TRUE(j->MarkFinished(
        "work", "c1",
        {-9, "timeout", 1 << 20, 17, "stdout", "spool/c1", "id=c1\noutcome=timeout\n", kT0 + 7}));
  }
  auto j = OpenJournal();
  auto row = j->Find("work", "c1");
  ASSERT_TRUE(row.ok() && row->has_value());
  const JournalRow& r = **row;
  EXPECT_EQ(r.state, JournalState::kFinished);
  EXPECT_EQ(r.accepted.version, 1);
  EXPECT_TRUE(r.accepted.ping);
  EXPECT_EQ(r.accepted.cid_time_ms, kT0);
  EXPECT_EQ(r.accepted.claim_time_ms, kT0 + 5);
  EXPECT_EQ(r.accepted.timeout_seconds, 0u);
  ASSERT_TRUE(r.started.has_value());
  EXPECT_EQ(r.started->containment_id, "/sys/fs/cgroup/q/c1");
  EXPECT_EQ(r.started->boot_id, "boot-b");
  EXPECT_EQ(r.started->leader_start_time, 123456789u);
  EXPECT_EQ(r.started->started_ms, kT0 + 6);
  ASSERT_TRUE(r.finished.has_value());
  EXPECT_EQ(r.finished->status, -9);
  EXPECT_EQ(r.finished->outcome, "timeout");
  EXPECT_EQ(r.finished->stdout_bytes, 1u << 20);
  EXPECT_EQ(r.finished->stderr_bytes, 17u);
  EXPECT_EQ(r.finished->truncated, "stdout");
  EXPECT_EQ(r.finished->spool, "spool/c1");
  EXPECT_EQ(r.finished->meta, "id=c1\noutcome=timeout\n");
  EXPECT_EQ(r.finished->finished_ms, kT0 + 7);
  EXPECT_FALSE(j->Find("work", "c2")->has_value());
}

TEST_F(JournalTest, TheRestartListsHoldEachRowWhereItBelongs) {
  auto j = OpenJournal();
  AcceptInState(*j, Row("work", "acc", kT0 + 4), JournalState::kAccepted);
  AcceptInState(*j, Row("work", "sta", kT0 + 3), JournalState::kStarted);
  AcceptInState(*j, Row("work", "fin", kT0 + 2), JournalState::kFinished);
  AcceptInState(*j, Row("work", "del", kT0 + 1), JournalState::kDelivered);
  AcceptInState(*j, Row("work", "aba", kT0), JournalState::kAbandoned);
  AcceptInState(*j, Row("mail", "fin2", kT0), JournalState::kFinished);

  auto unfinished = j->Unfinished();
  ASSERT_TRUE(unfinished.ok());
  std::vector<std::string> got;
  for (const auto& r : *unfinished) got.push_back(r.accepted.vm + "/" + r.accepted.cid);
  EXPECT_THAT(got, ElementsAre("mail/fin2", "work/fin", "work/sta", "work/acc"));

  auto undelivered = j->Undelivered("work");
  ASSERT_TRUE(undelivered.ok());
  ASSERT_EQ(undelivered->size(), 1u);
  EXPECT_EQ((*undelivered)[0].accepted.cid, "fin");
  EXPECT_THAT(*j->Delivered("work"), ElementsAre("del"));
  EXPECT_TRUE(j->Delivered("mail")->empty());
}

// ---------------------------------------------------------------------------------------------
// Pruning and the low-water mark (v2 window 10 min, v1 52 h)

constexpr TimeMs kNewest = kT0 + 60 * kMinute;

class JournalPruneTest : public JournalTest {
 protected:
  // One (vm, version) with a row of every state and age around the cutoff of a v2 prune at
  // kNewest: min(now, kNewest) - 10 min = kT0 + 50 min (a row exactly there stays: "below").
  void Fill(Journal& j, const std::string& vm = "work", int version = 2) {
    const struct {
      const char* cid;
      TimeMs time;
      JournalState state;
    } kRows[] = {
        {"delivered-old", kT0, JournalState::kDelivered},
        {"abandoned-old", kT0 + 1, JournalState::kAbandoned},
        {"delivered-at-cutoff", kT0 + 50 * kMinute, JournalState::kDelivered},
        {"delivered-recent", kT0 + 55 * kMinute, JournalState::kDelivered},
        {"accepted-ancient", kT0 - 1000 * kMinute, JournalState::kAccepted},
        {"started-ancient", kT0 - 1001 * kMinute, JournalState::kStarted},
        {"finished-ancient", kT0 - 1002 * kMinute, JournalState::kFinished},
        {"newest", kNewest, JournalState::kAccepted},
    };
    for (const auto& r : kRows) AcceptInState(j, Row(vm, r.cid, r.time, version), r.state);
  }

  // The cids of (vm, version) left in the journal, sorted.
  static std::vector<std::string> Left(Journal& j, const std::string& vm = "work") {
    return Cids(j, vm);
  }
};

const std::vector<std::string> kAllEight = {
    "abandoned-old", "accepted-ancient", "delivered-at-cutoff",
    "delivered-old", "delivered-recent", "finished-ancient",
    "newest",        "started-ancient"};
const std::vector<std::string> kAfterPrune = {"accepted-ancient", "delivered-at-cutoff",
                                              "delivered-recent", "finished-ancient",
                                              "newest",           "started-ancient"};

TEST_F(JournalPruneTest, PrunesOnlyDeliveredAndAbandonedRowsBelowTheCutoff) {
  auto j = OpenJournal();
  Fill(*j);
  auto pruned = j->Prune("work", 2, kNewest);
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 2u);
  EXPECT_EQ(Left(*j), kAfterPrune);
  EXPECT_EQ(j->Facts("work", "x", 2)->low_water_mark, kT0 + 1);
}

TEST_F(JournalPruneTest, AForwardClockJumpPrunesNothingNewerRequestsHaveNotPassed) {
  auto j = OpenJournal();
  Fill(*j);
  auto pruned = j->Prune("work", 2, kNewest + 365LL * 24 * 60 * kMinute);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 2u);
  EXPECT_EQ(Left(*j), kAfterPrune);
  EXPECT_EQ(j->Facts("work", "x", 2)->low_water_mark, kT0 + 1);
}

TEST_F(JournalPruneTest, ABackwardClockJumpPrunesNothingAndLowersNoMark) {
  auto j = OpenJournal();
  Fill(*j);
  ASSERT_EQ(*j->Prune("work", 2, kNewest), 2u);
  auto pruned = j->Prune("work", 2, kT0 - 24 * 60 * kMinute);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 0u);
  EXPECT_EQ(Left(*j), kAfterPrune);
  EXPECT_EQ(j->Facts("work", "x", 2)->low_water_mark, kT0 + 1);
}

TEST_F(JournalPruneTest, UnfinishedRowsStayWhateverTheirAge) {
  auto j = OpenJournal();
  Fill(*j);
  ASSERT_TRUE(j->Prune("work", 2, kNewest + 1000 * kMinute).ok());
  for (const char* cid : {"accepted-ancient", "started-ancient", "finished-ancient"}) {
    EXPECT_TRUE(j->Find("work", cid)->has_value()) << cid;
  }
}

TEST_F(JournalPruneTest, TheMarkMakesPrunedTimesStaleAndPersistsAcrossReopen) {
  {
    auto j = OpenJournal();
    Fill(*j);
    ASSERT_EQ(*j->Prune("work", 2, kNewest), 2u);
  }
  auto j = OpenJournal();
  EXPECT_EQ(j->Facts("work", "x", 2)->low_water_mark, kT0 + 1);
  auto v = j->AcceptBatch({Row("work", "replay-at-mark", kT0 + 1),
                           Row("work", "replay-below", kT0 - 5), Row("work", "above", kT0 + 2)});
  ASSERT_TRUE(v.ok());
  EXPECT_THAT(*v,
              ElementsAre(AcceptVerdict::kStale, AcceptVerdict::kStale, AcceptVerdict::kAccepted));
  // A pruned cid arriving again is stale, not new.
  auto again = j->AcceptBatch({Row("work", "delivered-old", kT0)});
  ASSERT_TRUE(again.ok());
  EXPECT_THAT(*again, ElementsAre(AcceptVerdict::kStale));
}

TEST_F(JournalPruneTest, TheMarkNeverDecreasesWhenAnOlderRowIsPrunedLater) {
  auto j = OpenJournal();
  Fill(*j);
  ASSERT_EQ(*j->Prune("work", 2, kNewest), 2u);
  // finished-ancient (far below the mark) is delivered late and pruned now.
  ASSERT_TRUE(j->MarkDelivered("work", "finished-ancient", kNewest));
  ASSERT_EQ(*j->Prune("work", 2, kNewest), 1u);
  EXPECT_FALSE(j->Find("work", "finished-ancient")->has_value());
  EXPECT_EQ(j->Facts("work", "x", 2)->low_water_mark, kT0 + 1);
}

TEST_F(JournalPruneTest, EachVmAndVersionHasItsOwnWindowAndMark) {
  auto j = OpenJournal();
  Fill(*j, "work", 2);
  Fill(*j, "mail", 2);
  // v1 rows of "work" under other cids, same times: the 52 h window keeps all of them.
  auto v1 = [](const std::string& cid, TimeMs t) { return Row("work", "v1-" + cid, t, 1); };
  AcceptInState(*j, v1("old", kT0), JournalState::kDelivered);
  AcceptInState(*j, v1("newest", kNewest), JournalState::kAccepted);

  ASSERT_EQ(*j->Prune("work", 2, kNewest), 2u);
  EXPECT_EQ(j->Facts("mail", "x", 2)->low_water_mark, 0);  // mail untouched
  EXPECT_EQ(j->Facts("mail", "x", 2)->rows, 8u);
  EXPECT_EQ(*j->Prune("work", 1, kNewest), 0u);  // v1: kT0 is within 52 h of kNewest
  EXPECT_EQ(j->Facts("work", "x", 1)->low_water_mark, 0);
  EXPECT_TRUE(j->Find("work", "v1-old")->has_value());

  // 52 h later (a newer v1 request moved the bound), the v1 row goes and only v1's mark rises.
  AcceptInState(*j, v1("later", kT0 + 53 * 60 * kMinute), JournalState::kAccepted);
  EXPECT_EQ(*j->Prune("work", 1, kT0 + 53 * 60 * kMinute), 1u);
  EXPECT_EQ(j->Facts("work", "x", 1)->low_water_mark, kT0);
  EXPECT_EQ(j->Facts("work", "x", 2)->low_water_mark, kT0 + 1);
}

TEST_F(JournalPruneTest, PruneAllPrunesEveryVmAndVersion) {
  auto j = OpenJournal();
  Fill(*j, "work");
  Fill(*j, "mail");
  auto pruned = j->PruneAll(kNewest);
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 4u);
  EXPECT_EQ(Left(*j, "work"), kAfterPrune);
  EXPECT_EQ(Left(*j, "mail"), kAfterPrune);
}

TEST_F(JournalPruneTest, PruningAnEmptyJournalIsNothing) {
  auto j = OpenJournal();
  auto pruned = j->Prune("work", 2, kNewest);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 0u);
}

// ---------------------------------------------------------------------------------------------
// Caps

TEST_F(JournalTest, AFullJournalRefusesPerVmAndVersionAndNeverEvicts) {
  JournalOptions options;
  options.cap_v2 = 3;
  options.cap_v1 = 2;
  auto j = OpenJournal(options);
  auto v = j->AcceptBatch({Row("work", "a", kT0), Row("work", "b", kT0 + 1),
                           Row("work", "c", kT0 + 2), Row("work", "d", kT0 + 3),
                           Row("work", "v1-a", kT0, 1), Row("mail", "a", kT0)});
  ASSERT_TRUE(v.ok());
  EXPECT_THAT(
      *v, ElementsAre(AcceptVerdict::kAccepted, AcceptVerdict::kAccepted, AcceptVerdict::kAccepted,
                      AcceptVerdict::kFull, AcceptVerdict::kAccepted, AcceptVerdict::kAccepted));
  auto facts = j->Facts("work", "e", 2);
  ASSERT_TRUE(facts.ok());
  EXPECT_EQ(facts->rows, 3u);
  EXPECT_EQ(facts->cap, 3u);
  EXPECT_FALSE(facts->seen);
  EXPECT_EQ(j->Facts("work", "e", 1)->cap, 2u);
  EXPECT_EQ(j->Facts("work", "e", 1)->rows, 1u);
  EXPECT_THAT(Cids(*j, "work"), ElementsAre("a", "b", "c", "v1-a"));

  // However old the rows, none is evicted to make room.
  auto later = j->AcceptBatch({Row("work", "e", kT0 + 100 * kMinute)});
  ASSERT_TRUE(later.ok());
  EXPECT_THAT(*later, ElementsAre(AcceptVerdict::kFull));
}

TEST_F(JournalTest, PruningDeliveredRowsMakesRoomUnderTheCap) {
  JournalOptions options;
  options.cap_v2 = 2;
  auto j = OpenJournal(options);
  AcceptInState(*j, Row("work", "old", kT0), JournalState::kDelivered);
  AcceptInState(*j, Row("work", "new", kT0 + 30 * kMinute), JournalState::kAccepted);
  EXPECT_THAT(*j->AcceptBatch({Row("work", "x", kT0 + 31 * kMinute)}),
              ElementsAre(AcceptVerdict::kFull));
  ASSERT_EQ(*j->Prune("work", 2, kT0 + 31 * kMinute), 1u);
  EXPECT_THAT(*j->AcceptBatch({Row("work", "x", kT0 + 31 * kMinute)}),
              ElementsAre(AcceptVerdict::kAccepted));
}

}  // namespace
}  // namespace qvmr
