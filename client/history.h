// The VM's own record, as the reference keeps it: `~/.qvm-remote/audit.log` lines
// (`[<local ISO seconds>] SUBMIT|DONE|TIMEOUT|QUEUE-CLEAN ...`) and the archive
// `~/.qvm-remote/history/<local date>/<cid>/{out,err,exit,meta,command}`; `log [N]` and
// `history [N]` read them back. upstream-facts.md §1.9. Failures here never fail a request:
// the answer has been shown; a full disk must not turn it into an error.
#ifndef QVMR_CLIENT_HISTORY_H_
#define QVMR_CLIENT_HISTORY_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "client/queue.h"

namespace qvmr::client {

// Appends `[<ISO local seconds>] <message>\n`; creates the log 0600.
void Audit(const Paths& paths, std::string_view message);

// `SUBMIT id=CID size=<n>B cmd=<first 100 bytes, control bytes as spaces>`.
std::string SubmitLine(std::string_view cid, std::string_view body);

// Moves results/<cid>.{out,err,exit,meta} into history/<today>/<cid>/ (without the dot and cid),
// writes `command` there, and removes what it could not move, so results/ keeps nothing.
void Archive(const Paths& paths, std::string_view cid, std::string_view command);

// Removes results/<cid>.{out,err,exit,meta} (a ping's answer is not archived).
void RemoveResults(const Paths& paths, std::string_view cid);

// `log [N]`: the last N audit lines, or "No audit log entries yet.".
void PrintLog(const Paths& paths, std::size_t n);
// `history [N]`: the reference's table of the N newest archived requests.
void PrintHistory(const Paths& paths, std::size_t n);

}  // namespace qvmr::client

#endif  // QVMR_CLIENT_HISTORY_H_
