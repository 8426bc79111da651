#include "daemon/script_call.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <mutex>

#include "engine/base/excerpt.h"

namespace qvmr {
namespace {

constexpr std::size_t kChunk = 64 * 1024;

// A call may end while dom0 still writes its stdin; that must be an EPIPE, not a dead daemon.
void IgnoreSigpipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] { ::signal(SIGPIPE, SIG_IGN); });
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// What goes to the call's stdin: strings and open files, in order.
struct Piece {
  std::string bytes;
  Fd file;  // when valid, `size` bytes of it instead of `bytes`
  std::uint64_t size = 0;
};

class StdinFeed {
 public:
  explicit StdinFeed(std::vector<Piece> pieces) : pieces_(std::move(pieces)) {}
  bool done() const { return index_ >= pieces_.size() && buffer_.size() == offset_; }

  // Writes what the pipe takes now. Returns false on a write error other than EAGAIN (the call
  // stopped reading: EPIPE), after which nothing more is written.
  bool Pump(int fd) {
    while (true) {
      if (offset_ == buffer_.size() && !Refill()) return true;
      ssize_t n = ::write(fd, buffer_.data() + offset_, buffer_.size() - offset_);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno == EAGAIN;
      }
      offset_ += static_cast<std::size_t>(n);
    }
  }

 private:
  bool Refill() {
    buffer_.clear();
    offset_ = 0;
    while (index_ < pieces_.size()) {
      Piece& p = pieces_[index_];
      if (p.file.get() < 0) {
        buffer_ = std::move(p.bytes);
        ++index_;
        if (!buffer_.empty()) return true;
        continue;
      }
      if (p.size == 0) {
        ++index_;
        continue;
      }
      buffer_.resize(std::min<std::uint64_t>(kChunk, p.size));
      ssize_t n = ::read(p.file.get(), buffer_.data(), buffer_.size());
      if (n <= 0) {
        // The file shrank under us: pad with zeros so the frame sizes stay true (the header
        // was already sent); the VM gets a damaged file, never a desynchronised stream.
        std::fill(buffer_.begin(), buffer_.end(), '\0');
        n = static_cast<ssize_t>(buffer_.size());
      }
      buffer_.resize(static_cast<std::size_t>(n));
      p.size -= static_cast<std::uint64_t>(n);
      return true;
    }
    return false;
  }

  std::vector<Piece> pieces_;
  std::size_t index_ = 0;
  std::string buffer_;
  std::size_t offset_ = 0;
};

struct CallIo {
  bool timed_out = false;
  bool spawn_failed = false;
  std::string spawn_error;
  std::string stderr_bytes;
};

void SetNonBlocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// One call: the carrier process and its three pipes. A call is one or two exchanges (a fetch; a
// held fetch and then its delivery; a deliver), each feeding stdin and reading stdout until its
// reader has what it wants, then End. stderr is read all along, up to `max_stderr` bytes kept.
// At a deadline, or when End finds the carrier still there after 2 s, its process group is
// killed: nothing of a call lingers, whatever its carrier does with a closed pipe.
class CallSession {
 public:
  CallSession(Processes& processes, std::size_t max_stderr)
      : processes_(processes), max_stderr_(max_stderr) {}
  ~CallSession() { End(); }

  CallIo& io() { return io_; }

  bool Start(const CallCommand& command) {
    IgnoreSigpipeOnce();
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return SpawnFailed(std::strerror(errno));
    Fd in_r(in[0]);
    in_w_.reset(in[1]);
    if (::pipe2(out, O_CLOEXEC) != 0) return SpawnFailed(std::strerror(errno));
    out_r_.reset(out[0]);
    Fd out_w(out[1]);
    if (::pipe2(err, O_CLOEXEC) != 0) return SpawnFailed(std::strerror(errno));
    err_r_.reset(err[0]);
    Fd err_w(err[1]);
    SpawnSpec spec{command.argv, command.env, in_r.get(), out_w.get(), err_w.get()};
    SpawnResult spawned = processes_.Spawn(spec);
    if (spawned.kind != SpawnResult::Kind::kStarted) {
      return SpawnFailed(std::string(command.argv.empty() ? "" : command.argv[0]) + ": " +
                         std::strerror(spawned.error_number));
    }
    child_ = spawned.child;
    SetNonBlocking(in_w_.get());
    SetNonBlocking(out_r_.get());
    SetNonBlocking(err_r_.get());
    return true;
  }

