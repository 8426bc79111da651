// Executors run what a Decision allowed, exactly: the argv executor runs the engine's Plan with
// pipes and `&&`/`||`/`;` done by the daemon itself (no shell ever re-reads the text); the shell
// executor (`full` only) comes later as executor_shell.cpp.
//
// What every run guarantees (CONTRACT.md "Execution"): children made only through Processes
// (their set-up is there), an environment that is exactly ChildEnvironment(), output streamed to
// the request's spool under the policy's cap, and a deadline on the monotonic clock counted from
// claim time: at the deadline SIGTERM to the command's KillTree, kGraceMs later SIGKILL, partial
// output kept and `.err` ending with the reason.
//
// Thread safety: Run may be called by several worker threads at once (each with its own request
// and spool). Limits: a deadline and a cut output are outcomes, not failures of Run.
#ifndef QVMR_DAEMON_EXECUTOR_H_
#define QVMR_DAEMON_EXECUTOR_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/containment.h"
#include "daemon/exec_path.h"
#include "daemon/processes.h"
#include "daemon/spool.h"
#include "daemon/started_cell.h"
#include "engine/base/codes.h"
#include "engine/base/env.h"
#include "engine/decide/decision.h"

namespace qvmr {

// CONTRACT: SIGTERM at the deadline, SIGKILL this long after.
inline constexpr MonotonicMs kGraceMs = 2000;

struct ExecRequest {
  std::string vm;            // validated VM name (for notes and logs only)
  std::string cid;           // validated cid
  MonotonicMs deadline = 0;  // claim time + min(timeout, policy cap), on the monotonic clock
  std::int64_t timeout_seconds = 0;     // that min(...), for the deadline's `.err` line
  const ExecPath* exec_path = nullptr;  // where programs are found; REQUIRES non-null, outlives Run
  // The command text as received: the shell executor runs it (the argv executor runs the plan).
  std::string_view text = {};
  // Set only by the shell executor, whose plan is dom0's own `/bin/bash FILE`: argv[0] is that
  // absolute path (never VM text) and is exec'd without the exec-path lookup.
  bool argv0_is_dom0_path = false;
  // The daemon's shutdown (SIGTERM, after its grace): once true, the command is stopped as at a
  // deadline and the result is `interrupted` (the pipeline leaves it to the next start's restart
  // table). Null: never. Outlives Run.
  const std::atomic<bool>* cancel = nullptr;
  // Called once, on the worker's thread, when the command's cell exists and its first process
  // is forked, in the cell and its own session, but has not exec'd: that child waits until this
  // returns (SpawnSpec::before_exec). The pipeline journals `started` from it. false means "the
  // start could not be made durable": the child never execs, nothing else is started, and the
  // result is kError. Not called when no process was ever forked (e.g. the program was not
  // found). Empty: not called.
  std::function<bool(const StartedFacts&)> on_started;
};

struct ExecResult {
  // kOk: the command ran (whatever its status, including 126/127 of a failed lookup);
  // kTimeout: killed at the deadline (status 124); kInterrupted: stopped by request.cancel; kError:
  // dom0 could not run it (a spawn or spool failure; status 255; whatever ran was killed, partial
  // output kept).
  Outcome outcome = Outcome::kError;
  int status = 255;                // `.exit`: 0–255, -N for death by signal N, 124 / 255 as above
  std::uint64_t stdout_bytes = 0;  // bytes the command wrote (kept or not)
  std::uint64_t stderr_bytes = 0;
  std::string truncation;  // "", "stdout", "stderr", "stdout,stderr", "spool-full"
  TimeMs started_ms = 0;   // wall clock, for `.meta` and the audit
  TimeMs finished_ms = 0;
  MonotonicMs duration_ms = 0;  // monotonic
  // qvm-remote's own `.err` lines (already appended to the spool's stderr), e.g. "qvm-remote:
  // killed at the deadline (30 s)\n"; for logs and tests.
  std::string notes;
};

class Executor {
 public:
  virtual ~Executor() = default;

  // REQUIRES: decision.allow, and the executor kind this Executor implements. `spool` is the
  // request's (SpoolDir::Create); Run writes the output and its notes there and Finish()es both
  // sinks. Always returns a result; nothing the command started is left running on return
  // (within what a KillTree reaches: see processes.h). Never throws.
  virtual ExecResult Run(const Decision& decision, const ExecRequest& request,
                         RequestSpool& spool) = 0;
};

// The argv executor over `processes` and `env` (wall time for started/finished); both must
// outlive it. Its children get ChildEnvironment(*request.exec_path). With a `containment`
// (outliving it too), each Run makes the command's Cell: every child enters it, a kill reaches
// all of it, leftovers die with each pipeline, the children get TMPDIR=<its private directory>,
// and the cell is closed (killed, removed) before Run returns. That TMPDIR is counted in the VM's
// spool quota (spool.quota, tmpdir_charge.h) while the command runs: past the quota the command
// is killed as at a deadline, kError, `.err` ending "...spool quota in dom0 is used up (its TMPDIR
// held N bytes)"; the charge is given back once the TMPDIR is removed.
std::unique_ptr<Executor> NewArgvExecutor(Processes* processes, Env* env,
                                          Containment* containment = nullptr);

// The shell executor (`full` only): request.text goes to a 0700 work file in `work_dir` (made
// 0700 if missing), run as `/bin/bash FILE` — never `bash -c TEXT`, whose one argument fails
// with E2BIG past 128 KiB — under the argv executor's run loop (same environment, spool,
// deadline and containment). The file is removed before Run returns. REQUIRES of Run:
// decision.allow and decision.executor == kShell (the engine already applied `blocked`).
std::unique_ptr<Executor> NewShellExecutor(Processes* processes, Env* env, Containment* containment,
                                           std::string work_dir);

// CONTRACT: the child environment, exactly: PATH=<exec path> HOME=/root LANG=C.UTF-8 PAGER=cat
// SYSTEMD_PAGER=cat SYSTEMD_PAGERSECURE=1 SYSTEMD_COLORS=0.
std::vector<std::string> ChildEnvironment(const ExecPath& exec_path);

}  // namespace qvmr

#endif  // QVMR_DAEMON_EXECUTOR_H_
