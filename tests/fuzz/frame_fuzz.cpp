// Fuzzes the frame readers (engine/wire/frame.h) with arbitrary bytes split at arbitrary points.
// Input: byte 0 picks the stream (even: fetch batch, odd: acknowledgements), byte 1 seeds the
// chunk sizes, the rest is the stream. Invariants: no crash; the records held never exceed the
// caps (bounded memory); feeding the stream whole or in chunks gives the same records, trailer
// and errors.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/wire/frame.h"

namespace {

constexpr qvmr::FetchReaderLimits kLimits{.max_records = 8, .max_bytes = 8192};

std::string Describe(const qvmr::Status& s) {
  return s.ok() ? "ok" : s.error().code;
}

// Feeds `stream` in chunks whose sizes cycle from `seed`; returns everything observable.
std::string ReadFetch(std::string_view stream, unsigned seed) {
  qvmr::FetchBatchReader reader(kLimits);
  std::string seen;
  std::size_t held = 0, records = 0;
  qvmr::Status fed = qvmr::Ok{};
  for (std::size_t at = 0; at < stream.size();) {
    std::size_t chunk = seed == 0 ? stream.size() : 1 + (seed * (at + 7)) % 97;
    fed = reader.Feed(stream.substr(at, chunk));
    at += chunk;
    for (const qvmr::FetchRecord& r : reader.TakeRecords()) {
      ++records;
      if (r.auth) held += r.auth->size();
      if (r.body) held += r.body->size();
      if ((r.auth && r.auth->size() != r.auth_size) || (r.body && r.body->size() != r.body_size)) {
        std::abort();
      }
      if (qvmr::ClassifyCid(r.cid) == qvmr::CidShape::kInvalid) std::abort();
      seen += r.cid + ":" + std::to_string(r.auth_size) + ":" + std::to_string(r.body_size) + ":" +
              (r.auth ? *r.auth : "-") + ":" + (r.body ? *r.body : "-") + "\n";
    }
    if (!fed.ok()) break;
  }
  if (records > kLimits.max_records || held > kLimits.max_bytes) std::abort();
  qvmr::Status finish = reader.Finish();
  seen += Describe(fed) + " " + Describe(finish);
  if (finish.ok()) {
    seen += " " + std::to_string(reader.trailer().removed) + " " +
            std::to_string(reader.trailer().waiting);
  }
  return seen;
}

std::string ReadAcks(std::string_view stream, unsigned seed) {
  qvmr::AckReader reader(8);
  std::string seen;
  qvmr::Status fed = qvmr::Ok{};
  std::size_t acks = 0;
  for (std::size_t at = 0; at < stream.size();) {
    std::size_t chunk = seed == 0 ? stream.size() : 1 + (seed * (at + 7)) % 97;
    fed = reader.Feed(stream.substr(at, chunk));
    at += chunk;
    for (const qvmr::Ack& a : reader.TakeAcks()) {
      ++acks;
      seen += a.cid + ":" + std::to_string(static_cast<int>(a.kind)) + "\n";
    }
    if (!fed.ok()) break;
  }
  if (acks > 8) std::abort();
  return seen + Describe(fed) + " " + Describe(reader.Finish());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  unsigned seed = data[1];
  if (data[0] % 2 == 0) {
    if (ReadFetch(stream, 0) != ReadFetch(stream, seed | 1)) std::abort();
    if (ReadFetch(stream, 0) != ReadFetch(stream, 1)) std::abort();
  } else {
    if (ReadAcks(stream, 0) != ReadAcks(stream, seed | 1)) std::abort();
  }
  return 0;
}