  // Feeds `feed` to stdin (closing stdin after it unless `keep_stdin_open`) and hands stdout to
  // `on_stdout` until it returns false (its reader finished or failed), stdout ends, or
  // `deadline` (io().timed_out; the call is then killed). Returns whether on_stdout said done.
  bool Exchange(StdinFeed& feed, bool keep_stdin_open,
                const std::function<bool(std::string_view)>& on_stdout, MonotonicMs deadline) {
    if (!child_) return false;
    feed_done_ = false;
    char buf[kChunk];
    while (out_r_.get() >= 0) {
      if (in_w_.get() >= 0 && !feed_done_) {
        if (!feed.Pump(in_w_.get())) {
          in_w_.reset();
        } else if (feed.done()) {
          feed_done_ = true;
          if (!keep_stdin_open) in_w_.reset();
        }
      }
      pollfd fds[3];
      int n = 0;
      int in_slot = -1, err_slot = -1;
      if (in_w_.get() >= 0 && !feed_done_) {
        in_slot = n;
        fds[n++] = {in_w_.get(), POLLOUT, 0};
      }
      const int out_slot = n;
      fds[n++] = {out_r_.get(), POLLIN, 0};
      if (err_r_.get() >= 0) {
        err_slot = n;
        fds[n++] = {err_r_.get(), POLLIN, 0};
      }
      const MonotonicMs left = deadline - processes_.NowMonotonicMs();
      if (left <= 0) {
        io_.timed_out = true;
        Kill();
        return false;
      }
      int ready = ::poll(fds, n, static_cast<int>(std::min<MonotonicMs>(left, 1000)));
      if (ready < 0 && errno != EINTR) break;
      if (ready <= 0) continue;
      if (in_slot >= 0 && (fds[in_slot].revents & (POLLERR | POLLHUP))) in_w_.reset();
      if (err_slot >= 0 && fds[err_slot].revents) ReadStderr(buf);
      if (fds[out_slot].revents) {
        ssize_t got = ::read(out_r_.get(), buf, sizeof buf);
        if (got > 0) {
          if (!on_stdout(std::string_view(buf, static_cast<std::size_t>(got)))) return true;
        } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
          out_r_.reset();
        }
      }
    }
    return false;
  }

  // Ends the call: stdin and stdout closed (a script still talking has said enough), stderr
  // read until the carrier closes it (bounded), the carrier given 2 s to exit, then killed.
  void End() {
    if (!child_) return;
    in_w_.reset();
    out_r_.reset();
    char buf[kChunk];
    const MonotonicMs deadline = processes_.NowMonotonicMs() + 2000;
    while (err_r_.get() >= 0) {
      const MonotonicMs left = deadline - processes_.NowMonotonicMs();
      if (left <= 0) break;
      pollfd fd{err_r_.get(), POLLIN, 0};
      int ready = ::poll(&fd, 1, static_cast<int>(left));
      if (ready < 0 && errno != EINTR) break;
      if (ready > 0) ReadStderr(buf);
    }
    if (!processes_.WaitUntil(*child_, processes_.NowMonotonicMs() + 2000)) Kill();
    Release();
  }

  // Ends the call at once: its process group killed.
  void Kill() {
    if (!child_) return;
    processes_.Signal(KillTree{{child_->pid}}, SIGKILL);
    in_w_.reset();
    out_r_.reset();
    err_r_.reset();
    Release();
  }

 private:
  bool SpawnFailed(std::string why) {
    io_.spawn_failed = true;
    io_.spawn_error = std::move(why);
    in_w_.reset();
    out_r_.reset();
    err_r_.reset();
    return false;
  }
  void ReadStderr(char* buf) {
    ssize_t got = ::read(err_r_.get(), buf, kChunk);
    if (got > 0) {
      std::size_t room = max_stderr_ - std::min(max_stderr_, io_.stderr_bytes.size());
      io_.stderr_bytes.append(buf, std::min<std::size_t>(room, static_cast<std::size_t>(got)));
    } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
      err_r_.reset();
    }
  }
  void Release() {
    processes_.Release(*child_);
    child_.reset();
  }

  Processes& processes_;
  std::size_t max_stderr_;
  CallIo io_;
  std::optional<Child> child_;
  Fd in_w_, out_r_, err_r_;
  bool feed_done_ = false;
};

