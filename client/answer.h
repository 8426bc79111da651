// dom0's answer to one request: reading `results/<cid>.{out,err,exit,meta}`, the status the client
// exits with (engine/wire/exit_status.h, the one mapping), and the `--json` object.
// CONTRACT.md "Wire protocol v2" (Results, `--json`); docs/protocol.md §8.
// Thread safety: pure functions, except ReadAnswer (reads files).
#ifndef QVMR_CLIENT_ANSWER_H_
#define QVMR_CLIENT_ANSWER_H_

#include <optional>
#include <string>
#include <string_view>

#include "client/queue.h"
#include "engine/base/result.h"
#include "engine/wire/meta.h"

namespace qvmr::client {

struct Answer {
  std::string out;           // the command's stdout, as dom0 stored it (capped there)
  std::string err;           // its stderr, or dom0's one line for a refusal
  std::string exit_text;     // `.exit` as read
  std::optional<Meta> meta;  // nullopt when absent or undecodable (a reference daemon's is fine)
};

// Reads the four files. `.exit` must exist (the caller saw it); `.out`/`.err`/`.meta` may be
// missing (empty). Bounded: `.exit` 64 B, `.meta` limits::kMaxMetaBytes, each stream 1 GiB (dom0
// caps them far lower; the bound keeps a broken dom0 from exhausting memory). Error code "io".
Result<Answer> ReadAnswer(const Paths& paths, std::string_view cid);

// The client's exit status (ClientExitStatus over the meta's outcome and `.exit`).
int ExitStatusOf(const Answer& answer);
// N when `.exit` says the command died of signal N (and the outcome is ok or unknown).
std::optional<int> SignalOf(const Answer& answer);
// "ok" .. "error", or "ok" when the meta names no outcome (a reference daemon answers only what
// ran).
std::string OutcomeOf(const Answer& answer);

// Strict UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
bool IsValidUtf8(std::string_view text);
// RFC 4648 base64 with padding.
std::string Base64(std::string_view data);

// The `--json` object, one line plus "\n": {exit, outcome, stdout|stdout_b64, stderr|stderr_b64,
// truncated, decision[, signal]}. `answer` null = no answer from dom0: outcome "no-answer",
// empty streams, truncated [], decision null. `exit` is what the client exits with.
std::string AnswerJson(const Answer* answer, int exit);

}  // namespace qvmr::client

#endif  // QVMR_CLIENT_ANSWER_H_
