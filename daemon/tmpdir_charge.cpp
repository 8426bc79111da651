#include "daemon/tmpdir_charge.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace qvmr {
namespace {

std::uint64_t EntryCharge(const struct stat& st) {
  const std::uint64_t on_disk = static_cast<std::uint64_t>(st.st_blocks) * 512;
  return std::max(on_disk, kTmpdirEntryMinCharge);
}

// A directory only, never through a symlink, never blocking: a FIFO or device swapped in after
// the stat fails with ENOTDIR before anything of it is opened.
int OpenDirectoryAt(int parent, const char* name) {
  return openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
}

// `fd` as a DIR* if it is a directory on `device`; closes it otherwise.
DIR* DirectoryOn(int fd, dev_t device) {
  if (fd < 0) return nullptr;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_dev == device) {
    if (DIR* dir = fdopendir(fd)) return dir;
  }
  close(fd);
  return nullptr;
}

}  // namespace

TmpdirUsage MeasureTmpdir(const std::string& path, std::uint64_t budget) {
  TmpdirUsage usage;
  const int root_fd = OpenDirectoryAt(AT_FDCWD, path.c_str());
  if (root_fd < 0) return usage;
  struct stat root;
  if (fstat(root_fd, &root) != 0) {
    close(root_fd);
    return usage;
  }
  DIR* top = DirectoryOn(root_fd, root.st_dev);
  if (top == nullptr) return usage;
  // The directories being read, outermost first: one descriptor per level.
  std::vector<DIR*> open_dirs{top};
  while (!open_dirs.empty()) {
    DIR* dir = open_dirs.back();
    const dirent* entry = readdir(dir);
    if (entry == nullptr) {  // the end (or a read error: what was read is what it held)
      closedir(dir);
      open_dirs.pop_back();
      continue;
    }
    if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
    struct stat st;
    // Vanished since readdir, or unstat-able: still a name that was there; the minimum keeps
    // every name read paid for, which is what bounds the walk.
    const bool stated = fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    ++usage.entries;
    usage.bytes += stated ? EntryCharge(st) : kTmpdirEntryMinCharge;
    if (usage.bytes > budget) {
      usage.over_budget = true;
      break;
    }
    // FTW_MOUNT's rule: another filesystem mounted below is one entry, not walked.
    if (!stated || !S_ISDIR(st.st_mode) || st.st_dev != root.st_dev) continue;
    if (open_dirs.size() > static_cast<std::size_t>(kTmpdirMaxDepth)) {
      usage.too_deep = true;
      break;
    }
    const int sub_fd = OpenDirectoryAt(dirfd(dir), entry->d_name);
    if (sub_fd < 0 && (errno == EACCES || errno == EPERM)) {
      usage.unreadable = true;
      break;
    }
    if (DIR* sub = DirectoryOn(sub_fd, root.st_dev)) open_dirs.push_back(sub);
  }
  for (DIR* dir : open_dirs) closedir(dir);
  return usage;
}

TmpdirCharge::TmpdirCharge(std::string tmpdir, std::shared_ptr<SpoolQuota> quota)
    : tmpdir_(std::move(tmpdir)), quota_(std::move(quota)) {}

TmpdirCharge::~TmpdirCharge() {
  Release();
}

bool TmpdirCharge::Update() {
  if (!active()) return false;
  // Everything the VM holds but this TMPDIR: its spool files and its other commands' TMPDIRs.
  const std::uint64_t used = quota_->used.load();
  const std::uint64_t others = used > held_ ? used - held_ : 0;
  const std::uint64_t budget = quota_->limit > others ? quota_->limit - others : 0;
  last_ = MeasureTmpdir(tmpdir_, budget);
  if (last_.bytes > held_) {
    quota_->Charge(last_.bytes - held_);
  } else {
    quota_->Release(held_ - last_.bytes);
  }
  held_ = last_.bytes;
  over_ = over_ || last_.over_budget || last_.too_deep || last_.unreadable;
  return over_;
}

void TmpdirCharge::Release() {
  if (quota_ != nullptr && held_ > 0) quota_->Release(held_);
  held_ = 0;
}

std::string TmpdirCharge::Describe() const {
  if (last_.too_deep) {
    return " (its TMPDIR nests directories deeper than " + std::to_string(kTmpdirMaxDepth) +
           " levels)";
  }
  if (last_.unreadable) return " (its TMPDIR holds a directory dom0 cannot read)";
  if (last_.bytes == 0) return "";
  return std::string(" (its TMPDIR held ") + (last_.over_budget ? "at least " : "") +
         std::to_string(last_.bytes) + " bytes)";
}

}  // namespace qvmr
