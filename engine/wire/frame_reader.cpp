// The bounded, incremental readers of the VM's streams (frame.h). Every violation is found at
// the byte where it happens, whatever the chunking: a header is looked at only up to the 128
// bytes it may have, and bytes are counted against the caps as they are consumed, so feeding a
// stream in one piece or byte by byte gives the same records and the same error.
#include <algorithm>
#include <utility>

#include "engine/base/excerpt.h"
#include "engine/wire/frame.h"
#include "engine/wire/frame_syntax.h"

namespace qvmr {

namespace {

constexpr std::size_t kHeaderMax = limits::kMaxFrameHeaderBytes;

// Moves up to kHeaderMax bytes of one header line from `bytes` into `line` (without its
// newline). Returns 1 when the line is complete, 0 when more bytes are needed, -1 when the line
// reached kHeaderMax bytes without a newline. `taken` says how many bytes it consumed.
int TakeHeaderBytes(std::string_view bytes, std::string& line, std::size_t& taken) {
  std::size_t room = kHeaderMax - line.size();
  std::string_view window = bytes.substr(0, room);
  std::size_t nl = window.find('\n');
  if (nl == std::string_view::npos) {
    taken = window.size();
    line.append(window);
    return line.size() >= kHeaderMax ? -1 : 0;
  }
  taken = nl + 1;
  line.append(window.substr(0, nl));
  return 1;
}

std::string Quote(std::string_view line) {
  return "'" + Excerpt(line, 60) + "'";
}

}  // namespace

// ---- FetchBatchReader -------------------------------------------------------------------------

FetchBatchReader::FetchBatchReader(FetchReaderLimits limits) : limits_(limits) {}

Status FetchBatchReader::Fail(std::string code, std::string message) {
  error_ = MakeError(std::move(code), std::move(message));
  return *error_;
}

Status FetchBatchReader::Feed(std::string_view bytes) {
  if (error_) return *error_;
  while (!bytes.empty()) {
    if (finished()) return Fail("frame-trailing", "bytes after the fetch batch's last marker");
    if (pending_) {
      std::uint64_t& left = auth_left_ > 0 ? auth_left_ : body_left_;
      std::string& blob = auth_left_ > 0 ? *pending_->auth : *pending_->body;
      std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(left, bytes.size()));
      if (take > limits_.max_bytes - bytes_fed_) {
        return Fail("frame-caps",
                    "fetch batch larger than " + std::to_string(limits_.max_bytes) + " bytes");
      }
      bytes_fed_ += take;
      blob.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      left -= take;
      if (auth_left_ == 0 && body_left_ == 0) CompleteRecord();
      continue;
    }
    std::size_t taken = 0;
    int state = TakeHeaderBytes(bytes, line_, taken);
    if (taken > limits_.max_bytes - bytes_fed_) {
      return Fail("frame-caps",
                  "fetch batch larger than " + std::to_string(limits_.max_bytes) + " bytes");
    }
    bytes_fed_ += taken;
    bytes.remove_prefix(taken);
    if (state < 0) return Fail("frame-header", "header line longer than 128 bytes");
    if (state == 0) continue;
    std::string line = std::move(line_);
    line_.clear();
    Status st = OnLine(line);
    if (!st.ok()) return st;
  }
  return Ok{};
}

Status FetchBatchReader::OnLine(std::string_view line) {
  std::vector<std::string_view> f = frame_syntax::SplitFields(line);
  if (!version_seen_) {
    if (line == kFetchMarker) {
      version_seen_ = true;
      return Ok{};
    }
    if (f.empty() || f[0] != "error") {
      return Fail("frame-version",
                  "expected '" + std::string(kFetchMarker) + "', got " + Quote(line));
    }
  }
  if (f.empty()) return Fail("frame-header", "malformed header line " + Quote(line));
  if (f[0] == "error") {
    if (f.size() != 2 || !frame_syntax::IsScriptErrorCode(f[1])) {
      return Fail("frame-header", "malformed error marker " + Quote(line));
    }
    script_error_ = std::string(f[1]);
    return Ok{};
  }
  if (f[0] == "end") {
    if (f.size() != 3 || !frame_syntax::ParseDecimal(f[1], &trailer_.removed) ||
        !frame_syntax::ParseDecimal(f[2], &trailer_.waiting)) {
      return Fail("frame-header", "malformed end marker " + Quote(line));
    }
    end_seen_ = true;
    return Ok{};
  }
  if (f[0] != "request") return Fail("frame-header", "unknown header " + Quote(line));
  FetchRecord record;
  bool fields_ok = f.size() >= 4;
  if (fields_ok && f[2] == "paired") {
    record.kind = FetchKind::kPaired;
    fields_ok = f.size() == 5 && frame_syntax::ParseDecimal(f[3], &record.auth_size) &&
                frame_syntax::ParseDecimal(f[4], &record.body_size);
  } else if (fields_ok && f[2] == "no-token") {
    record.kind = FetchKind::kNoToken;
    fields_ok = f.size() == 4 && frame_syntax::ParseDecimal(f[3], &record.body_size);
  } else {
    fields_ok = false;
  }
  if (!fields_ok) return Fail("frame-header", "malformed request header " + Quote(line));
  record.cid = std::string(f[1]);
  record.shape = ClassifyCid(record.cid);
  if (record.shape == CidShape::kInvalid) {
    return Fail("frame-header", "request header names no valid cid: " + Quote(line));
  }
  if (++records_seen_ > limits_.max_records) {
    return Fail("frame-caps",
                "more than " + std::to_string(limits_.max_records) + " records in a fetch batch");
  }
  auth_left_ = 0;
  body_left_ = 0;
  if (record.kind == FetchKind::kPaired) {
    if (record.auth_size <= limits::kMaxAuthBytes) {
      record.auth.emplace();
      auth_left_ = record.auth_size;
    }
    if (record.body_size <= limits::kMaxBodyBytes) {
      record.body.emplace();
      body_left_ = record.body_size;
    }
  }
  pending_ = std::move(record);
  if (auth_left_ == 0 && body_left_ == 0) CompleteRecord();
  return Ok{};
}

