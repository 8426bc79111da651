// Fuzzes ValidateRequest (engine/wire/validate.h) over arbitrary names, .auth texts and bodies.
// Input: one flags byte, then name, .auth and body separated by NUL bytes. Flags choose the
// record kind, whether dom0 has the key, accept_v1 (unset/false/true), a seen cid, a full
// journal, whether to re-sign the request with the right key (so the accepting paths are
// reached), and whether dom0's clock is set to the cid's own time.
// Invariants: never accepted with a MAC that does not verify, nor without a key; every answered
// refusal carries a reason code, an outcome other than ok and one printable line; only steps 1
// and 2 go unanswered; an accepted request's version matches its cid's shape.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/base/limits.h"
#include "engine/wire/freshness.h"
#include "engine/wire/token.h"
#include "engine/wire/validate.h"

namespace {

const std::string kKey(64, 'b');
constexpr qvmr::TimeMs kNow = 1795400000000;

std::string Part(const std::string& in, std::size_t& pos) {
  std::size_t end = in.find('\0', pos);
  if (end == std::string::npos) end = in.size();
  std::string out = in.substr(pos, end - pos);
  pos = end < in.size() ? end + 1 : end;
  return out;
}

// The same .auth, signed with kKey (or unchanged if it does not parse).
std::string Resign(const std::string& name, const std::string& auth, const std::string& body) {
  auto parsed = qvmr::ParseAuthFile(auth);
  if (!parsed.ok()) return auth;
  if (parsed->version == 1) return qvmr::TokenV1(kKey, name);
  return qvmr::FormatAuthV2(parsed->fields, qvmr::MacV2(kKey, name, parsed->fields, body));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned flags = data[0];
  const std::string in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::size_t pos = 0;
  const std::string name = Part(in, pos);
  std::string auth = Part(in, pos);
  const std::string body = in.substr(pos);
  if (flags & 0x40) auth = Resign(name, auth, body);

  qvmr::ValidationInput v;
  v.vm = "fuzz-vm";
  v.name = name;
  v.kind = (flags & 0x01) ? qvmr::RecordKind::kNoToken : qvmr::RecordKind::kPaired;
  v.auth = auth;
  v.body_size = body.size();
  v.body = body;
  if (flags & 0x02) v.key = kKey;
  if (flags & 0x04) v.accept_v1 = (flags & 0x08) != 0;
  v.journal.seen = (flags & 0x10) != 0;
  v.journal.cap = qvmr::limits::kJournalCapV2;
  v.journal.rows = (flags & 0x20) ? v.journal.cap : 0;
  v.now = kNow;
  const qvmr::CidShape shape = qvmr::ClassifyCid(name);
  if (flags & 0x80) {
    if (auto t = qvmr::CidTimeMs(name, shape)) v.now = *t;
  }

  const qvmr::Validation r = qvmr::ValidateRequest(v);
  switch (r.verdict) {
    case qvmr::Verdict::kAccept: {
      if (r.step != 0 || r.reason != qvmr::ReasonCode::kNone) std::abort();
      if (!v.key) std::abort();
      auto parsed = qvmr::ParseAuthFile(auth);
      if (!parsed.ok()) std::abort();
      if (!qvmr::VerifyAuth(kKey, name, *parsed, body).ok()) std::abort();
      if (r.request.version != qvmr::CidVersion(shape)) std::abort();
      if (v.kind != qvmr::RecordKind::kPaired || v.journal.seen) std::abort();
      break;
    }
    case qvmr::Verdict::kAnswer:
      if (r.step < 3 || r.step > 11) std::abort();
      if (r.reason == qvmr::ReasonCode::kNone || r.outcome == qvmr::Outcome::kOk) std::abort();
      if (r.err.empty()) std::abort();
      for (unsigned char c : r.err) {
        if (c < 0x20 || c == 0x7f) std::abort();
      }
      break;
    case qvmr::Verdict::kRemove:
    case qvmr::Verdict::kLeave:
      if (r.step != 1 || shape != qvmr::CidShape::kInvalid) std::abort();
      break;
    case qvmr::Verdict::kDuplicate:
      if (r.step != 2 || !v.journal.seen) std::abort();
      break;
  }
  return 0;
}
