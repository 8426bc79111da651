// The argv executor: runs a Plan as bash would run the same text, but with the daemon doing the
// pipes, redirections and `&&`/`||`/`;` itself, so no shell ever re-reads VM text.
//
// One Run owns: /dev/null for reading and writing, one stdout pipe and one stderr pipe shared by
// every stage of every pipeline (their read ends drained by this thread into the spool through
// one fixed 64 KiB buffer), and one KillTree per pipeline. A pipeline ends when all its stages
// have exited (bash waits for every stage); then, while the stages are still unreaped zombies
// (so their group ids cannot be recycled), whatever they left behind is SIGKILLed. The cell's
// private TMPDIR is measured into the VM's spool quota while the stages run and once when they
// have exited (tmpdir_charge.h); past the quota the run stops as for a spool failure.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>
#include <utility>

#include "daemon/executor.h"
#include "daemon/tmpdir_charge.h"
#include "engine/base/excerpt.h"

namespace qvmr {
namespace {

constexpr std::size_t kReadBufferBytes = 64 * 1024;
// After SIGKILL a child is gone as soon as the kernel runs it; this only bounds a wait on a
// process stuck in uninterruptible sleep before the loop simply reaps (blocking) in Release.
constexpr MonotonicMs kAfterKillWaitMs = 5000;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Why a run stopped early.
enum class Abort { kNone, kDeadline, kSpool, kSpawn, kCancel };

class ArgvRun {
 public:
  ArgvRun(Processes& processes, const ExecRequest& request, RequestSpool& spool, Cell* cell,
          ContainmentKind kind)
      : processes_(processes),
        kind_(kind),
        request_(request),
        spool_(spool),
        cell_(cell),
        env_(ChildEnvironment(*request.exec_path)),
        buffer_(new char[kReadBufferBytes]),
        tmpdir_charge_(cell != nullptr ? cell->tmpdir() : std::string(), spool.quota) {
    if (cell_ != nullptr && !cell_->tmpdir().empty()) env_.push_back("TMPDIR=" + cell_->tmpdir());
  }

  // Runs the plan; returns the outcome's status (124/255 set by the caller on abort).
  int RunPlan(const Plan& plan);
  Abort abort() const { return abort_; }
  bool started_any() const { return started_any_; }
  // A write error other than a full disk (which only cuts the output): the request cannot be
  // answered faithfully.
  bool SpoolFailed() const {
    return (spool_.out->write_errno() != 0 && !spool_.out->disk_full()) ||
           (spool_.err->write_errno() != 0 && !spool_.err->disk_full());
  }
  const std::string& notes() const { return notes_; }
  // The `.err` line of an Abort::kSpool.
  std::string SpoolNote() const {
    if (tmpdir_charge_.over() || spool_.out->quota_exceeded() || spool_.err->quota_exceeded()) {
      return "qvm-remote: killed: this VM's spool quota in dom0 is used up" +
             tmpdir_charge_.Describe() + "\n";
    }
    return "qvm-remote: killed: the spool could not be written\n";
  }
  void FinalNote(const std::string& line) {
    notes_ += line;
    spool_.err->AppendNote(line);
  }

 private:
  struct Stage {
    std::optional<Child> child;
    std::optional<ExitState> exit;
    int status = 0;  // when there is no child (lookup or exec failure)
  };

  bool OpenPipes();
  int RunPipeline(const Pipeline& pipeline);
  void WaitForStages(std::vector<Stage>& stages, const KillTree& tree);
  void DrainUntilClosed();
  // Reads once from each pipe poll found ready. Returns false when both are closed.
  void ReadReady(const pollfd* fds);
  void ReadOnce(Fd& fd, SpoolSink& sink);
  // Drains whatever is already in the pipes (non-blocking), so a note lands after it.
  void DrainPending();
  void MidRunNote(const std::string& line) {
    DrainPending();
    notes_ += line;
    spool_.err->Write(line.data(), line.size());
  }

  // Measures the TMPDIR when due (or `now_too`); true when the VM is past its spool quota.
  bool TmpdirOverQuota(bool now_too);

  // Reports the first started process through request_.on_started; false: abort the run.
  bool ReportStarted(pid_t leader);

