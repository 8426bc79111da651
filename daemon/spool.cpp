#include "daemon/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/base/vm_name.h"
#include "engine/wire/token.h"

namespace qvmr {
namespace {

Error SpoolError(const std::string& what, const std::string& path, int error_number) {
  return MakeError("spool", what + " " + path + ": " + std::strerror(error_number));
}

Status ValidateNames(std::string_view vm, std::string_view cid) {
  if (!IsValidVmName(vm)) return MakeError("bad-name", "not a valid VM name");
  if (ClassifyCid(cid) == CidShape::kInvalid) return MakeError("bad-name", "not a valid cid");
  return Ok{};
}

Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) == 0) return Ok{};
  if (errno != EEXIST) return SpoolError("cannot create", path, errno);
  struct stat st;
  // A symlink planted where a directory should be would send output elsewhere.
  if (lstat(path.c_str(), &st) != 0) return SpoolError("cannot stat", path, errno);
  if (!S_ISDIR(st.st_mode)) return SpoolError("not a directory:", path, ENOTDIR);
  return Ok{};
}

Status RemoveIfPresent(const std::string& path) {
  if (unlink(path.c_str()) == 0 || errno == ENOENT) return Ok{};
  return SpoolError("cannot remove", path, errno);
}

Result<std::vector<std::string>> ListNames(const std::string& path) {
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) return std::vector<std::string>{};
    return SpoolError("cannot list", path, errno);
  }
  std::vector<std::string> names;
  while (const dirent* entry = readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::string TruncationMarker(std::uint64_t cap) {
  return "\n[truncated at " + std::to_string(cap) + " bytes]\n";
}

std::uint64_t SpoolQuota::Reserve(std::uint64_t n) {
  std::uint64_t now = used.load();
  for (;;) {
    const std::uint64_t fit = now >= limit ? 0 : std::min(n, limit - now);
    if (fit == 0 || used.compare_exchange_weak(now, now + fit)) return fit;
  }
}

void SpoolQuota::Release(std::uint64_t n) {
  std::uint64_t now = used.load();
  while (!used.compare_exchange_weak(now, now > n ? now - n : 0)) {
  }
}

SpoolSink::SpoolSink(int fd, std::uint64_t cap, std::shared_ptr<SpoolQuota> quota)
    : fd_(fd), cap_(cap), quota_(std::move(quota)) {}

SpoolSink::~SpoolSink() {
  if (fd_ >= 0) close(fd_);
}

Result<std::unique_ptr<SpoolSink>> SpoolSink::Open(const std::string& path, std::uint64_t cap,
                                                   std::shared_ptr<SpoolQuota> quota) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return SpoolError("cannot open", path, errno);
  return std::make_unique<SpoolSink>(fd, cap, std::move(quota));
}

bool SpoolSink::disk_full() const {
  return write_errno_ == ENOSPC || write_errno_ == EDQUOT;
}

void SpoolSink::WriteAll(const char* data, std::size_t n) {
  if (quota_ && write_errno_ == 0) {
    const std::uint64_t fit = quota_->Reserve(n);
    if (fit < n) {
      // The quota runs out inside this write: keep what fits, then stop keeping anything.
      WriteRaw(data, static_cast<std::size_t>(fit));
      if (write_errno_ == 0) {
        write_errno_ = EFBIG;
        quota_exceeded_ = true;
      }
      return;
    }
  }
  WriteRaw(data, n);
}

void SpoolSink::WriteRaw(const char* data, std::size_t n) {
  while (n > 0 && write_errno_ == 0) {
    const ssize_t wrote = write(fd_, data, n);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      write_errno_ = errno;
      if (quota_) quota_->Release(n);  // counted but never written
      return;
    }
    data += wrote;
    n -= static_cast<std::size_t>(wrote);
  }
}

void SpoolSink::Write(const char* data, std::size_t n) {
  const std::uint64_t room = kept_ < cap_ ? cap_ - kept_ : 0;
  const std::size_t keep = static_cast<std::size_t>(std::min<std::uint64_t>(room, n));
  produced_ += n;
  if (keep == 0 || write_errno_ != 0) return;
  WriteAll(data, keep);
  if (write_errno_ == 0) kept_ += keep;
}

void SpoolSink::Finish() {
  if (finished_) return;
  finished_ = true;
  if (truncated() && write_errno_ == 0) {
    const std::string marker = TruncationMarker(cap_);
    WriteOwn(marker.data(), marker.size());
  }
}

void SpoolSink::AppendNote(std::string_view line) {
  Finish();
  WriteOwn(line.data(), line.size());
}

void SpoolSink::WriteOwn(const char* data, std::size_t n) {
  // qvm-remote's own bytes (the marker, a reason) are bounded by their callers and must reach
  // the client, so they may pass the quota; they are counted, so Remove gives them back.
  if (write_errno_ != 0 && !quota_exceeded_) return;  // the file itself failed
  if (quota_) quota_->Charge(n);
  const int saved = write_errno_;
  write_errno_ = 0;
  WriteRaw(data, n);
  if (write_errno_ == 0) write_errno_ = saved;
}

