#include "daemon/daemon.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include "daemon/admission.h"
#include "daemon/audit_log.h"
#include "daemon/exec_path_trust.h"
#include "daemon/instance_lock.h"
#include "daemon/paths.h"
#include "daemon/pipeline.h"
#include "daemon/policy_reload.h"
#include "daemon/policy_watch.h"
#include "daemon/remote_conf.h"
#include "daemon/test_hooks.h"
#include "daemon/vm_state.h"
#include "engine/decide/grants.h"
#include "engine/policy/policy_loader.h"

namespace qvmr {
namespace {

int Fail(TextLog* log, const std::string& message) {
  if (log) log->Error(message);
  std::fprintf(stderr, "qvm-remote-dom0: %s\n", message.c_str());
  return 1;
}

// Spool files that no unfinished journal row points at are orphans of an earlier run.
void RemoveSpoolOrphans(SpoolDir& spool, Journal& journal, TextLog& log) {
  auto orphans = spool.ListOrphans();
  auto rows = journal.Unfinished();
  if (!orphans || !rows) return;
  std::set<std::string> keep;
  for (const JournalRow& row : *rows) {
    if (row.finished && !row.finished->spool.empty()) {
      const std::string& s = row.finished->spool;
      std::size_t nl = s.find('\n');
      keep.insert(s.substr(0, nl));
      if (nl != std::string::npos) keep.insert(s.substr(nl + 1));
    }
  }
  std::size_t removed = 0;
  for (const std::string& name : *orphans) {
    std::string path = spool.dir() + "/" + name;
    if (keep.count(path)) continue;
    std::error_code ec;
    if (std::filesystem::remove(path, ec)) ++removed;
  }
  if (removed) log.Info("removed " + std::to_string(removed) + " orphaned spool files");
}

// SIGHUP: the policy again (grants and keys are read per request anyway), remote.conf re-checked
// (trust, syntax) and its exec path swapped in; the VM list (one thread each) is taken at start.
void OnSighup(Env& env, const DaemonPaths& paths, PolicyReloader& reloader,
              RequestPipeline& pipeline, TextLog& log) {
  reloader.Reload("SIGHUP");
  auto conf = LoadRemoteConf(env, paths.remote_conf);
  if (!conf) {
    log.Error("remote.conf does not load (the running configuration stays): " +
              conf.error().ToString());
    return;
  }
  pipeline.SetExecPath(TrustedExecPath(env, conf->exec_path, log));
  log.Info(
      "SIGHUP: policy, remote.conf and the exec path re-read (a changed VM list takes effect "
      "at the next start)");
}

}  // namespace

int RunDaemon(const DaemonOptions& options) {
  // Before any thread starts, so every thread inherits the mask and only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  if (!options.once) pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  Env* env = WithTestClock(Env::Posix(), options.root + "/run/qvm-remote/test-clock-offset-ms");
  DaemonPaths paths = DaemonPaths::Under(options.root);
  if (!options.policy_dirs.empty()) paths.policy_dirs = options.policy_dirs;
  if (!options.grants_dir.empty()) paths.grants_dir = options.grants_dir;

  auto log = TextLog::Open(paths.log_file, options.log_to_stdout);
  if (!log) return Fail(nullptr, log.error().ToString());
  TextLog& text_log = **log;

  // One daemon at a time (--once included): two would claim and journal the same requests.
  auto lock = InstanceLock::Acquire(paths.lock_file);
  if (!lock) return Fail(&text_log, lock.error().message);

  auto conf = LoadRemoteConf(*env, paths.remote_conf);
  if (!conf) return Fail(&text_log, conf.error().ToString());
  std::vector<std::string> vms = options.vms.empty() ? conf->vms : options.vms;
  if (vms.empty()) {
    text_log.Info("no VMs to serve (set QVM_REMOTE_VMS in " + paths.remote_conf + " or pass --vm)");
  }

  auto journal = Journal::Open(paths.journal,
                               {.cap_v2 = options.journal_cap, .cap_v1 = options.journal_cap_v1});
  if (!journal) return Fail(&text_log, journal.error().message);

  SpoolDir spool(paths.spool_dir);
  if (auto s = spool.Prepare(); !s) return Fail(&text_log, s.error().message);
  RemoveSpoolOrphans(spool, **journal, text_log);

  PolicyState policy;
  LoadOptions load;
  load.dirs = paths.policy_dirs;
  PolicyReloader reloader(env, load, &policy, &text_log, kPolicyDebounceMs);
  reloader.Reload("start");

  MonotonicClock clock = [] { return Processes::Posix()->NowMonotonicMs(); };
  auto audit = AuditLog::Open(paths.audit_file, clock);
  if (!audit) return Fail(&text_log, audit.error().ToString());
  Admission admission(clock, {.rate_per_s = options.vm_rate, .burst = options.vm_burst});
  LogLimiter refusal_limiter(clock, {.interval_ms = 1000});

  KeyStore keys(paths.key_dir);
  if (auto list = keys.List(); list && list->empty()) {
    text_log.Info("no keys configured in " + paths.key_dir + ": nothing will run");
  }

  std::unique_ptr<VmStateOracle> states;  // poll: only Running VMs get a call
  std::unique_ptr<Transport> transport;
  switch (options.transport) {
    case TransportChoice::kLocal:
      transport = NewLocalTransport(Processes::Posix(), options.local_dir);
      break;
    case TransportChoice::kWatch:
      text_log.Info("the watch transport does not exist yet: using poll");
      [[fallthrough]];
    case TransportChoice::kPoll: {
      // qvm-run, qvm-ls and qvm-check are found through the daemon's own PATH (never --root).
      const char* path = std::getenv("PATH");
      std::string search = path ? path : "/usr/local/bin:/usr/bin:/bin";
      auto oracle = VmStateOracle::Create(Processes::Posix(), {.search_path = search});
      if (!oracle) return Fail(&text_log, oracle.error().message);
      states = std::move(*oracle);
      auto poll = NewPollTransport(Processes::Posix(),
                                   {.search_path = search, .limits = {}, .states = states.get()});
      if (!poll) return Fail(&text_log, poll.error().message);
      transport = std::move(*poll);
      break;
    }
  }

  std::unique_ptr<Executor> executor = NewArgvExecutor(Processes::Posix(), env);
  WorkerPool workers(options.workers);
  PipelineDeps deps;
  deps.env = env;
  deps.processes = Processes::Posix();
  deps.transport = transport.get();
  deps.journal = journal->get();
  deps.keys = &keys;
  deps.policy = &policy;
  deps.argv_executor = executor.get();
  deps.spool = &spool;
  deps.log = &text_log;
  deps.workers = &workers;
  deps.grants_dir = paths.grants_dir;
  deps.exec_path = TrustedExecPath(*env, conf->exec_path, text_log);
  deps.dry_run = options.dry_run;
  deps.pairing_delay_ms = TestPairingDelayMs(limits::kPairingDelayMs);
  deps.audit = audit->get();
  deps.admission = &admission;
  deps.refusal_limiter = &refusal_limiter;
  RequestPipeline pipeline(deps);
  if (auto s = pipeline.Recover(); !s) return Fail(&text_log, s.error().message);
  // Pruning raises the low-water mark: a request older than the window is stale for good, whatever
  // the clock does later (CONTRACT.md "Journal").
  if (auto pruned = (*journal)->PruneAll(env->NowMs()); !pruned) {
    text_log.Error("journal prune: " + pruned.error().message);
  }

  if (options.once) {
    bool all_reached = true;
    for (const std::string& vm : vms) {
      // Answers from the restart table go out first, so a re-offered request finds its `.exit`.
      pipeline.Deliver(vm);
      all_reached &= pipeline.Sweep(vm, /*recover=*/true, /*wait_ms=*/0).reached;
    }
    workers.WaitIdle();
    for (const std::string& vm : vms) {
      while (pipeline.Waiting(vm) > 0) {
        DeliverReport r = pipeline.Deliver(vm);
        if (!r.reached || r.delivered == 0) {
          all_reached = false;
          break;
        }
      }
    }
    return all_reached ? 0 : 1;
  }

  // Serve until SIGTERM or SIGINT: one thread per VM, so a VM that stalls delays no other.
  auto watch = PolicyWatch::Start(paths.policy_dirs, kPolicyDebounceMs,
                                  [&reloader] { reloader.Reload("inotify"); });
  if (!watch) text_log.Error("policy changes are seen on SIGHUP only: " + watch.error().ToString());
  std::atomic<bool> stopping{false};
  std::vector<std::thread> loops;
  for (const std::string& vm : vms) {
    loops.emplace_back([&, vm] {
      bool recover = true;
      int backoff_ms = 0;
      while (!stopping.load()) {
        if (pipeline.Waiting(vm) > 0) pipeline.Deliver(vm);
        // Idle: the script waits up to 1 s in the VM (≤ 1 call/s). With work running, short
        // waits so results go out soon after they are ready.
        std::int64_t wait = pipeline.InFlight(vm) > 0 || pipeline.Waiting(vm) > 0 ? 100 : 1000;
        SweepReport r = pipeline.Sweep(vm, recover, wait);
        recover = !r.reached;
        if (!r.reached) {
          backoff_ms = backoff_ms == 0 ? 1000 : std::min(backoff_ms * 2, 60000);
          for (int i = 0; i < backoff_ms / 100 && !stopping.load(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
        } else {
          backoff_ms = 0;
        }
      }
    });
  }
  text_log.Info("serving " + std::to_string(vms.size()) + " VMs over " +
                std::string(transport->name()));
  int sig = 0;
  while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP) {
    OnSighup(*env, paths, reloader, pipeline, text_log);
  }
  text_log.Info(std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
  stopping.store(true);
  for (auto& t : loops) t.join();
  workers.WaitIdle();
  for (const std::string& vm : vms) pipeline.Deliver(vm);
  return 0;
}

}  // namespace qvmr
