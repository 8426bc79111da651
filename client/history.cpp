#include "client/history.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <deque>
#include <fstream>
#include <vector>

namespace qvmr::client {
namespace {

std::string LocalTime(const char* format) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

std::vector<std::string> SubdirsOf(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
  }
  return names;
}

std::string ReadSmall(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  std::string data(limit, '\0');
  in.read(data.data(), static_cast<std::streamsize>(limit));
  data.resize(static_cast<std::size_t>(in.gcount()));
  return data;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

void Audit(const Paths& paths, std::string_view message) {
  int fd =
      ::open(paths.audit.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  std::string line = "[" + LocalTime("%Y-%m-%dT%H:%M:%S") + "] " + std::string(message) + "\n";
  (void)!::write(fd, line.data(),
                 line.size());  // one write: lines of concurrent clients stay whole
  ::close(fd);
}

std::string SubmitLine(std::string_view cid, std::string_view body) {
  std::string preview(body.substr(0, 100));
  for (char& c : preview) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return "SUBMIT id=" + std::string(cid) + " size=" + std::to_string(body.size()) +
         "B cmd=" + preview;
}

void Archive(const Paths& paths, std::string_view cid, std::string_view command) {
  const std::string day = paths.history + "/" + LocalTime("%Y-%m-%d");
  const std::string dest = day + "/" + std::string(cid);
  bool ok = (::mkdir(paths.history.c_str(), 0700) == 0 || errno == EEXIST) &&
            (::mkdir(day.c_str(), 0700) == 0 || errno == EEXIST) &&
            (::mkdir(dest.c_str(), 0700) == 0 || errno == EEXIST);
  for (const char* ext : {"out", "err", "meta", "exit"}) {
    const std::string src = paths.Result(cid, ext);
    if (!ok || ::rename(src.c_str(), (dest + "/" + ext).c_str()) != 0) ::unlink(src.c_str());
  }
  if (!ok) return;
  int fd = ::open((dest + "/command").c_str(),
                  O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) {
    (void)!::write(fd, command.data(), command.size());
    ::close(fd);
  }
}

void RemoveResults(const Paths& paths, std::string_view cid) {
  for (const char* ext : {"out", "err", "meta", "exit"}) ::unlink(paths.Result(cid, ext).c_str());
}

void PrintLog(const Paths& paths, std::size_t n) {
  std::ifstream in(paths.audit, std::ios::binary);
  if (!in) {
    std::printf("No audit log entries yet.\n");
    return;
  }
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > n) last.pop_front();
  }
  for (const auto& l : last) std::printf("%s\n", l.c_str());
}

void PrintHistory(const Paths& paths, std::size_t n) {
  std::vector<std::string> dirs;
  for (const auto& day : SubdirsOf(paths.history)) {
    for (const auto& cid : SubdirsOf(paths.history + "/" + day)) {
      dirs.push_back(paths.history + "/" + day + "/" + cid);
    }
  }
  std::sort(dirs.rbegin(), dirs.rend());
  if (dirs.size() > n) dirs.resize(n);
  if (dirs.empty()) {
    std::printf("No command history yet.\n");
    return;
  }
  std::printf("%-30s %-6s %-10s COMMAND\n", "ID", "EXIT", "DURATION");
  std::printf("%-30s %-6s %-10s -------\n", "---", "----", "--------");
  for (const auto& d : dirs) {
    std::string rc = "-", dur = "-", cmd = "-";
    struct stat st {};
    if (::stat((d + "/exit").c_str(), &st) == 0) rc = Trim(ReadSmall(d + "/exit", 64));
    if (::stat((d + "/meta").c_str(), &st) == 0) {
      std::string meta = ReadSmall(d + "/meta", 65536);
      std::size_t at = meta.find("duration_ms=");
      if (at != std::string::npos && (at == 0 || meta[at - 1] == '\n')) {
        at += 12;
        dur = meta.substr(at, meta.find('\n', at) - at) + "ms";
      }
    }
    if (::stat((d + "/command").c_str(), &st) == 0) {
      cmd = ReadSmall(d + "/command", 50);
      for (char& c : cmd) {
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
      }
    }
    std::printf("%-30s %-6s %-10s %s\n", d.substr(d.rfind('/') + 1).c_str(), rc.c_str(),
                dur.c_str(), cmd.c_str());
  }
}

}  // namespace qvmr::client
