// Request validation: CONTRACT.md "Request validation" steps 1–11 as one pure function, the same
// for every transport. The first failing step decides; docs/protocol.md §6 lists the steps, and
// tests/engine/wire/validate_test.cpp has one row per step.
//
//   1 name is a cid            → not answered; the entry is removed in the VM
//   2 cid not in the journal   → not answered, never run again (a replay or a re-offer)
//   3 paired (.auth arrived)   → auth / no-token
//   4 .auth parses strictly    → malformed / malformed-auth
//   5 cid shape ↔ .auth version→ malformed / shape-mismatch
//   6 body size, kind, bytes   → malformed / too-large, empty, not-empty, binary
//   7 the VM has a valid key   → auth / no-key
//   8 token or MAC matches     → auth / bad-mac
//   9 v1 accepted by policy    → auth / v1-not-accepted  (skipped in deny-all)
//  10 fresh, above low-water   → auth / stale
//  11 journal not full         → auth / journal-full
//
// Why this order: everything that needs no secret comes first (so a VM without a key still learns
// its request was malformed), the MAC before anything that would tell a non-key-holder about the
// policy (accept_v1) or the journal, and the journal's state last, right before the daemon makes
// the accepted row durable (step 12, the daemon's). Answers of steps 3–11 are not journaled.
//
// Hostile input: every byte of the input except `key`, `accept_v1`, `vm`, `now` and the journal
// view comes from the VM. Nothing here allocates in proportion to it beyond one SHA-256 pass over
// the body (≤ limits::kMaxBodyBytes, checked first from the reported size) and one copy of `.auth`
// (≤ limits::kMaxAuthBytes). `err` lines quote VM bytes only through Excerpt
// (engine/base/excerpt.h).
//
// Use (the daemon, per fetched record):
//   ValidationInput in;            // vm, name, kind, auth, body_size, body, key, accept_v1, now
//   in.journal = <the journal's view of (vm, CidVersion(ClassifyCid(name)))>;
//   Validation v = ValidateRequest(in);
//   kAccept    → journal v.request (step 12), then ping (13) or queue for a decision (14)
//   kAnswer    → .err = v.err; .meta outcome/reason_code from v.outcome/v.reason;
//                .exit = OutcomeExitStatus(v.outcome) (engine/base/codes.h); nothing journaled
//   kRemove    → remove the entry in the VM, count it, log v.err once per VM per minute
//   kLeave     → nothing;  kDuplicate → log v.err; never answer, never run
//
// Thread safety: pure; safe for concurrent use. Lifetime: the input's views must outlive the call
// only; the result owns its strings.
#ifndef QVMR_ENGINE_WIRE_VALIDATE_H_
#define QVMR_ENGINE_WIRE_VALIDATE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/base/codes.h"
#include "engine/base/env.h"
#include "engine/wire/token.h"