std::string StderrExcerpt(const std::string& bytes) {
  return bytes.empty() ? std::string() : Excerpt(bytes, 512);
}

Status CallFailure(const CallIo& io, Status reader_status) {
  if (io.spawn_failed) return MakeError("call-spawn", "cannot start the call: " + io.spawn_error);
  if (io.timed_out) return MakeError("call-timeout", "the call did not finish in time");
  return reader_status;
}

// The stdin of a delivery: the batch's frames (§9.2), result files streamed from disk. Fails
// before anything is sent when a file cannot be opened (never a batch whose sizes lie).
// `total` gets the bytes of the results' blobs, for the call's time limit.
Result<std::vector<Piece>> DeliveryPieces(const DeliveryBatch& batch, std::string first_line,
                                          std::uint64_t& total) {
  std::vector<Piece> pieces;
  pieces.push_back(Piece{std::move(first_line) + DeliveryBeginLine(), Fd(), 0});
  total = 0;
  auto blob_piece = [&](const DeliveryBlob& blob, std::uint64_t& size) -> Result<Piece> {
    if (blob.path.empty()) {
      size = blob.bytes.size();
      return Piece{blob.bytes, Fd(), 0};
    }
    Fd fd(::open(blob.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat st;
    if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0) {
      return MakeError("spool", "cannot read " + blob.path + ": " + std::strerror(errno));
    }
    size = static_cast<std::uint64_t>(st.st_size);
    return Piece{"", std::move(fd), size};
  };
  for (const DeliveryItem& item : batch.results) {
    ResultSizes sizes;
    auto out = blob_piece(item.out, sizes.out);
    if (!out) return out.error();
    auto err = blob_piece(item.err, sizes.err);
    if (!err) return err.error();
    sizes.meta = item.meta.size();
    sizes.exit = item.exit.size();
    auto header = ResultHeaderLine(item.cid, sizes);
    if (!header) return header.error();
    total += sizes.out + sizes.err + sizes.meta;
    pieces.push_back(Piece{*header, Fd(), 0});
    pieces.push_back(std::move(*out));
    pieces.push_back(std::move(*err));
    pieces.push_back(Piece{item.meta + item.exit, Fd(), 0});
  }
  for (const auto& [dir, name] : batch.removals) {
    auto line = RemovalLine(dir, name);
    if (line) pieces.push_back(Piece{*line, Fd(), 0});
  }
  if (!batch.audit_line.empty()) {
    auto line = AuditLine(batch.audit_line);
    if (line) pieces.push_back(Piece{*line, Fd(), 0});
  }
  for (const std::string& audit : batch.audit_lines) {
    auto line = AuditLine(audit);
    if (line) pieces.push_back(Piece{*line, Fd(), 0});
  }
  pieces.push_back(Piece{DeliveryEndLine(), Fd(), 0});
  return pieces;
}

// Sends `pieces` (a delivery) in `session` and reads the acknowledgements into `outcome`.
void ExchangeDelivery(Processes& processes, CallSession& session, std::vector<Piece> pieces,
                      std::uint64_t total, const CallLimits& limits, DeliveryOutcome& outcome) {
  StdinFeed feed(std::move(pieces));
  AckReader reader;
  Status fed = Ok{};
  const std::int64_t limit =
      limits.deliver_base_ms + limits.deliver_per_mib_ms * static_cast<std::int64_t>(total >> 20);
  session.Exchange(
      feed, /*keep_stdin_open=*/false,
      [&](std::string_view bytes) {
        fed = reader.Feed(bytes);
        for (auto& a : reader.TakeAcks()) outcome.acks.push_back(std::move(a));
        return fed.ok() && !reader.finished();
      },
      processes.NowMonotonicMs() + limit);
  for (auto& a : reader.TakeAcks()) outcome.acks.push_back(std::move(a));
  // A stream that broke the frame rules is the VM's garbage: the call is killed, not awaited.
  if (!fed.ok()) session.Kill();
  session.End();
  outcome.stderr_excerpt = StderrExcerpt(session.io().stderr_bytes);
  outcome.status = CallFailure(session.io(), fed.ok() ? reader.Finish() : fed);
}

}  // namespace

