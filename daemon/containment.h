// Containment: what makes "kill the command" mean the whole tree it grew, and what bounds a fork
// bomb (CONTRACT.md "Execution", `--containment auto|cgroup2|hybrid|pidns|subreaper|none`).
//
// A Containment is chosen once at start; every command gets a Cell from it. A Cell is the
// command's cgroup(s) or PID namespace plus its private TMPDIR. The child enters its cell between
// fork and exec (EnterCell, async-signal-safe, on descriptors the parent opened), so nothing the
// command runs ever exists outside it; killing the cell reaches setsid'd, double-forked and
// SIGTERM-ignoring descendants alike.
//
// Mechanisms (each in containment_<variant>.cpp):
//   cgroup2  pure v2 with a delegated subtree (systemd Delegate=yes): the daemon first moves itself
//            into a leaf (v2's "no internal processes" rule), enables pids/memory/cpu for its
//            subtree, and makes one cgroup per command with pids.max, memory.max, cpu.max;
//            cgroup.kill kills atomically.
//   hybrid   the v1 `pids` controller (pids.max) plus, where writable, v1 memory and cpu, plus the
//            v2 tree at <root>/unified for cgroup.kill; the child joins every hierarchy.
//   pidns    the command's first process is init of a new PID namespace: when it dies the kernel
//            kills the rest. It bounds no fork bomb (no pids.max); the memory cap is RLIMIT_AS.
//   none     only what the executor's process groups reach; warned about once at start.
//   subreaper  unprivileged: a PR_SET_CHILD_SUBREAPER helper per command inherits every orphan
//            of the command and kills what is left when the main process exits. It bounds no
//            fork bomb; the memory cap is RLIMIT_AS.
// Cgroup names carry the daemon instance (a hash of its state directory) and the cid, so two
// daemons under different --root never share a cgroup.
//
// Thread safety: a Containment is safe for concurrent NewCell calls; one Cell belongs to one
// worker. Errors are values; nothing throws.
#ifndef QVMR_DAEMON_CONTAINMENT_H_
#define QVMR_DAEMON_CONTAINMENT_H_

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/base/result.h"

namespace qvmr {

enum class ContainmentKind { kCgroup2, kHybrid, kPidns, kSubreaper, kNone };

// "cgroup2", "hybrid", "pidns", "subreaper", "none".
std::string_view ContainmentKindName(ContainmentKind kind);
// The option's values; "auto" is not a kind (see ChooseContainment): nullopt for it and for junk.
std::optional<ContainmentKind> ParseContainmentKind(std::string_view name);

// CONTRACT defaults.
inline constexpr int kDefaultMaxPids = 512;
inline constexpr std::uint64_t kDefaultMaxMemoryBytes = 1ULL << 30;
inline constexpr int kDefaultCpuPercent = 100;  // one CPU per command
// How long Close waits for a killed cell to empty before reporting it could not be removed.
inline constexpr std::int64_t kCellDrainMs = 5000;

struct ContainmentOptions {
  // Names this daemon's cgroups: InstanceTag(state directory). REQUIRES: [0-9a-f]+.
  std::string instance;
  int max_pids = kDefaultMaxPids;
  std::uint64_t max_memory_bytes = kDefaultMaxMemoryBytes;
  int cpu_percent = kDefaultCpuPercent;  // 0: no CPU quota
  // Where per-command private TMPDIRs are made (`<state>/tmp`); empty: no private TMPDIR.
  std::string tmp_parent;
  // Injectable for tests (a fake cgroupfs tree in a temporary directory): the cgroup mount root
  // and the file naming this process's cgroups.
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string proc_self_cgroup = "/proc/self/cgroup";
};

// "<vm>.<cid>" for a validated VM name and cid: unambiguous, since a cid never holds a '.'.
std::string CellId(std::string_view vm, std::string_view cid);

// 16 hex digits naming a daemon instance (FNV-1a of its state directory).
std::string InstanceTag(std::string_view state_dir);

// What a child does between fork and exec to enter its cell. Plain data prepared in the parent,
// so the child needs no allocation. Valid while its Cell lives.
struct CellEntry {
  static constexpr int kMaxJoinFds = 4;
  // Open cgroup.procs files (O_WRONLY, close-on-exec) the child writes "0" to: moves itself.
  int join_fds[kMaxJoinFds] = {-1, -1, -1, -1};
  int join_count = 0;
  // The child must be made with clone(CLONE_NEWPID) (ForkIntoCell does that).
  bool new_pid_namespace = false;
  // The child splits in two (SplitIntoSubreaperHelper): a helper that stays and the command.
  bool subreaper_helper = false;
  // RLIMIT_AS for the child when no memory cgroup caps it; 0: none.
  std::uint64_t address_space_bytes = 0;
};

// fork(), or clone(CLONE_NEWPID|SIGCHLD) when the entry asks for a PID namespace. Returns as fork
// does (-1 with errno). In a new namespace the child is pid 1 and its getppid() is 0.
pid_t ForkIntoCell(const CellEntry& entry);
// In the child after ForkIntoCell, before exec: joins the cgroups and sets the limits.
// Async-signal-safe. Returns 0, or the errno of the step that failed (the child must not exec).
int EnterCell(const CellEntry& entry);

class Cell {
 public:
  // Closes (see Close) if not yet closed.
  virtual ~Cell() = default;

