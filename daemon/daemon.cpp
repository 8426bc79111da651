#include "daemon/daemon.h"

#include <signal.h>

#include <cerrno>

#include <atomic>
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
#include "daemon/sd_notify.h"
#include "daemon/service_commands.h"
#include "daemon/test_hooks.h"
#include "daemon/vm_loop.h"
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

// SIGTERM gives running commands this long before they are stopped (systemd's TimeoutStopSec=10
// leaves room for the deadline's 2 s grace after it).
constexpr std::int64_t kStopGraceMs = 5000;
// How often STATUS= is refreshed besides on every policy change.
constexpr int kStatusEverySeconds = 60;

// STATUS='s policy part: the revision, or deny-all with where the policy failed to load.
std::string PolicyStatus(const PolicySnapshot& snap) {
  if (snap.policy) return "policy " + snap.policy->revision.substr(0, 16);
  std::string where = snap.load_error ? snap.load_error->pos.FileLine() : "";
  return "deny-all (policy does not load" + (where.empty() ? "" : ": " + where) + ")";
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

  // The reference's daemon would delete our requests as unauthenticated.
  for (const std::string& trace : ReferenceDaemonTraces(options.root)) text_log.Error(trace);

  auto conf = LoadRemoteConf(*env, paths.remote_conf);
  if (!conf) return Fail(&text_log, conf.error().ToString());
  std::vector<std::string> vms = options.vms.empty() ? conf->vms : options.vms;
  if (vms.empty()) {
    text_log.Info("no VMs to serve (set QVM_REMOTE_VMS in " + paths.remote_conf + " or pass --vm)");
  }

  auto journal = Journal::Open(paths.journal,
                               {.cap_v2 = options.journal_cap, .cap_v1 = options.journal_cap_v1});
  if (!journal) return Fail(&text_log, journal.error().message);

  SpoolDir spool(paths.spool_dir, options.spool_quota);
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

  // Containment before the first command: `auto` logs what it chose and why not the ones before;
  // `none` logs its warning (Describe) once, here. Leftovers of a crashed run go first.
  ContainmentOptions contain;
  contain.instance = InstanceTag(paths.state_dir);
  contain.max_pids = options.max_pids;
  contain.max_memory_bytes = options.max_memory_bytes;
  contain.tmp_parent = paths.state_dir + "/tmp";
  std::unique_ptr<Containment> containment;
  if (options.containment == "auto") {
    std::string why;
    containment = ChooseContainment(contain, &why);
    text_log.Info(why);
  } else {
    const std::optional<ContainmentKind> kind = ParseContainmentKind(options.containment);
    if (!kind) return Fail(&text_log, "unknown --containment " + options.containment);
    auto made = NewContainment(*kind, contain);
    if (!made)
      return Fail(&text_log, "--containment " + options.containment + ": " + made.error().message);
    containment = std::move(made).value();
    text_log.Info("containment " + containment->Describe());
  }
  if (auto swept = containment->SweepLeftovers(); !swept) {
    text_log.Info("containment: leftovers of a previous run: " + swept.error().message);
  } else if (*swept > 0) {
    text_log.Info("containment: removed " + std::to_string(*swept) +
                  " leftovers of a previous run");
  }
  std::unique_ptr<Executor> executor = NewArgvExecutor(Processes::Posix(), env, containment.get());
  std::unique_ptr<Executor> shell_executor =
      NewShellExecutor(Processes::Posix(), env, containment.get(), paths.work_dir);
  Scheduler workers(options.workers);
  PipelineDeps deps;
  deps.env = env;
  deps.processes = Processes::Posix();
  deps.transport = transport.get();
  deps.journal = journal->get();
  deps.keys = &keys;
  deps.policy = &policy;
  deps.argv_executor = executor.get();
  deps.shell_executor = shell_executor.get();
  deps.spool = &spool;
  deps.log = &text_log;
  deps.scheduler = &workers;
  Backoff backoff([] { return Processes::Posix()->NowMonotonicMs(); });
  LogLimiter faults([] { return Processes::Posix()->NowMonotonicMs(); });
  if (!options.once) deps.faults = &faults;
  deps.grants_dir = paths.grants_dir;
  deps.exec_path = TrustedExecPath(*env, conf->exec_path, text_log);
  deps.dry_run = options.dry_run;
  std::atomic<bool> stop_running{false};
  deps.stop_running = &stop_running;
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

  // systemd: ready once the journal is recovered and the policy loaded (deny-all included).
  auto reachable = std::make_unique<std::atomic<bool>[]>(vms.size());
  for (std::size_t i = 0; i < vms.size(); ++i) reachable[i] = true;
  auto send_status = [&](const char* prefix) {
    std::size_t up = 0, undelivered = 0;
    for (std::size_t i = 0; i < vms.size(); ++i) {
      up += reachable[i].load() ? 1 : 0;
      undelivered += pipeline.Waiting(vms[i]);
    }
    const std::string line = StatusLine(PolicyStatus(policy.Get()), up, vms.size(), undelivered);
    if (auto s = Notify(std::string(prefix) + "STATUS=" + line); !s) {
      text_log.Error("sd_notify: " + s.error().message);
    }
  };
  send_status("READY=1\n");

  if (options.once) {
    bool all_reached = true;
    for (const std::string& vm : vms) {
      // Answers from the restart table go out first, so a re-offered request finds its `.exit`.
      pipeline.Deliver(vm);
    }
    // Claims are bounded by each VM's free share: sweep again as workers free up, until no VM
    // has anything ready left.
    std::vector<std::string> active = vms;
    std::set<std::string> recovered;
    while (!active.empty()) {
      std::vector<std::string> still;
      bool any_free = false;
      for (const std::string& vm : active) {
        const bool recover = recovered.insert(vm).second;
        if (!recover && workers.FreeShare(vm) == 0) {
          still.push_back(vm);
          continue;
        }
        any_free = true;
        SweepReport r = pipeline.Sweep(vm, recover, /*wait_ms=*/0);
        all_reached &= r.reached;
        if (r.reached && (r.claimed > 0 || recover)) still.push_back(vm);
      }
      active = std::move(still);
      if (!any_free && !active.empty()) workers.WaitForFreeShare(active.front(), 100);
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
  VmLoopDeps loop_deps{&pipeline, states.get(), &backoff, &faults, &text_log, Processes::Posix()};
  for (std::size_t index = 0; index < vms.size(); ++index) {
    loops.emplace_back(
        [&, index] { VmLoop(vms[index], loop_deps).Run(stopping, &reachable[index]); });
  }
  text_log.Info("serving " + std::to_string(vms.size()) + " VMs over " +
                std::string(transport->name()));
  int sig = 0;
  // STATUS= once a minute, and within a second of a policy change (whoever reloads it); SIGHUP
  // re-reads the policy and remote.conf; SIGTERM or SIGINT stops.
  const timespec one_second{1, 0};
  std::string last_policy = PolicyStatus(policy.Get());
  int seconds = 0;
  while (true) {
    sig = sigtimedwait(&stop_signals, nullptr, &one_second);
    if (sig == SIGHUP) {
      OnSighup(*env, paths, reloader, pipeline, text_log);
      continue;
    }
    if (sig >= 0) break;
    if (errno != EAGAIN) continue;
    std::string now_policy = PolicyStatus(policy.Get());
    if (++seconds >= kStatusEverySeconds || now_policy != last_policy) {
      send_status("");
      seconds = 0;
      last_policy = std::move(now_policy);
    }
  }
  Notify("STOPPING=1");
  text_log.Info(std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
  stopping.store(true);
  for (auto& t : loops) t.join();  // no more fetching
  // Requests not started stay `accepted` (the next start answers them `interrupted`); running
  // ones get kStopGraceMs, then are stopped as at a deadline and left to the next start too.
  if (std::size_t dropped = workers.DropQueued(); dropped > 0) {
    text_log.Info(std::to_string(dropped) + " requests not started are left to the next start");
  }
  if (!workers.WaitIdleFor(kStopGraceMs)) {
    text_log.Info(std::to_string(workers.Running()) + " commands still running: stopping them");
    stop_running.store(true);
  }
  workers.WaitIdle();
  for (const std::string& vm : vms) pipeline.Deliver(vm);
  return 0;
}

}  // namespace qvmr
