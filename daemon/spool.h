// The spool: where a running command's stdout and stderr go, streamed to one file each under
// /var/lib/qvm-remote/spool/<vm>/<cid>.{out,err} (CONTRACT.md "Execution", "Output"), so that
// dom0's memory never grows with a command's output, whatever the command prints.
//
// A SpoolSink keeps the first `cap` bytes of a stream (the policy's max_output_bytes) and counts
// and discards the rest — the reader keeps draining so the child never blocks on a full pipe —
// and ends a cut file with the reference's marker "\n[truncated at N bytes]\n". A full disk
// (ENOSPC, EDQUOT) turns the sink into a counter that writes nowhere: the command goes on and the
// result says `truncated=spool-full`.
//
// Names: only a validated VM name (IsValidVmName) and a validated cid (ClassifyCid != kInvalid)
// ever become path components, so no other VM byte reaches a path.
//
// A per-VM quota (CONTRACT.md "Output": default 256 MiB, `--spool-quota`) bounds what all of one
// VM's spool files hold together, results waiting for delivery included, so one key-holding VM
// cannot fill dom0's disk: a request whose VM is at its quota is refused before it runs (code
// "spool-quota"), and a sink that reaches it stops keeping bytes and reports write_errno EFBIG
// (quota_exceeded()): the executor kills the command as at a deadline, keeping the partial output.
// Usage is counted from the files found on the VM's first use and from every byte written since;
// Remove gives back what the files held. The VM's running commands' private TMPDIRs are counted
// in the same quota while they exist (tmpdir_charge.h, RequestSpool::quota).
//
// Thread safety: a SpoolDir is safe for concurrent use (each request has its own files; the
// per-VM usage is atomic). A SpoolSink / RequestSpool is used by one thread at a time.
#ifndef QVMR_DAEMON_SPOOL_H_
#define QVMR_DAEMON_SPOOL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/limits.h"
#include "engine/base/result.h"

namespace qvmr {

// "\n[truncated at N bytes]\n": what the reference appends to a cut stream.
std::string TruncationMarker(std::uint64_t cap);

// The bytes one VM's spool files hold, against its quota. Shared by the VM's sinks.
struct SpoolQuota {
  explicit SpoolQuota(std::uint64_t limit_bytes) : limit(limit_bytes) {}
  const std::uint64_t limit;
  std::atomic<std::uint64_t> used{0};
  // Reserves up to `n` bytes; returns how many fit.
  std::uint64_t Reserve(std::uint64_t n);
  // Adds `n` bytes even past the limit: what is already on disk (qvm-remote's own notes, a
  // command's TMPDIR as measured, tmpdir_charge.h), which a sink's next Reserve then sees.
  void Charge(std::uint64_t n) { used.fetch_add(n); }
  // Gives back `n` bytes (never below 0).
  void Release(std::uint64_t n);
};

class SpoolSink {
 public:
  // Takes ownership of `fd` (open for writing; closed by the destructor). `cap` is the most bytes
  // of output the file keeps (0 keeps none: every byte is "truncated"). `quota` (may be null:
  // none) counts every byte written.
  SpoolSink(int fd, std::uint64_t cap, std::shared_ptr<SpoolQuota> quota = nullptr);
  ~SpoolSink();
  SpoolSink(const SpoolSink&) = delete;
  SpoolSink& operator=(const SpoolSink&) = delete;

  // Opens (creates or truncates) `path` with mode 0600, refusing a symlink (O_NOFOLLOW). Fails
  // with code "spool" and a message naming the path and errno text.
  static Result<std::unique_ptr<SpoolSink>> Open(const std::string& path, std::uint64_t cap,
                                                 std::shared_ptr<SpoolQuota> quota = nullptr);