namespace qvmr {

// What a queue entry's name is (CONTRACT.md step 1). Only kRequest names a request; the transport
// leaves kAuth (an .auth waiting for its body) and kV1CopyOfBody (the reference client's
// `<v1 cid>.cmd`, never touched) alone, and removes kInvalid in the VM.
enum class QueueName { kInvalid, kRequest, kAuth, kV1CopyOfBody };
QueueName ClassifyQueueName(std::string_view name);

// How the VM's fixed script sent the request.
enum class RecordKind {
  kPaired,   // body and .auth
  kNoToken,  // a body whose .auth had not appeared within the pairing delay
};

// What the daemon's journal knows of this VM, for the cid's version (CidVersion(ClassifyCid(cid))
// in engine/wire/freshness.h; each version has its own mark and cap). Read-only here.
struct JournalView {
  bool seen = false;                     // (vm, cid) already has a row, in any state
  std::optional<TimeMs> low_water_mark;  // highest pruned cid time; nullopt: never pruned
  std::size_t rows = 0;                  // rows of this VM and version
  std::size_t cap = 0;  // limits::kJournalCapV2 / V1 or the daemon's option; 0 refuses all
};

struct ValidationInput {
  std::string_view vm;    // the requesting VM (dom0's name for it; quoted in `err` hints)
  std::string_view name;  // the cid, as found in the VM's queue
  RecordKind kind = RecordKind::kPaired;
  std::string_view auth;  // the .auth bytes; kPaired only
  // The body's size as the VM reported it, and its bytes. REQUIRES: `body` holds the bytes when
  // body_size <= limits::kMaxBodyBytes; nullopt means they were not read because the size was
  // larger (the transport never reads past the limit) — judged too-large whatever the size says.
  // A reported size over the limit is too-large even if bytes were passed.
  std::uint64_t body_size = 0;
  std::optional<std::string_view> body;
  // The VM's key as dom0 holds it; nullopt when there is no key file or it does not hold a valid
  // key (a key that is not 64 lowercase hex is treated the same).
  std::optional<std::string_view> key;
  // The VM's `accept_v1` from the policy in force; nullopt while the daemon is in deny-all
  // (step 9 is skipped: the decision step then answers denied / policy-error).
  std::optional<bool> accept_v1;
  TimeMs now = 0;                     // dom0's wall clock
  std::int64_t v1_utc_offset_ms = 0;  // how v1 cids' local time is read (CidTimeMs)
  JournalView journal;
};

enum class RequestKind { kCmd, kPing };

// What an accepted request is, for the journal's accepted row and the scheduler.
struct AcceptedRequest {
  int version = 0;  // 1 or 2
  CidShape shape = CidShape::kInvalid;
  // kPing only for a v2 `kind=ping` (empty body: answered ok, exit 0, nothing decided or run).
  // A v1 `ping-<ns>-<pid>` is an ordinary command (the reference sends "true\n" and runs it).
  RequestKind kind = RequestKind::kCmd;
  std::optional<std::uint32_t> timeout_seconds;  // v2's; v1 has none (the policy's applies)
  TimeMs cid_time = 0;                           // CidTimeMs of the cid
};

// What to do with the request.
enum class Verdict {
  kAccept,     // all of steps 1–11 passed: journal it (step 12), then ping or decide
  kAnswer,     // refused at steps 3–11: answer `outcome` / `reason` with `err`, not journaled
  kRemove,     // step 1: not a request name; remove it in the VM, count, log once a minute
  kLeave,      // step 1: `<cid>.auth` or `<v1 cid>.cmd` (ClassifyQueueName): not a request,
               // and not garbage either — leave it alone
  kDuplicate,  // step 2: never answered, never run; see CONTRACT.md for its queue entries
};

struct Validation {
  Verdict verdict = Verdict::kRemove;
  int step = 0;  // the step that refused (1–11); 0 when accepted
  // kAnswer: the answer. kRemove, kLeave and kDuplicate: kNone (no client ever sees them).
  Outcome outcome = Outcome::kOk;
  ReasonCode reason = ReasonCode::kNone;
  // kAnswer: one line for `.err`, no newline, saying what to do next; VM bytes only as Excerpt.
  // kRemove, kLeave, kDuplicate: a line for the daemon's log (escaped likewise).
  std::string err;
  AcceptedRequest request;  // kAccept only

  bool accepted() const { return verdict == Verdict::kAccept; }
};

// Runs steps 1–11 in CONTRACT.md's order. Never fails otherwise: every input gets a Validation.
// Cost: one strict .auth parse, one SHA-256 over the body (v2) and one HMAC, all bounded.
Validation ValidateRequest(const ValidationInput& input);

// True for the bytes the reference refuses as binary: ≤ 0x08, 0x0B, 0x0C, 0x0E–0x1F. Tab, LF,
// CR, DEL and bytes ≥ 0x80 pass (CR and DEL are then refused by the engine below `full`).
bool IsBinaryByte(unsigned char byte);

}  // namespace qvmr

#endif  // QVMR_ENGINE_WIRE_VALIDATE_H_
