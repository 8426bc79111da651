// Request validation, steps 1–11 of CONTRACT.md "Request validation". engine/wire/validate.h.
#include "engine/wire/validate.h"

#include <cstdio>
#include <utility>

#include "engine/base/excerpt.h"
#include "engine/base/limits.h"
#include "engine/wire/freshness.h"

namespace qvmr {
namespace {

Validation Refuse(int step, Outcome outcome, ReasonCode reason, std::string err) {
  Validation v;
  v.verdict = Verdict::kAnswer;
  v.step = step;
  v.outcome = outcome;
  v.reason = reason;
  v.err = std::move(err);
  return v;
}

Validation NotAnswered(int step, Verdict verdict, std::string log_line) {
  Validation v;
  v.verdict = verdict;
  v.step = step;
  v.err = std::move(log_line);
  return v;
}

std::string Hex2(unsigned char b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", b);
  return buf;
}

std::string Seconds(std::int64_t ms) {
  return std::to_string(ms / 1000) + " s";
}

// Step 6. The size is judged before any byte is looked at.
std::optional<Validation> CheckBody(const ValidationInput& in, int version, bool ping) {
  if (in.body_size > limits::kMaxBodyBytes || !in.body || in.body->size() > limits::kMaxBodyBytes) {
    const std::uint64_t size =
        in.body && in.body->size() > in.body_size ? in.body->size() : in.body_size;
    return Refuse(6, Outcome::kMalformed, ReasonCode::kTooLarge,
                  "the request body is " + std::to_string(size) + " bytes, more than the " +
                      std::to_string(limits::kMaxBodyBytes) +
                      " allowed; send a shorter command (copy large scripts to dom0 another way)");
  }
  std::string_view body = *in.body;
  if (ping) {
    if (!body.empty()) {
      return Refuse(6, Outcome::kMalformed, ReasonCode::kNotEmpty,
                    "a ping (kind=ping) must have an empty body, this one has " +
                        std::to_string(body.size()) + " bytes; send commands with kind=cmd");
    }
    return std::nullopt;
  }
  if (body.empty()) {
    return Refuse(6, Outcome::kMalformed, ReasonCode::kEmpty,
                  std::string("the command is empty") +
                      (version == 1 ? " (v1 bodies must hold a command)" : "") +
                      "; give qvm-remote a command to run");
  }
  for (std::size_t i = 0; i < body.size(); ++i) {
    auto b = static_cast<unsigned char>(body[i]);
    if (IsBinaryByte(b)) {
      return Refuse(6, Outcome::kMalformed, ReasonCode::kBinary,
                    "the command holds the control byte " + Hex2(b) + " at offset " +
                        std::to_string(i) +
                        " (binary data is refused, as by the reference); send text only");
    }
  }
  return std::nullopt;
}

std::string AuthorizeHint(std::string_view vm) {
  const std::string name = vm.empty() ? std::string("VM") : Excerpt(vm, limits::kMaxVmNameBytes);
  return "run `qvm-remote key gen` in the VM and authorize it in dom0 with `qvm-run --pass-io " +
         name + " 'cat ~/.qvm-remote/auth.key' | sudo qvm-remote-dom0 authorize " + name + " -`";
}

}  // namespace

bool IsBinaryByte(unsigned char b) {
  return b <= 0x08 || b == 0x0b || b == 0x0c || (b >= 0x0e && b <= 0x1f);
}

QueueName ClassifyQueueName(std::string_view name) {
  if (ClassifyCid(name) != CidShape::kInvalid) return QueueName::kRequest;
  constexpr std::string_view kAuthSuffix = ".auth";
  constexpr std::string_view kCmdSuffix = ".cmd";
  if (name.ends_with(kAuthSuffix) &&
      ClassifyCid(name.substr(0, name.size() - kAuthSuffix.size())) != CidShape::kInvalid) {
    return QueueName::kAuth;
  }
  if (name.ends_with(kCmdSuffix) &&
      ClassifyCid(name.substr(0, name.size() - kCmdSuffix.size())) == CidShape::kV1) {
    return QueueName::kV1CopyOfBody;
  }
  return QueueName::kInvalid;
}

Validation ValidateRequest(const ValidationInput& in) {
  // 1. The name. Anything else in the queue is not a request: it is removed in the VM, never
  // answered (an answer would be a file named after VM bytes).
  const CidShape shape = ClassifyCid(in.name);
  if (shape == CidShape::kInvalid && ClassifyQueueName(in.name) != QueueName::kInvalid) {
    return NotAnswered(1, Verdict::kLeave,
                       "'" + Excerpt(in.name, 80) + "' is not a request (left alone)");
  }
  if (shape == CidShape::kInvalid) {
    return NotAnswered(1, Verdict::kRemove,
                       "not a request id: '" + Excerpt(in.name, 80) + "' (removed)");
  }
  const std::string cid = Excerpt(in.name);  // a valid shape: printable already

  // 2. A cid the journal holds was accepted once: never run again and never answered (its own
  // answer, delivered or coming, must not be overwritten).
  if (in.journal.seen) {
    return NotAnswered(2, Verdict::kDuplicate, "request " + cid + " is already in the journal");
  }

  // 3. Pairing, judged in the VM by the fixed script.
  if (in.kind == RecordKind::kNoToken) {
    return Refuse(3, Outcome::kAuth, ReasonCode::kNoToken,
                  "the request's .auth did not appear within " + Seconds(limits::kPairingDelayMs) +
                      " of its body; send it again (a v2 client writes .auth before the body)");
  }

  // 4. The .auth, strictly. Its messages quote VM bytes escaped (engine/wire/token.h).
  Result<AuthFile> auth = ParseAuthFile(in.auth);
  if (!auth.ok()) {
    return Refuse(4, Outcome::kMalformed, ReasonCode::kMalformedAuth,
                  "malformed .auth: " + Excerpt(auth.error().message, 200) +
                      "; use a client that speaks the v2 protocol (docs/protocol.md §4)");
  }

  // 5. The cid's shape must be the one of the version the .auth declares.
  if (!CidMatchesVersion(shape, auth->version)) {
    return Refuse(5, Outcome::kMalformed, ReasonCode::kShapeMismatch,
                  "request id " + cid + " does not have the shape of a v" +
                      std::to_string(auth->version) +
                      " request id (docs/protocol.md §2); the client is broken or the files were "
                      "mixed up");
  }
  const int version = auth->version;
  const bool ping = version == 2 && auth->ping;

  // 6. The body: size from the reported size, then kind, then the reference's binary rule.
  if (std::optional<Validation> refused = CheckBody(in, version, ping)) return *refused;
  const std::string_view body = *in.body;

  // 7. The key. Only now: a VM without a key still learns what was malformed.
  if (!in.key || !IsValidKey(*in.key)) {
    return Refuse(7, Outcome::kAuth, ReasonCode::kNoKey,
                  "dom0 holds no valid key for this VM; " + AuthorizeHint(in.vm));
  }

  // 8. Token or MAC, compared in constant time.
  const std::string expected =
      version == 1 ? TokenV1(*in.key, in.name) : MacV2(*in.key, in.name, auth->fields, body);
  if (expected.empty() || !ConstantTimeEqual(expected, auth->mac)) {
    return Refuse(8, Outcome::kAuth, ReasonCode::kBadMac,
                  std::string(version == 1 ? "the v1 token" : "the v2 MAC") +
                      " does not match: the VM's key differs from dom0's (compare `qvm-remote "
                      "key show` with `qvm-remote-dom0 keys`) or the request was altered");
  }

  // 9. v1 only where the policy says so; after the MAC, so only a key holder learns the setting.
  // In deny-all there is no setting: the decision answers policy-error.
  if (version == 1 && in.accept_v1.has_value() && !*in.accept_v1) {
    return Refuse(9, Outcome::kAuth, ReasonCode::kV1NotAccepted,
                  "v1 requests are not accepted from this VM; use the v2 client, or set "
                  "`accept_v1: true` for the VM in dom0's policy (/etc/qubes/remote-policy.d/)");
  }

  // 10. Freshness and the low-water mark.
  const std::optional<TimeMs> cid_time = CidTimeMs(in.name, shape, in.v1_utc_offset_ms);
  if (!cid_time) {
    return Refuse(10, Outcome::kAuth, ReasonCode::kStale,
                  "request id " + cid + " does not name a valid time; check the VM's client");
  }
  if (!IsFresh(version, *cid_time, in.now)) {
    const std::int64_t off = *cid_time - in.now;
    return Refuse(10, Outcome::kAuth, ReasonCode::kStale,
                  "request id " + cid + " is " + Seconds(off < 0 ? -off : off) +
                      (off < 0 ? " behind" : " ahead of") + " dom0's clock (allowed ±" +
                      Seconds(FreshnessWindowMs(version)) +
                      "); set the VM's clock right and send it again");
  }
  if (!IsAboveLowWaterMark(*cid_time, in.journal.low_water_mark)) {
    return Refuse(10, Outcome::kAuth, ReasonCode::kStale,
                  "request id " + cid +
                      " is not newer than the journal's low-water mark (dom0's clock went back "
                      "or the request is a copy); send it again with a new id");
  }

  // 11. A full journal refuses, never evicts (evicting would re-open a replay).
  if (in.journal.rows >= in.journal.cap) {
    return Refuse(11, Outcome::kAuth, ReasonCode::kJournalFull,
                  "dom0's journal for this VM is full (" + std::to_string(in.journal.rows) +
                      " of " + std::to_string(in.journal.cap) +
                      " rows); wait for running requests to finish and their results to be "
                      "delivered, or raise " +
                      (version == 1 ? "--journal-cap-v1" : "--journal-cap"));
  }

  Validation v;
  v.verdict = Verdict::kAccept;
  v.request.version = version;
  v.request.shape = shape;
  v.request.kind = ping ? RequestKind::kPing : RequestKind::kCmd;
  if (version == 2) v.request.timeout_seconds = auth->timeout_seconds;
  v.request.cid_time = *cid_time;
  return v;
}

}  // namespace qvmr
