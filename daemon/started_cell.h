// What the journal's `started` row records about a running command's cell, and how a restart
// finds and kills what a crashed daemon left of it (CONTRACT.md "Journal": "started → leftovers
// killed only where boot id and start time match, then interrupted").
//
// The row's containment id is one of (the journal schema is unchanged; the kind is a prefix):
//   "cgroup:<dir>[,<dir>...]"  the command's cgroup directories (cgroup2 or hybrid). The names
//                              carry this daemon instance and the cid, so they are never reused
//                              by another command while the row is `started`.
//   "pidns:<pid>"              the init of the command's PID namespace (its leader).
//   "pgid:<pid>"               the process group of the command's first process (its leader);
//                              none/subreaper containment or none at all. A bare number (rows of
//                              older daemons) means the same.
//
// Thread safety: plain functions over /proc and cgroupfs; safe from any thread.
#ifndef QVMR_DAEMON_STARTED_CELL_H_
#define QVMR_DAEMON_STARTED_CELL_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "daemon/containment.h"

namespace qvmr {

// What an executor reports once the command's cell exists and its first process is forked
// (ExecRequest::on_started).
struct StartedFacts {
  std::string containment_id;  // as above
  pid_t leader_pid = -1;       // the first process of the command
  // Field 22 of /proc/<leader>/stat; 0 if it could not be read (already gone).
  std::uint64_t leader_start_time = 0;
};

// The containment id for a command whose first process is `leader`, in `cell` (null: no
// containment) of a containment of `kind` (ignored without a cell).
std::string StartedContainmentId(ContainmentKind kind, const Cell* cell, pid_t leader);

// Field 22 of /proc/<pid>/stat (clock ticks since boot), parsed after the last ')' so that a
// hostile comm ("a) 1 2") cannot shift the fields. nullopt when the process does not exist.
std::optional<std::uint64_t> ProcessStartTime(pid_t pid, const std::string& proc_root = "/proc");

// What KillStartedLeftovers did.
enum class LeftoverKill {
  kKilled,   // the cell/group was signalled
  kNotOurs,  // the leader's pid is gone or names another process (start time differs): left alone
  kUnrecognised,  // an empty or malformed containment id: nothing to do
};

// For a `started` row of THIS boot (the caller compares boot ids): SIGKILLs what is left.
// cgroup: `1` to each directory's cgroup.kill where there is one, else SIGKILL to every pid in
// its cgroup.procs — whether or not the leader still lives, since the path is ours alone.
// pgid / pidns: only when /proc/<leader> exists and its start time equals `leader_start_time`
// (a recycled pid has another one): kill(-pgid) / kill(init) — a namespace dies with its init.
LeftoverKill KillStartedLeftovers(const std::string& containment_id,
                                  std::uint64_t leader_start_time,
                                  const std::string& proc_root = "/proc");

}  // namespace qvmr

#endif  // QVMR_DAEMON_STARTED_CELL_H_