void FetchBatchReader::CompleteRecord() {
  ready_.push_back(std::move(*pending_));
  pending_.reset();
}

std::vector<FetchRecord> FetchBatchReader::TakeRecords() {
  return std::exchange(ready_, {});
}

Status FetchBatchReader::Finish() const {
  if (error_) return *error_;
  if (script_error_) return MakeError("vm-script-error", *script_error_);
  if (end_seen_) return Ok{};
  if (pending_) {
    return MakeError("frame-cut-short", "fetch batch ended inside the blobs of " + pending_->cid);
  }
  return MakeError("frame-cut-short", version_seen_ ? "fetch batch ended before its end marker"
                                                    : "no fetch batch (no version marker)");
}

// ---- AckReader --------------------------------------------------------------------------------

AckReader::AckReader(std::size_t max_acks) : max_acks_(max_acks) {}

Status AckReader::Fail(std::string code, std::string message) {
  error_ = MakeError(std::move(code), std::move(message));
  return *error_;
}

Status AckReader::Feed(std::string_view bytes) {
  if (error_) return *error_;
  while (!bytes.empty()) {
    if (finished()) return Fail("frame-trailing", "bytes after the acknowledgements' last marker");
    std::size_t taken = 0;
    int state = TakeHeaderBytes(bytes, line_, taken);
    bytes.remove_prefix(taken);
    if (state < 0) return Fail("frame-header", "header line longer than 128 bytes");
    if (state == 0) continue;
    std::string line = std::move(line_);
    line_.clear();
    Status st = OnLine(line);
    if (!st.ok()) return st;
  }
  return Ok{};
}

Status AckReader::OnLine(std::string_view line) {
  std::vector<std::string_view> f = frame_syntax::SplitFields(line);
  if (!version_seen_) {
    if (line == kAckMarker) {
      version_seen_ = true;
      return Ok{};
    }
    if (f.empty() || f[0] != "error") {
      return Fail("frame-version",
                  "expected '" + std::string(kAckMarker) + "', got " + Quote(line));
    }
  }
  if (f.empty()) return Fail("frame-header", "malformed header line " + Quote(line));
  if (f[0] == "error") {
    if (f.size() != 2 || !frame_syntax::IsScriptErrorCode(f[1])) {
      return Fail("frame-header", "malformed error marker " + Quote(line));
    }
    script_error_ = std::string(f[1]);
    return Ok{};
  }
  if (f[0] == "end") {
    if (f.size() != 1) return Fail("frame-header", "malformed end marker " + Quote(line));
    end_seen_ = true;
    return Ok{};
  }
  Ack ack;
  if (f[0] == "ok") {
    ack.kind = AckKind::kOk;
  } else if (f[0] == "exists") {
    ack.kind = AckKind::kExists;
  } else if (f[0] == "failed") {
    ack.kind = AckKind::kFailed;
  } else {
    return Fail("frame-header", "unknown header " + Quote(line));
  }
  if (f.size() != 2 || ClassifyCid(f[1]) == CidShape::kInvalid) {
    return Fail("frame-header", "acknowledgement names no valid cid: " + Quote(line));
  }
  if (++acks_seen_ > max_acks_) {
    return Fail("frame-caps", "more than " + std::to_string(max_acks_) + " acknowledgements");
  }
  ack.cid = std::string(f[1]);
  ready_.push_back(std::move(ack));
  return Ok{};
}

std::vector<Ack> AckReader::TakeAcks() {
  return std::exchange(ready_, {});
}

Status AckReader::Finish() const {
  if (error_) return *error_;
  if (script_error_) return MakeError("vm-script-error", *script_error_);
  if (end_seen_) return Ok{};
  return MakeError("frame-cut-short", version_seen_ ? "acknowledgements ended before the end marker"
                                                    : "no acknowledgements (no version marker)");
}

}  // namespace qvmr
