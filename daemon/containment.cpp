// What every containment variant shares: names, the child's side of entering a cell, the choice
// `auto` makes, and the private TMPDIR.
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "daemon/containment.h"

namespace qvmr {

std::string_view ContainmentKindName(ContainmentKind kind) {
  switch (kind) {
    case ContainmentKind::kCgroup2:
      return "cgroup2";
    case ContainmentKind::kHybrid:
      return "hybrid";
    case ContainmentKind::kPidns:
      return "pidns";
    case ContainmentKind::kSubreaper:
      return "subreaper";
    case ContainmentKind::kNone:
      return "none";
  }
  return "none";
}

std::optional<ContainmentKind> ParseContainmentKind(std::string_view name) {
  for (ContainmentKind kind :
       {ContainmentKind::kCgroup2, ContainmentKind::kHybrid, ContainmentKind::kPidns,
        ContainmentKind::kSubreaper, ContainmentKind::kNone}) {
    if (ContainmentKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

std::string CellId(std::string_view vm, std::string_view cid) {
  return std::string(vm) + "." + std::string(cid);
}

std::string InstanceTag(std::string_view state_dir) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : state_dir) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(hash));
  return out;
}

pid_t ForkIntoCell(const CellEntry& entry) {
  if (!entry.new_pid_namespace) return fork();
  // clone with a null stack behaves as fork (the child runs on a copy of this stack); glibc's
  // clone() wrapper wants a separate stack, which a forked child does not need. The child only
  // runs async-signal-safe calls before exec, so skipping glibc's fork handlers is harmless.
  return static_cast<pid_t>(syscall(SYS_clone, static_cast<unsigned long>(CLONE_NEWPID | SIGCHLD),
                                    nullptr, nullptr, nullptr, 0UL));
}

int EnterCell(const CellEntry& entry) {
  // "0" moves the writing process, in v1 and v2 alike; no pid formatting needed in the child.
  for (int i = 0; i < entry.join_count; ++i) {
    if (write(entry.join_fds[i], "0", 1) != 1) return errno != 0 ? errno : EIO;
  }
  if (entry.address_space_bytes != 0) {
    struct rlimit limit;
    limit.rlim_cur = static_cast<rlim_t>(entry.address_space_bytes);
    limit.rlim_max = static_cast<rlim_t>(entry.address_space_bytes);
    if (setrlimit(RLIMIT_AS, &limit) != 0) return errno;
  }
  if (entry.subreaper_helper) return SplitIntoSubreaperHelper();
  return 0;
}

Result<std::unique_ptr<Containment>> NewContainment(ContainmentKind kind,
                                                    const ContainmentOptions& options) {
  switch (kind) {
    case ContainmentKind::kCgroup2:
      return NewCgroup2Containment(options);
    case ContainmentKind::kHybrid:
      return NewHybridContainment(options);
    case ContainmentKind::kPidns:
      return NewPidnsContainment(options);
    case ContainmentKind::kSubreaper:
      return NewSubreaperContainment(options);
    case ContainmentKind::kNone:
      return NewNoneContainment(options);
  }
  return MakeError("containment-unavailable", "unknown containment");
}

std::unique_ptr<Containment> ChooseContainment(const ContainmentOptions& options,
                                               std::string* why) {
  std::string tried;
  for (ContainmentKind kind : {ContainmentKind::kCgroup2, ContainmentKind::kHybrid,
                               ContainmentKind::kPidns, ContainmentKind::kSubreaper}) {
    auto made = NewContainment(kind, options);
    if (made.ok()) {
      if (why != nullptr) *why = "containment auto: " + (*made)->Describe() + tried;
      return std::move(made).value();
    }
    tried += std::string("; not ") + std::string(ContainmentKindName(kind)) + ": " +
             made.error().message;
  }
  auto none = NewNoneContainment(options);
  if (why != nullptr) *why = "containment auto: " + none->Describe() + tried;
  return none;
}

Result<std::string> MakePrivateTmp(const ContainmentOptions& options, std::string_view cid) {
  if (options.tmp_parent.empty()) return std::string();
  if (mkdir(options.tmp_parent.c_str(), 0700) != 0 && errno != EEXIST) {
    return MakeError("tmpdir", options.tmp_parent + ": " + std::strerror(errno));
  }
  std::string path = options.tmp_parent + "/" + std::string(cid);
  // A leftover of a crashed daemon under the same cid is stale: start empty.
  (void)RemoveTree(path);
  if (mkdir(path.c_str(), 0700) != 0) {
    return MakeError("tmpdir", path + ": " + std::strerror(errno));
  }
  // mkdir applies the umask; the mode must be exactly 0700.
  if (chmod(path.c_str(), 0700) != 0) {
    return MakeError("tmpdir", path + ": " + std::strerror(errno));
  }
  return path;
}

Result<int> SweepPrivateTmps(const ContainmentOptions& options) {
  if (options.tmp_parent.empty()) return 0;
  DIR* dir = opendir(options.tmp_parent.c_str());
  if (dir == nullptr) return 0;  // never made yet
  std::vector<std::string> names;
  while (struct dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  std::string failed;
  for (const std::string& name : names) {
    Status removed = RemoveTree(options.tmp_parent + "/" + name);
    if (!removed.ok()) failed += removed.error().message + "; ";
  }
  if (!failed.empty()) return MakeError("tmpdir", failed);
  return static_cast<int>(names.size());
}

namespace {
int RemoveOne(const char* path, const struct stat*, int type, struct FTW*) {
  // FTW_PHYS: a symlink the command left is removed as a link, never followed.
  if (type == FTW_DP || type == FTW_D || type == FTW_DNR) return rmdir(path) == 0 ? 0 : errno;
  return unlink(path) == 0 ? 0 : errno;
}
}  // namespace

Status RemoveTree(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return Ok{};
  // A command may have made a directory unreadable or unwritable for itself; we are its owner.
  if (S_ISDIR(st.st_mode)) {
    nftw(
        path.c_str(),
        [](const char* p, const struct stat* s, int type, struct FTW*) {
          if (type == FTW_D || type == FTW_DNR || (s != nullptr && S_ISDIR(s->st_mode))) {
            chmod(p, 0700);
          }
          return 0;
        },
        16, FTW_PHYS);
  }
  const int rc = nftw(path.c_str(), RemoveOne, 16, FTW_PHYS | FTW_DEPTH);
  if (rc != 0) {
    return MakeError("tmpdir", path + ": could not remove: " + std::strerror(rc > 0 ? rc : errno));
  }
  return Ok{};
}

}  // namespace qvmr
