// The writers of frames (frame.h). They refuse what the grammar cannot carry (a name that is not
// a cid, a size past its cap, a newline in an audit line) rather than emit a stream the script
// would misread: the delivery batch is read by `read` and `dd` in the VM, which trust dom0.
#include <string>

#include "engine/wire/frame.h"
#include "engine/wire/frame_syntax.h"

namespace qvmr {

namespace {

Error WriterError(std::string message) {
  return MakeError("frame-writer", std::move(message));
}

std::string Line(std::string_view text) {
  std::string line(text);
  line.push_back('\n');
  return line;
}

}  // namespace

std::string DeliveryBeginLine() {
  return Line(kDeliverMarker);
}
std::string DeliveryEndLine() {
  return "end\n";
}

Result<std::string> ResultHeaderLine(std::string_view cid, const ResultSizes& sizes) {
  if (ClassifyCid(cid) == CidShape::kInvalid)
    return WriterError("result for a name that is no cid");
  if (sizes.out > limits::kMaxDeliveredStreamBytes ||
      sizes.err > limits::kMaxDeliveredStreamBytes) {
    return WriterError(".out or .err larger than the delivery cap");
  }
  if (sizes.meta > limits::kMaxDeliveredMetaBytes) return WriterError(".meta larger than its cap");
  if (sizes.exit == 0 || sizes.exit > limits::kMaxDeliveredExitBytes) {
    return WriterError(".exit empty or larger than its cap");
  }
  std::string line = "result " + std::string(cid) + " " + std::to_string(sizes.out) + " " +
                     std::to_string(sizes.err) + " " + std::to_string(sizes.meta) + " " +
                     std::to_string(sizes.exit) + "\n";
  return line;
}

Result<std::string> FormatResult(std::string_view cid, std::string_view out, std::string_view err,
                                 std::string_view meta, std::string_view exit) {
  Result<std::string> header =
      ResultHeaderLine(cid, ResultSizes{out.size(), err.size(), meta.size(), exit.size()});
  if (!header.ok()) return header;
  std::string frame = std::move(header.value());
  frame.append(out).append(err).append(meta).append(exit);
  return frame;
}

Result<std::string> RemovalLine(QueueDir dir, std::string_view name) {
  if (!frame_syntax::IsRemovableName(name)) {
    return WriterError("removal of a name that is neither a cid nor <cid>.auth");
  }
  return std::string(dir == QueueDir::kPending ? "remove pending " : "remove running ") +
         std::string(name) + "\n";
}

Result<std::string> AuditLine(std::string_view line) {
  if (line.size() > limits::kMaxVmAuditLineBytes) return WriterError("audit line too long");
  if (line.find('\n') != std::string_view::npos || line.find('\0') != std::string_view::npos) {
    return WriterError("audit line with a newline or NUL inside");
  }
  return "audit " + std::to_string(line.size()) + "\n" + std::string(line);
}

std::string FetchBeginLine() {
  return Line(kFetchMarker);
}

Result<std::string> FormatFetchRecord(const FetchRecord& record) {
  if (ClassifyCid(record.cid) == CidShape::kInvalid) return WriterError("record for no cid");
  if (record.kind == FetchKind::kNoToken) {
    if (record.auth || record.body || record.auth_size != 0) {
      return WriterError("a no-token record carries no blob");
    }
    return "request " + record.cid + " no-token " + std::to_string(record.body_size) + "\n";
  }
  bool auth_follows = record.auth_size <= limits::kMaxAuthBytes;
  bool body_follows = record.body_size <= limits::kMaxBodyBytes;
  if (record.auth.has_value() != auth_follows || record.body.has_value() != body_follows ||
      (record.auth && record.auth->size() != record.auth_size) ||
      (record.body && record.body->size() != record.body_size)) {
    return WriterError("record blobs do not match their sizes");
  }
  std::string frame = "request " + record.cid + " paired " + std::to_string(record.auth_size) +
                      " " + std::to_string(record.body_size) + "\n";
  if (record.auth) frame += *record.auth;
  if (record.body) frame += *record.body;
  return frame;
}

std::string FetchEndLine(const FetchTrailer& trailer) {
  return "end " + std::to_string(trailer.removed) + " " + std::to_string(trailer.waiting) + "\n";
}

std::string AckBeginLine() {
  return Line(kAckMarker);
}

Result<std::string> AckLine(const Ack& ack) {
  if (ClassifyCid(ack.cid) == CidShape::kInvalid) return WriterError("ack for no cid");
  const char* word = ack.kind == AckKind::kOk       ? "ok "
                     : ack.kind == AckKind::kExists ? "exists "
                                                    : "failed ";
  return word + ack.cid + "\n";
}

std::string AckEndLine() {
  return "end\n";
}

Result<std::string> ScriptErrorLine(std::string_view code) {
  if (!frame_syntax::IsScriptErrorCode(code)) return WriterError("bad script error code");
  return "error " + std::string(code) + "\n";
}

}  // namespace qvmr
