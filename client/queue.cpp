#include "client/queue.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "engine/wire/token.h"

namespace qvmr::client {
namespace {

Error IoError(const std::string& what, const std::string& path) {
  return MakeError("io", what + " " + path + ": " + std::strerror(errno));
}

// Creates `path` with exactly `data`, 0600, refusing to follow or replace anything.
Status WriteNewFile(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot create", path);
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = IoError("cannot write", path);
      ::close(fd);
      ::unlink(path.c_str());
      return e;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) {
    Error e = IoError("cannot write", path);
    ::unlink(path.c_str());
    return e;
  }
  return Ok{};
}

Status MoveInto(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    Error e = IoError("cannot rename into", to);
    ::unlink(from.c_str());
    return e;
  }
  return Ok{};
}

template <typename Fn>
void ForEachEntry(const std::string& dir, Fn fn) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    fn(name);
  }
  ::closedir(d);
}

}  // namespace

Paths Paths::ForHome(std::string_view home) {
  Paths p;
  p.data = std::string(home) + "/.qvm-remote";
  p.key = p.data + "/auth.key";
  p.audit = p.data + "/audit.log";
  p.history = p.data + "/history";
  p.queue = p.data + "/queue";
  p.tmp = p.queue + "/tmp";
  p.pending = p.queue + "/pending";
  p.running = p.queue + "/running";
  p.results = p.queue + "/results";
  return p;
}

std::string Paths::Result(std::string_view cid, std::string_view ext) const {
  return results + "/" + std::string(cid) + "." + std::string(ext);
}

Status EnsureQueueDirs(const Paths& paths) {
  for (const std::string* dir :
       {&paths.data, &paths.queue, &paths.tmp, &paths.pending, &paths.running, &paths.results}) {
    if (::mkdir(dir->c_str(), 0700) != 0 && errno != EEXIST) {
      return IoError("cannot create directory", *dir);
    }
  }
  return Ok{};
}

std::string FormatCid(std::time_t utc_seconds, long pid,
                      const std::array<std::uint8_t, 8>& random) {
  std::tm tm{};
  ::gmtime_r(&utc_seconds, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::string cid = std::string(stamp) + "-" + std::to_string(pid) + "-";
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::uint8_t b : random) {
    cid += kHex[b >> 4];
    cid += kHex[b & 0xf];
  }
  return cid;
}

Result<std::string> NewCid() {
  std::array<std::uint8_t, 8> random{};
  std::size_t got = 0;
  while (got < random.size()) {
    ssize_t n = ::getrandom(random.data() + got, random.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return MakeError("io", std::string("getrandom: ") + std::strerror(errno));
    got += static_cast<std::size_t>(n);
  }
  return FormatCid(std::time(nullptr), static_cast<long>(::getpid()), random);
}

Status Submit(const Paths& paths, std::string_view key, const Request& request) {
  std::map<std::string, std::string> fields{{"timeout", std::to_string(request.timeout_seconds)}};
  if (request.ping) fields["kind"] = "ping";
  const std::string auth = FormatAuthV2(fields, MacV2(key, request.cid, fields, request.body));

  const std::string tmp_auth = paths.tmp + "/" + request.cid + ".auth";
  const std::string pending_auth = paths.pending + "/" + request.cid + ".auth";
  if (auto s = WriteNewFile(tmp_auth, auth); !s) return s;
  if (auto s = MoveInto(tmp_auth, pending_auth); !s) return s;

  const std::string tmp_body = paths.tmp + "/" + request.cid;
  const std::string pending_body = paths.pending + "/" + request.cid;
  Status body = WriteNewFile(tmp_body, request.body);
  if (body) body = MoveInto(tmp_body, pending_body);
  if (!body) ::unlink(pending_auth.c_str());  // an .auth alone would be answered no-token
  return body;
}

Withdrawal Withdraw(const Paths& paths, std::string_view cid) {
  const std::string pending_body = paths.pending + "/" + std::string(cid);
  const std::string withdrawn = paths.tmp + "/" + std::string(cid) + ".withdrawn";
  const bool claimed = ::rename(pending_body.c_str(), withdrawn.c_str()) != 0;
  if (claimed) return Withdrawal::kClaimed;
  ::unlink((pending_body + ".auth").c_str());
  ::unlink(withdrawn.c_str());
  return Withdrawal::kWithdrawn;
}

bool IsPending(const Paths& paths, std::string_view cid) {
  struct stat st {};
  return ::lstat((paths.pending + "/" + std::string(cid)).c_str(), &st) == 0;
}

QueueCounts CountQueue(const Paths& paths) {
  QueueCounts counts;
  std::set<std::string> bodies, auths;
  ForEachEntry(paths.pending, [&](const std::string& name) {
    if (name.ends_with(".auth")) {
      auths.insert(name.substr(0, name.size() - 5));
    } else if (!name.ends_with(".cmd")) {
      bodies.insert(name);
    }
  });
  counts.pending = static_cast<int>(bodies.size());
  for (const auto& cid : auths) counts.orphan_auth += bodies.count(cid) == 0 ? 1 : 0;
  ForEachEntry(paths.running, [&](const std::string& name) {
    if (!name.ends_with(".auth")) ++counts.running;
  });
  ForEachEntry(paths.results, [&](const std::string& name) {
    if (name.ends_with(".exit")) ++counts.results;
  });
  return counts;
}

int CleanQueue(const Paths& paths, std::int64_t older_than_seconds) {
  const std::time_t now = std::time(nullptr);
  int removed = 0;
  for (const std::string* dir : {&paths.tmp, &paths.pending, &paths.results}) {
    ForEachEntry(*dir, [&](const std::string& name) {
      const std::string path = *dir + "/" + name;
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) return;
      if (now - st.st_mtime <= older_than_seconds) return;
      if (::unlink(path.c_str()) == 0) ++removed;
    });
  }
  return removed;
}

}  // namespace qvmr::client