FetchOutcome CallFetch(Processes& processes, const CallCommand& command, const ScriptParams& params,
                       const CallLimits& limits, const HeldDelivery& then) {
  FetchOutcome outcome;
  auto line = ScriptParamsLine(params);
  if (!line) {
    outcome.status = line.error();
    return outcome;
  }
  std::vector<Piece> pieces;
  pieces.push_back(Piece{*line, Fd(), 0});
  StdinFeed feed(std::move(pieces));
  // The script prints at most max-claims records, re-offered running/ entries of a recover
  // included (both count against it), so what a lying VM can make dom0 hold is bounded by what
  // dom0 asked for: that many records of a 1 MiB body and a 4 KiB `.auth`, not the batch default.
  const std::size_t max_records = std::max<std::size_t>(params.max_claims, 1);
  const std::uint64_t max_bytes =
      (max_records + 1) *
      (limits::kMaxBodyBytes + limits::kMaxAuthBytes + 2 * limits::kMaxFrameHeaderBytes);
  FetchBatchReader reader(FetchReaderLimits{
      .max_records = max_records,
      .max_bytes = std::min<std::uint64_t>(max_bytes, limits::kMaxFetchBatchBytes)});
  Status fed = Ok{};
  CallSession session(processes, limits.max_stderr_bytes);
  if (session.Start(command)) {
    session.Exchange(
        feed, /*keep_stdin_open=*/static_cast<bool>(then),
        [&](std::string_view bytes) {
          fed = reader.Feed(bytes);
          for (auto& r : reader.TakeRecords()) outcome.records.push_back(std::move(r));
          return fed.ok() && !reader.finished();
        },
        processes.NowMonotonicMs() + limits.fetch_ms);
  }
  for (auto& r : reader.TakeRecords()) outcome.records.push_back(std::move(r));
  if (!fed.ok()) session.Kill();
  outcome.status = CallFailure(session.io(), fed.ok() ? reader.Finish() : fed);
  if (outcome.status.ok()) outcome.trailer = reader.trailer();
  // The script waits for a delivery only after a clean batch that claimed something.
  if (outcome.status.ok() && !outcome.records.empty() && then) {
    std::optional<DeliveryBatch> batch = then(outcome);
    std::uint64_t total = 0;
    Result<std::vector<Piece>> delivery = batch ? DeliveryPieces(*batch, "", total)
                                                : Result<std::vector<Piece>>(std::vector<Piece>());
    if (batch && !delivery) {
      outcome.delivery.emplace();
      outcome.delivery->status = delivery.error();
    } else if (batch) {
      outcome.delivery.emplace();
      ExchangeDelivery(processes, session, std::move(*delivery), total, limits, *outcome.delivery);
    }
  }
  session.End();
  outcome.stderr_excerpt = StderrExcerpt(session.io().stderr_bytes);
  return outcome;
}

DeliveryOutcome CallDeliver(Processes& processes, const CallCommand& command,
                            const DeliveryBatch& batch, const CallLimits& limits) {
  DeliveryOutcome outcome;
  auto params = ScriptParamsLine(ScriptParams{.op = ScriptOp::kDeliver});
  if (!params) {
    outcome.status = params.error();
    return outcome;
  }
  std::uint64_t total = 0;
  Result<std::vector<Piece>> pieces = DeliveryPieces(batch, *params, total);
  if (!pieces) {
    outcome.status = pieces.error();
    return outcome;
  }
  CallSession session(processes, limits.max_stderr_bytes);
  if (!session.Start(command)) {
    outcome.status = CallFailure(session.io(), Ok{});
    return outcome;
  }
  ExchangeDelivery(processes, session, std::move(*pieces), total, limits, outcome);
  return outcome;
}

}  // namespace qvmr