  // Records `n` bytes of the child's output: keeps them while under the cap, counts them always.
  // Never fails: a write error is remembered (write_errno) and later bytes are only counted.
  void Write(const char* data, std::size_t n);
  // A line of qvm-remote's own (an `.err` reason) written past the cap and the quota: the caller
  // bounds it. Written after the marker if the stream was cut. Ignored after a write error (but
  // not after the quota ran out: the file itself is fine).
  void AppendNote(std::string_view line);
  // Ends the stream: writes the marker once if output was cut. Idempotent; AppendNote calls it.
  void Finish();

  std::uint64_t produced() const { return produced_; }  // bytes the child wrote
  std::uint64_t kept() const { return kept_; }          // output bytes in the file
  bool truncated() const { return produced_ > cap_; }
  // errno of the first failed write (0: none). ENOSPC/EDQUOT: disk full (`spool-full`).
  int write_errno() const { return write_errno_; }
  bool disk_full() const;
  // The VM's spool quota ran out while writing (write_errno() is then EFBIG).
  bool quota_exceeded() const { return quota_exceeded_; }

 private:
  // Counts `n` against the quota, then writes what fits (WriteRaw).
  void WriteAll(const char* data, std::size_t n);
  void WriteRaw(const char* data, std::size_t n);
  // qvm-remote's own bytes: counted, but written past the quota.
  void WriteOwn(const char* data, std::size_t n);

  int fd_;
  std::uint64_t cap_;
  std::uint64_t produced_ = 0;
  std::uint64_t kept_ = 0;
  int write_errno_ = 0;
  bool finished_ = false;
  bool quota_exceeded_ = false;
  std::shared_ptr<SpoolQuota> quota_;
};

// One request's two streams.
struct RequestSpool {
  std::string stdout_path;
  std::string stderr_path;
  std::unique_ptr<SpoolSink> out;
  std::unique_ptr<SpoolSink> err;
  // The VM's quota both sinks count against (SpoolDir::Create sets it; null: none), so the
  // executor can hold the command's TMPDIR in it too (tmpdir_charge.h).
  std::shared_ptr<SpoolQuota> quota;

  // The `.meta` truncated= value: "spool-full" if either stream hit a full disk, else "stdout",
  // "stderr", "stdout,stderr" or "".
  std::string Truncation() const;
};

class SpoolDir {
 public:
  // `dir` is the spool directory itself (e.g. ROOT + "/var/lib/qvm-remote/spool"); `vm_quota`
  // the most bytes one VM's files may hold together.
  explicit SpoolDir(std::string dir, std::uint64_t vm_quota = limits::kSpoolQuotaBytes);

  const std::string& dir() const { return dir_; }

  // mkdir -p the spool directory with mode 0700. Fails with code "spool".
  Status Prepare() const;

  // Creates the request's files (0600, in a 0700 per-VM directory). Fails with code "bad-name"
  // if vm or cid is not a validated form, "spool-quota" when the VM's files already hold its
  // quota, "spool" on an I/O error.
  Result<RequestSpool> Create(std::string_view vm, std::string_view cid, std::uint64_t cap) const;

  // Removes a request's files after delivery (a missing file is success). Fails with "bad-name"
  // or "spool".
  Status Remove(std::string_view vm, std::string_view cid) const;

  // Every file left in the spool ("<vm>/<name>", sorted): at start no request is running, so all
  // of them are orphans of a previous run.
  Result<std::vector<std::string>> ListOrphans() const;
  // Removes every orphan file and the emptied per-VM directories. Returns how many files went.
  Result<std::size_t> RemoveOrphans() const;

  // Bytes `vm`'s spool files hold by the quota's count (0 for a VM not seen yet).
  std::uint64_t Used(std::string_view vm) const;
  std::uint64_t vm_quota() const { return vm_quota_; }

 private:
  // The VM's counter, made on first use from the sizes of the files already there.
  std::shared_ptr<SpoolQuota> QuotaOf(const std::string& vm) const;

  std::string dir_;
  std::uint64_t vm_quota_;
  mutable std::mutex quota_mu_;
  mutable std::map<std::string, std::shared_ptr<SpoolQuota>> quotas_;
};

}  // namespace qvmr

#endif  // QVMR_DAEMON_SPOOL_H_