std::string RequestSpool::Truncation() const {
  const bool full = (out && out->disk_full()) || (err && err->disk_full());
  if (full) return "spool-full";
  const bool cut_out = out && out->truncated();
  const bool cut_err = err && err->truncated();
  if (cut_out && cut_err) return "stdout,stderr";
  if (cut_out) return "stdout";
  if (cut_err) return "stderr";
  return "";
}

SpoolDir::SpoolDir(std::string dir, std::uint64_t vm_quota)
    : dir_(std::move(dir)), vm_quota_(vm_quota) {}

std::shared_ptr<SpoolQuota> SpoolDir::QuotaOf(const std::string& vm) const {
  std::lock_guard<std::mutex> lock(quota_mu_);
  auto& quota = quotas_[vm];
  if (!quota) {
    quota = std::make_shared<SpoolQuota>(vm_quota_);
    // What a previous run left for delivery counts too.
    const std::string vm_dir = dir_ + "/" + vm;
    if (auto names = ListNames(vm_dir)) {
      for (const std::string& name : *names) {
        struct stat st;
        if (lstat((vm_dir + "/" + name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
          quota->used += static_cast<std::uint64_t>(st.st_size);
        }
      }
    }
  }
  return quota;
}

std::uint64_t SpoolDir::Used(std::string_view vm) const {
  std::lock_guard<std::mutex> lock(quota_mu_);
  auto it = quotas_.find(std::string(vm));
  return it == quotas_.end() ? 0 : it->second->used.load();
}

Status SpoolDir::Prepare() const {
  std::string partial;
  std::string_view rest = dir_;
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/', 1);
    partial.append(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    if (partial == "/") continue;
    if (mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return SpoolError("cannot create", partial, errno);
    }
  }
  if (chmod(dir_.c_str(), 0700) != 0) return SpoolError("cannot chmod", dir_, errno);
  return Ok{};
}

Result<RequestSpool> SpoolDir::Create(std::string_view vm, std::string_view cid,
                                      std::uint64_t cap) const {
  if (Status valid = ValidateNames(vm, cid); !valid) return valid.error();
  const std::string vm_dir = dir_ + "/" + std::string(vm);
  if (Status made = MakeDir(vm_dir); !made) return made.error();
  std::shared_ptr<SpoolQuota> quota = QuotaOf(std::string(vm));
  if (quota->used.load() >= quota->limit) {
    return MakeError("spool-quota", "the spool of VM " + std::string(vm) + " holds its quota of " +
                                        std::to_string(quota->limit) + " bytes");
  }
  RequestSpool spool;
  spool.stdout_path = vm_dir + "/" + std::string(cid) + ".out";
  spool.stderr_path = vm_dir + "/" + std::string(cid) + ".err";
  auto out = SpoolSink::Open(spool.stdout_path, cap, quota);
  if (!out) return out.error();
  auto err = SpoolSink::Open(spool.stderr_path, cap, quota);
  if (!err) {
    unlink(spool.stdout_path.c_str());
    return err.error();
  }
  spool.out = std::move(*out);
  spool.err = std::move(*err);
  spool.quota = std::move(quota);
  return spool;
}

Status SpoolDir::Remove(std::string_view vm, std::string_view cid) const {
  if (Status valid = ValidateNames(vm, cid); !valid) return valid;
  const std::string base = dir_ + "/" + std::string(vm) + "/" + std::string(cid);
  std::shared_ptr<SpoolQuota> quota = QuotaOf(std::string(vm));
  for (const char* ext : {".out", ".err"}) {
    struct stat st;
    const bool present = lstat((base + ext).c_str(), &st) == 0 && S_ISREG(st.st_mode);
    if (Status removed = RemoveIfPresent(base + ext); !removed) return removed;
    if (present) quota->Release(static_cast<std::uint64_t>(st.st_size));
  }
  return Ok{};
}

Result<std::vector<std::string>> SpoolDir::ListOrphans() const {
  auto vms = ListNames(dir_);
  if (!vms) return vms.error();
  std::vector<std::string> orphans;
  for (const std::string& vm : *vms) {
    struct stat st;
    // A stray file at the top (not a per-VM directory) is an orphan too; a symlink is never
    // followed into.
    if (lstat((dir_ + "/" + vm).c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
      orphans.push_back(vm);
      continue;
    }
    auto files = ListNames(dir_ + "/" + vm);
    if (!files) return files.error();
    for (const std::string& file : *files) orphans.push_back(vm + "/" + file);
  }
  return orphans;
}

Result<std::size_t> SpoolDir::RemoveOrphans() const {
  auto orphans = ListOrphans();
  if (!orphans) return orphans.error();
  for (const std::string& orphan : *orphans) {
    if (Status removed = RemoveIfPresent(dir_ + "/" + orphan); !removed) return removed.error();
  }
  auto vms = ListNames(dir_);
  if (!vms) return vms.error();
  for (const std::string& vm : *vms) rmdir((dir_ + "/" + vm).c_str());  // non-empty: kept
  return orphans->size();
}

}  // namespace qvmr
