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

// Starts the command, feeds `feed` to its stdin, hands its stdout to `on_stdout` (which returns
// false to stop reading: the reader failed), keeps up to `max_stderr` of its stderr, and kills
// the call's process group at the deadline.
CallIo RunCall(Processes& processes, const CallCommand& command, StdinFeed& feed,
               const std::function<bool(std::string_view)>& on_stdout, std::int64_t limit_ms,
               std::size_t max_stderr) {
  IgnoreSigpipeOnce();
  CallIo io;
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) {
    io.spawn_failed = true;
    io.spawn_error = std::strerror(errno);
    return io;
  }
  Fd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) {
    io.spawn_failed = true;
    io.spawn_error = std::strerror(errno);
    return io;
  }
  Fd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) {
    io.spawn_failed = true;
    io.spawn_error = std::strerror(errno);
    return io;
  }
  Fd err_r(err[0]), err_w(err[1]);

  SpawnSpec spec{command.argv, command.env, in_r.get(), out_w.get(), err_w.get()};
  SpawnResult spawned = processes.Spawn(spec);
  in_r.reset();
  out_w.reset();
  err_w.reset();
  if (spawned.kind != SpawnResult::Kind::kStarted) {
    io.spawn_failed = true;
    io.spawn_error = std::string(command.argv.empty() ? "" : command.argv[0]) + ": " +
                     std::strerror(spawned.error_number);
    return io;
  }
  Child child = spawned.child;
  KillTree tree{{child.pid}};
  SetNonBlocking(in_w.get());
  SetNonBlocking(out_r.get());
  SetNonBlocking(err_r.get());

  const MonotonicMs deadline = processes.NowMonotonicMs() + limit_ms;
  bool reading = true;
  char buf[kChunk];
  while (out_r.get() >= 0 || err_r.get() >= 0) {
    if (in_w.get() >= 0) {
      if (!feed.Pump(in_w.get()) || feed.done()) in_w.reset();
    }
    pollfd fds[3];
    int n = 0;
    int in_slot = -1, out_slot = -1, err_slot = -1;
    if (in_w.get() >= 0) {
      in_slot = n;
      fds[n++] = {in_w.get(), POLLOUT, 0};
    }
    if (out_r.get() >= 0) {
      out_slot = n;
      fds[n++] = {out_r.get(), POLLIN, 0};
    }
    if (err_r.get() >= 0) {
      err_slot = n;
      fds[n++] = {err_r.get(), POLLIN, 0};
    }
    MonotonicMs left = deadline - processes.NowMonotonicMs();
    if (left <= 0) {
      io.timed_out = true;
      break;
    }
    int ready = ::poll(fds, n, static_cast<int>(std::min<MonotonicMs>(left, 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    if (in_slot >= 0 && (fds[in_slot].revents & (POLLERR | POLLHUP))) in_w.reset();
    if (out_slot >= 0 && fds[out_slot].revents) {
      ssize_t got = ::read(out_r.get(), buf, sizeof buf);
      if (got > 0) {
        if (reading) reading = on_stdout(std::string_view(buf, static_cast<std::size_t>(got)));
        // A reader that failed has seen enough: whatever follows is the VM's garbage.
        if (!reading) out_r.reset();
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        out_r.reset();
      }
    }
    if (err_slot >= 0 && fds[err_slot].revents) {
      ssize_t got = ::read(err_r.get(), buf, sizeof buf);
      if (got > 0) {
        std::size_t room = max_stderr - std::min(max_stderr, io.stderr_bytes.size());
        io.stderr_bytes.append(buf, std::min<std::size_t>(room, static_cast<std::size_t>(got)));
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        err_r.reset();
      }
    }
    if (!reading && err_r.get() < 0) break;
  }
  // The script has said all it will (or ran out of time, or talks garbage): nothing of the call
  // may linger, whatever its carrier does with a closed pipe.
  if (io.timed_out || !reading || !processes.WaitUntil(child, processes.NowMonotonicMs() + 2000)) {
    processes.Signal(tree, SIGKILL);
  }
  processes.Release(child);
  return io;
}

std::string StderrExcerpt(const std::string& bytes) {
  return bytes.empty() ? std::string() : Excerpt(bytes, 512);
}

Status CallFailure(const CallIo& io, Status reader_status) {
  if (io.spawn_failed) return MakeError("call-spawn", "cannot start the call: " + io.spawn_error);
  if (io.timed_out) return MakeError("call-timeout", "the call did not finish in time");
  return reader_status;
}

}  // namespace

FetchOutcome CallFetch(Processes& processes, const CallCommand& command, const ScriptParams& params,
                       const CallLimits& limits) {
  FetchOutcome outcome;
  auto line = ScriptParamsLine(params);
  if (!line) {
    outcome.status = line.error();
    return outcome;
  }
  std::vector<Piece> pieces;
  pieces.push_back(Piece{*line, Fd(), 0});
  StdinFeed feed(std::move(pieces));
  // recover re-offers running/ entries besides its claims: the batch cap bounds those.
  std::size_t max_records = params.op == ScriptOp::kRecover
                                ? limits::kMaxFetchRecordsPerBatch
                                : std::max<std::size_t>(params.max_claims, 1);
  FetchBatchReader reader(FetchReaderLimits{.max_records = max_records});
  Status fed = Ok{};
  CallIo io = RunCall(
      processes, command, feed,
      [&](std::string_view bytes) {
        fed = reader.Feed(bytes);
        for (auto& r : reader.TakeRecords()) outcome.records.push_back(std::move(r));
        return fed.ok() && !reader.finished();
      },
      limits.fetch_ms, limits.max_stderr_bytes);
  for (auto& r : reader.TakeRecords()) outcome.records.push_back(std::move(r));
  outcome.stderr_excerpt = StderrExcerpt(io.stderr_bytes);
  outcome.status = CallFailure(io, fed.ok() ? reader.Finish() : fed);
  if (outcome.status.ok()) outcome.trailer = reader.trailer();
  return outcome;
}

DeliveryOutcome CallDeliver(Processes& processes, const CallCommand& command,
                            const DeliveryBatch& batch, const CallLimits& limits) {
  DeliveryOutcome outcome;
  std::vector<Piece> pieces;
  auto params = ScriptParamsLine(ScriptParams{.op = ScriptOp::kDeliver});
  if (!params) {
    outcome.status = params.error();
    return outcome;
  }
  pieces.push_back(Piece{*params + DeliveryBeginLine(), Fd(), 0});
  std::uint64_t total = 0;
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
    if (!out) {
      outcome.status = out.error();
      return outcome;
    }
    auto err = blob_piece(item.err, sizes.err);
    if (!err) {
      outcome.status = err.error();
      return outcome;
    }
    sizes.meta = item.meta.size();
    sizes.exit = item.exit.size();
    auto header = ResultHeaderLine(item.cid, sizes);
    if (!header) {
      outcome.status = header.error();
      return outcome;
    }
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
  StdinFeed feed(std::move(pieces));
  AckReader reader;
  Status fed = Ok{};
  std::int64_t limit =
      limits.deliver_base_ms + limits.deliver_per_mib_ms * static_cast<std::int64_t>(total >> 20);
  CallIo io = RunCall(
      processes, command, feed,
      [&](std::string_view bytes) {
        fed = reader.Feed(bytes);
        for (auto& a : reader.TakeAcks()) outcome.acks.push_back(std::move(a));
        return fed.ok() && !reader.finished();
      },
      limit, limits.max_stderr_bytes);
  for (auto& a : reader.TakeAcks()) outcome.acks.push_back(std::move(a));
  outcome.stderr_excerpt = StderrExcerpt(io.stderr_bytes);
  outcome.status = CallFailure(io, fed.ok() ? reader.Finish() : fed);
  return outcome;
}

}  // namespace qvmr