  Processes& processes_;
  ContainmentKind kind_;  // meaningful only with a cell
  const ExecRequest& request_;
  RequestSpool& spool_;
  Cell* cell_;  // nullptr without containment
  std::vector<std::string> env_;
  std::unique_ptr<char[]> buffer_;
  Fd null_read_, null_write_;
  Fd out_read_, out_write_, err_read_, err_write_;
  Abort abort_ = Abort::kNone;
  bool started_any_ = false;
  bool reported_ = false;       // on_started was called
  bool start_refused_ = false;  // ...and returned false
  std::string notes_;
  // Held until the run ends, after the cell's Close has removed the TMPDIR.
  TmpdirCharge tmpdir_charge_;
  MonotonicMs next_measure_at_ = 0;
};

bool MakePipe(Fd& read_end, Fd& write_end, bool nonblocking_read) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return false;
  read_end = Fd(fds[0]);
  write_end = Fd(fds[1]);
  if (nonblocking_read) fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  return true;
}

bool ArgvRun::OpenPipes() {
  null_read_ = Fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
  null_write_ = Fd(open("/dev/null", O_WRONLY | O_CLOEXEC));
  return null_read_.valid() && null_write_.valid() && MakePipe(out_read_, out_write_, true) &&
         MakePipe(err_read_, err_write_, true);
}

int ArgvRun::RunPlan(const Plan& plan) {
  if (!OpenPipes()) {
    abort_ = Abort::kSpawn;
    FinalNote(std::string("qvm-remote: could not set up the command's pipes: ") +
              std::strerror(errno) + "\n");
    return 255;
  }
  int status = 0;
  for (std::size_t i = 0; i < plan.pipelines.size() && abort_ == Abort::kNone; ++i) {
    const Connector connector = i < plan.connectors.size() ? plan.connectors[i] : Connector::kSeq;
    // bash's and-or list: a skipped pipeline leaves the status as it was.
    if (connector == Connector::kAnd && status != 0) continue;
    if (connector == Connector::kOr && status == 0) continue;
    status = RunPipeline(plan.pipelines[i]);
  }
  // Every stage is gone and its leftovers killed; the daemon's write ends are the last ones
  // unless something escaped the KillTree.
  out_write_.Reset();
  err_write_.Reset();
  if (abort_ == Abort::kNone) {
    DrainUntilClosed();
  } else {
    DrainPending();  // what the killed stages wrote before they died
  }
  return status;
}

int ArgvRun::RunPipeline(const Pipeline& pipeline) {
  if (processes_.NowMonotonicMs() >= request_.deadline) {
    abort_ = Abort::kDeadline;  // nothing is started past the deadline
    return 0;
  }
  std::vector<Stage> stages(pipeline.stages.size());
  KillTree tree;
  tree.cell = cell_;
  Fd previous_read;  // the stdin of the next stage
  for (std::size_t k = 0; k < pipeline.stages.size(); ++k) {
    const SimpleCommand& command = pipeline.stages[k];
    const bool last = k + 1 == pipeline.stages.size();
    Fd next_read, this_write;
    if (!last && !MakePipe(next_read, this_write, false)) {
      MidRunNote(std::string("qvm-remote: could not make a pipe: ") + std::strerror(errno) + "\n");
      abort_ = Abort::kSpawn;
      break;
    }
    int fds[3] = {k == 0 ? null_read_.get() : previous_read.get(),
                  last ? out_write_.get() : this_write.get(), err_write_.get()};
    // In source order, as bash applies them: `2>&1 >/dev/null` sends stderr to the pipe and
    // stdout to /dev/null; `>/dev/null 2>&1` sends both to /dev/null.
    for (const Redirect& redirect : command.redirects) {
      if (redirect.fd != 1 && redirect.fd != 2) continue;  // the engine allows only these
      fds[redirect.fd] = redirect.target == Redirect::Target::kDevNull ? null_write_.get() : fds[1];
    }
    const std::string program = command.argv.empty() ? std::string() : command.argv[0];
    ProgramLookup lookup;
    if (request_.argv0_is_dom0_path && !program.empty() && program[0] == '/') {
      lookup.kind = ProgramLookup::Kind::kFound;
      lookup.path = program;
    } else {
      lookup = request_.exec_path->Lookup(program);
    }
    if (lookup.kind != ProgramLookup::Kind::kFound) {
      stages[k].status = lookup.Status();
      MidRunNote(lookup.ErrLine(program));
    } else {
      SpawnSpec spec;
      spec.argv = command.argv;
      spec.argv[0] = lookup.path;
      spec.env = env_;
      spec.stdin_fd = fds[0];
      spec.stdout_fd = fds[1];
      spec.stderr_fd = fds[2];
      if (cell_ != nullptr) spec.cell = &cell_->entry();
      const bool first = !reported_;
      if (first && request_.on_started) {
        // The journal's `started` row is durable before the first program execs.
        spec.before_exec = [this](pid_t pid) { return ReportStarted(pid); };
      }
      SpawnResult spawned = processes_.Spawn(spec);
      if (first && request_.on_started && !reported_) {
        // Refused (or the child failed before asking): nothing of the program ran.
        if (spawned.kind == SpawnResult::Kind::kStarted) {
          processes_.Signal(KillTree{{spawned.child.pid}, cell_}, SIGKILL);
          processes_.Release(spawned.child);
        }
      }
      if (start_refused_) {
        MidRunNote("qvm-remote: dom0 could not journal the start; nothing ran\n");
        abort_ = Abort::kSpawn;
        break;
      }
      switch (spawned.kind) {
        case SpawnResult::Kind::kStarted:
          tree.process_groups.push_back(spawned.child.pid);
          if (cell_ != nullptr) cell_->Adopt(spawned.child.pid);
          started_any_ = true;
          stages[k].child = spawned.child;
          break;
        case SpawnResult::Kind::kExecFailed:
          // As a shell: gone since the lookup → 127; any other refusal (EACCES, ENOEXEC,
          // E2BIG, ...) → 126, with the kernel's reason.
          if (spawned.error_number == ENOENT) {
            ProgramLookup gone;
            gone.kind = ProgramLookup::Kind::kNotFound;
            stages[k].status = gone.Status();
            MidRunNote(gone.ErrLine(program));
          } else {
            stages[k].status = 126;
            MidRunNote("qvm-remote: " + Excerpt(program) +
                       ": cannot execute: " + std::strerror(spawned.error_number) + "\n");
          }
          break;
        case SpawnResult::Kind::kSpawnFailed:
          MidRunNote("qvm-remote: could not start a process: " +
                     std::string(std::strerror(spawned.error_number)) + "\n");
          abort_ = Abort::kSpawn;
          break;
      }
    }
    if (abort_ != Abort::kNone) break;
    previous_read = std::move(next_read);
  }
  previous_read.Reset();
  if (abort_ == Abort::kSpawn) processes_.Signal(tree, SIGKILL);
  WaitForStages(stages, tree);
  // Background leftovers never outlive their pipeline; the stages are unreaped zombies here, so
  // the group ids in `tree` are still theirs.
  processes_.Signal(tree, SIGKILL);
  int status = 0;
  for (Stage& stage : stages) {
    if (stage.child) {
      ExitState exit = processes_.Release(*stage.child);
      status = (stage.exit ? *stage.exit : exit).Status();
    } else {
      status = stage.status;
    }
  }
  return status;
}

bool ArgvRun::ReportStarted(pid_t leader) {
  reported_ = true;
  StartedFacts facts;
  facts.containment_id = StartedContainmentId(kind_, cell_, leader);
  facts.leader_pid = leader;
  facts.leader_start_time = ProcessStartTime(leader).value_or(0);
  start_refused_ = !request_.on_started(facts);
  return !start_refused_;
}

void ArgvRun::WaitForStages(std::vector<Stage>& stages, const KillTree& tree) {
  bool terminated = abort_ != Abort::kNone;  // a spawn failure already SIGKILLed the tree
  bool killed = terminated;
  MonotonicMs kill_at = 0;
  MonotonicMs give_up_at = processes_.NowMonotonicMs() + kAfterKillWaitMs;
  std::vector<pollfd> fds;
  std::vector<std::size_t> stage_of;
  for (;;) {
    fds.clear();
    stage_of.clear();
    fds.push_back({out_read_.valid() ? out_read_.get() : -1, POLLIN, 0});
    fds.push_back({err_read_.valid() ? err_read_.get() : -1, POLLIN, 0});
    for (std::size_t k = 0; k < stages.size(); ++k) {
      if (stages[k].child && !stages[k].exit) {
        fds.push_back({stages[k].child->pidfd, POLLIN, 0});
        stage_of.push_back(k);
      }
    }
    if (stage_of.empty()) {
      // What the stages left in TMPDIR counts even if they exited before any measurement.
      if (!terminated && TmpdirOverQuota(true)) abort_ = Abort::kSpool;
      return;
    }

    const bool over_quota = !terminated && TmpdirOverQuota(false);
    const MonotonicMs now = processes_.NowMonotonicMs();
    const bool cancelled = request_.cancel != nullptr && request_.cancel->load();
    if (!terminated && (now >= request_.deadline || SpoolFailed() || over_quota || cancelled)) {
      abort_ = now >= request_.deadline ? Abort::kDeadline
               : cancelled              ? Abort::kCancel
                                        : Abort::kSpool;
      terminated = true;
      processes_.Signal(tree, SIGTERM);
      kill_at = now + kGraceMs;
    }
    if (terminated && !killed && now >= kill_at) {
      killed = true;
      processes_.Signal(tree, SIGKILL);
      give_up_at = now + kAfterKillWaitMs;
    }
    if (killed && now >= give_up_at) return;  // Release blocks for the stuck ones
    MonotonicMs wake = killed ? give_up_at : terminated ? kill_at : request_.deadline;
    // A cancel is a flag, not an fd: look at it every 100 ms.
    if (!terminated && request_.cancel != nullptr) wake = std::min(wake, now + 100);
    if (!terminated && tmpdir_charge_.active()) wake = std::min(wake, next_measure_at_);
    const MonotonicMs left = wake > now ? wake - now : 0;
    const int timeout = left > INT_MAX ? INT_MAX : static_cast<int>(left);
    if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return;
    ReadReady(fds.data());
    for (std::size_t i = 0; i < stage_of.size(); ++i) {
      if (fds[2 + i].revents != 0) {
        Stage& stage = stages[stage_of[i]];
        stage.exit = processes_.Peek(*stage.child);
      }
    }
  }
}

bool ArgvRun::TmpdirOverQuota(bool now_too) {
  if (!tmpdir_charge_.active()) return false;
  const MonotonicMs start = processes_.NowMonotonicMs();
  if (!now_too && start < next_measure_at_) return tmpdir_charge_.over();
  tmpdir_charge_.Update();
  // A slow walk (a TMPDIR of many small files) spaces the next one out: at most a fifth of a CPU.
  const MonotonicMs took = processes_.NowMonotonicMs() - start;
  next_measure_at_ = start + took + std::max<MonotonicMs>(kTmpdirMeasureIntervalMs, 4 * took);
  return tmpdir_charge_.over();
}

void ArgvRun::ReadReady(const pollfd* fds) {
  if (fds[0].fd >= 0 && fds[0].revents != 0) ReadOnce(out_read_, *spool_.out);
  if (fds[1].fd >= 0 && fds[1].revents != 0) ReadOnce(err_read_, *spool_.err);
}

void ArgvRun::ReadOnce(Fd& fd, SpoolSink& sink) {
  ssize_t got;
  do {
    got = read(fd.get(), buffer_.get(), kReadBufferBytes);
  } while (got < 0 && errno == EINTR);
  if (got > 0) {
    sink.Write(buffer_.get(), static_cast<std::size_t>(got));
  } else if (got == 0 || errno != EAGAIN) {
    fd.Reset();  // end of output (or a broken pipe: nothing more will come)
  }
}

void ArgvRun::DrainPending() {
  for (int round = 0; round < 1024; ++round) {  // bounded: a live writer could refill forever
    pollfd fds[2] = {{out_read_.valid() ? out_read_.get() : -1, POLLIN, 0},
                     {err_read_.valid() ? err_read_.get() : -1, POLLIN, 0}};
    if (poll(fds, 2, 0) <= 0) return;
    ReadReady(fds);
  }
}

void ArgvRun::DrainUntilClosed() {
  while (out_read_.valid() || err_read_.valid()) {
    const MonotonicMs now = processes_.NowMonotonicMs();
    if (now >= request_.deadline) {
      // Something outside the KillTree still holds the output open; stop reading.
      abort_ = Abort::kDeadline;
      return;
    }
    pollfd fds[2] = {{out_read_.valid() ? out_read_.get() : -1, POLLIN, 0},
                     {err_read_.valid() ? err_read_.get() : -1, POLLIN, 0}};
    const MonotonicMs left = request_.deadline - now;
    if (poll(fds, 2, left > INT_MAX ? INT_MAX : static_cast<int>(left)) < 0 && errno != EINTR) {
      return;
    }
    ReadReady(fds);
  }
}

class ArgvExecutor : public Executor {
 public:
  ArgvExecutor(Processes* processes, Env* env, Containment* containment)
      : processes_(processes), env_(env), containment_(containment) {}