  // For ForkIntoCell / EnterCell in the child.
  virtual const CellEntry& entry() const = 0;
  // The command's private TMPDIR (0700), or "" when the containment has none.
  virtual const std::string& tmpdir() const = 0;
  // Tells the cell the pid of a process started in it (the executor calls it after each spawn);
  // pidns kills through it.
  virtual void Adopt(pid_t pid) = 0;
  // `signal` to every process in the cell (SIGKILL through cgroup.kill where there is one).
  // Processes that are gone are ignored. Safe to call any number of times.
  virtual void Signal(int signal) = 0;
  // True when no process of the cell is alive.
  virtual bool Empty() = 0;
  // For the journal and logs: the cgroup path(s) or "pidns:<init pid>".
  virtual std::string Describe() const = 0;
  // Kills whatever is left, waits up to kCellDrainMs for the cell to empty, removes its cgroups
  // and its TMPDIR (only now: nothing is left to write there). Idempotent. An error names what
  // could not be removed; the command's outcome does not depend on it.
  virtual Status Close() = 0;
};

class Containment {
 public:
  virtual ~Containment() = default;
  virtual ContainmentKind kind() const = 0;
  // One sentence for the start log: the mechanism and where ("hybrid: v1 pids at ..., v2 ...").
  virtual std::string Describe() const = 0;
  // A new empty cell for one command. `id` names it (cgroup and TMPDIR) and becomes a path
  // component: CellId(vm, cid) — a cid is unique only within its VM.
  virtual Result<std::unique_ptr<Cell>> NewCell(std::string_view id) = 0;
  // Once at start, after the daemon holds its instance lock (never while cells are live): kills
  // and removes what a crashed predecessor of this instance left behind — its cgroups
  // `qvmr-<instance>-<cid>` and the private TMPDIRs under tmp_parent. Returns how many it
  // removed; an error names what could not be removed.
  virtual Result<int> SweepLeftovers() = 0;
};

// The mechanism `kind`, set up now (for cgroup2 that includes moving the daemon into its leaf).
// Fails with code "containment-unavailable" when this host cannot provide it.
Result<std::unique_ptr<Containment>> NewContainment(ContainmentKind kind,
                                                    const ContainmentOptions& options);

// `auto`: the first of cgroup2, hybrid, pidns, subreaper that works here, else none. `*why` gets
// one line for the log naming the choice and why the ones before it failed.
std::unique_ptr<Containment> ChooseContainment(const ContainmentOptions& options, std::string* why);

// Variants (containment_<variant>.cpp); NewContainment dispatches to them.
Result<std::unique_ptr<Containment>> NewCgroup2Containment(const ContainmentOptions& options);
Result<std::unique_ptr<Containment>> NewHybridContainment(const ContainmentOptions& options);
Result<std::unique_ptr<Containment>> NewPidnsContainment(const ContainmentOptions& options);
Result<std::unique_ptr<Containment>> NewSubreaperContainment(const ContainmentOptions& options);
std::unique_ptr<Containment> NewNoneContainment(const ContainmentOptions& options);

// Shared by the variants (containment.cpp).
// Makes `<options.tmp_parent>/<cid>` 0700 ("" when tmp_parent is empty).
Result<std::string> MakePrivateTmp(const ContainmentOptions& options, std::string_view cid);
// In the child (EnterCell, for a subreaper cell): becomes the helper, which never returns, and
// returns 0 in the command's process (its parent is then the helper), else an errno.
int SplitIntoSubreaperHelper();
// Removes every entry of options.tmp_parent (SweepLeftovers). Returns how many.
Result<int> SweepPrivateTmps(const ContainmentOptions& options);
// Removes a directory tree without following symlinks. Missing is fine.
Status RemoveTree(const std::string& path);

}  // namespace qvmr

#endif  // QVMR_DAEMON_CONTAINMENT_H_
