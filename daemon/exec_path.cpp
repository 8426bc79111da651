#include "daemon/exec_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/base/excerpt.h"

namespace qvmr {

int ProgramLookup::Status() const {
  switch (kind) {
    case Kind::kFound:
      return 0;
    case Kind::kNotExecutable:
      return 126;
    case Kind::kNotFound:
    case Kind::kHasSlash:
      return 127;
  }
  return 127;
}

std::string ProgramLookup::ErrLine(std::string_view program) const {
  const std::string name = Excerpt(program);
  switch (kind) {
    case Kind::kFound:
      return "";
    case Kind::kNotFound:
      return "qvm-remote: " + name + ": command not found in QVM_REMOTE_EXEC_PATH\n";
    case Kind::kNotExecutable:
      return "qvm-remote: " + name + ": not executable (found in QVM_REMOTE_EXEC_PATH)\n";
    case Kind::kHasSlash:
      return "qvm-remote: " + name +
             ": a program path is never run; programs come from QVM_REMOTE_EXEC_PATH\n";
  }
  return "";
}

ExecPath ExecPath::Parse(std::string_view colon_list) {
  ExecPath path;
  while (true) {
    const std::size_t colon = colon_list.find(':');
    const std::string_view entry = colon_list.substr(0, colon);
    if (!entry.empty() && entry.front() == '/') {
      std::string dir(entry);
      while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
      path.directories_.push_back(std::move(dir));
    }
    if (colon == std::string_view::npos) break;
    colon_list.remove_prefix(colon + 1);
  }
  return path;
}

ProgramLookup ExecPath::Lookup(std::string_view program) const {
  ProgramLookup lookup;
  if (program.find('/') != std::string_view::npos) {
    lookup.kind = ProgramLookup::Kind::kHasSlash;
    return lookup;
  }
  // An empty name, "." or ".." would name a directory, never a program; a NUL cannot be passed
  // to execve (the engine never produces one, but the lookup must not be fooled by it).
  if (program.empty() || program == "." || program == ".." ||
      program.find('\0') != std::string_view::npos) {
    return lookup;
  }
  for (const std::string& dir : directories_) {
    std::string candidate = dir == "/" ? "/" : dir + "/";
    candidate.append(program);
    struct stat st;
    if (stat(candidate.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (faccessat(AT_FDCWD, candidate.c_str(), X_OK, AT_EACCESS) == 0) {
      lookup.kind = ProgramLookup::Kind::kFound;
      lookup.path = std::move(candidate);
      return lookup;
    }
    lookup.kind = ProgramLookup::Kind::kNotExecutable;
  }
  return lookup;
}

std::string ExecPath::Joined() const {
  std::string joined;
  for (const std::string& dir : directories_) {
    if (!joined.empty()) joined.push_back(':');
    joined.append(dir);
  }
  return joined;
}

}  // namespace qvmr