  ExecResult Run(const Decision& decision, const ExecRequest& request,
                 RequestSpool& spool) override {
    ExecResult result;
    result.started_ms = env_->NowMs();
    const MonotonicMs start = processes_->NowMonotonicMs();
    if (!decision.allow || decision.executor != ExecutorKind::kArgv || !decision.has_plan ||
        request.exec_path == nullptr) {
      const std::string note = "qvm-remote: internal error: no argv plan to run\n";
      spool.err->AppendNote(note);
      result.notes = note;
    } else if (auto cell = MakeCell(request); !cell.ok()) {
      const std::string note =
          "qvm-remote: could not contain the command: " + cell.error().message + "\n";
      spool.err->AppendNote(note);
      result.notes = note;
    } else {
      ArgvRun run(*processes_, request, spool, cell->get(),
                  containment_ != nullptr ? containment_->kind() : ContainmentKind::kNone);
      const int status = run.RunPlan(decision.plan);
      // Every stage is reaped; whatever is left in the cell dies and its TMPDIR goes.
      if (*cell != nullptr) (void)(*cell)->Close();
      spool.out->Finish();
      spool.err->Finish();
      switch (run.abort()) {
        case Abort::kNone:
          result.outcome = Outcome::kOk;
          result.status = status;
          if (run.SpoolFailed()) {  // failed after the last process exited: nothing to kill
            result.outcome = Outcome::kError;
            run.FinalNote("qvm-remote: the spool could not be written\n");
          }
          break;
        case Abort::kDeadline:
          result.outcome = Outcome::kTimeout;
          run.FinalNote((run.started_any() ? "qvm-remote: killed at the deadline ("
                                           : "qvm-remote: the deadline passed before it ran (") +
                        std::to_string(request.timeout_seconds) + " s)\n");
          break;
        case Abort::kSpool:
          result.outcome = Outcome::kError;
          run.FinalNote(run.SpoolNote());
          break;
        case Abort::kSpawn:
          result.outcome = Outcome::kError;
          break;
        case Abort::kCancel:
          result.outcome = Outcome::kInterrupted;
          run.FinalNote("qvm-remote: stopped: dom0's daemon is shutting down\n");
          break;
      }
      if (result.outcome != Outcome::kOk) result.status = OutcomeExitStatus(result.outcome);
      result.notes = run.notes();
    }
    result.stdout_bytes = spool.out->produced();
    result.stderr_bytes = spool.err->produced();
    result.truncation = spool.Truncation();
    result.finished_ms = env_->NowMs();
    result.duration_ms = processes_->NowMonotonicMs() - start;
    return result;
  }

 private:
  // The command's cell; a null pointer without containment.
  Result<std::unique_ptr<Cell>> MakeCell(const ExecRequest& request) {
    if (containment_ == nullptr) return std::unique_ptr<Cell>();
    return containment_->NewCell(CellId(request.vm, request.cid));
  }

  Processes* processes_;
  Env* env_;
  Containment* containment_;
};

}  // namespace

std::vector<std::string> ChildEnvironment(const ExecPath& exec_path) {
  return {"PATH=" + exec_path.Joined(),
          "HOME=/root",
          "LANG=C.UTF-8",
          "PAGER=cat",
          "SYSTEMD_PAGER=cat",
          "SYSTEMD_PAGERSECURE=1",
          "SYSTEMD_COLORS=0"};
}

std::unique_ptr<Executor> NewArgvExecutor(Processes* processes, Env* env,
                                          Containment* containment) {
  return std::make_unique<ArgvExecutor>(processes, env, containment);
}

}  // namespace qvmr
