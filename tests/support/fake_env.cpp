#include "support/fake_env.h"

namespace qvmr::testing {

namespace {
std::string Parent(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}
}  // namespace

FakeEnv::FakeEnv() {
  nodes_["/"] = Node{true, "", 0, 0755};
}

void FakeEnv::AddDir(const std::string& path, std::uint32_t mode, std::uint32_t uid) {
  if (path != "/" && !nodes_.count(Parent(path))) AddDir(Parent(path));
  nodes_[path] = Node{true, "", uid, mode};
}

void FakeEnv::AddFile(const std::string& path, const std::string& data, std::uint32_t mode,
                      std::uint32_t uid) {
  if (!nodes_.count(Parent(path))) AddDir(Parent(path));
  nodes_[path] = Node{false, data, uid, mode};
}

void FakeEnv::AddSymlink(const std::string& path, const std::string& target) {
  links_[path] = target;
}

std::string FakeEnv::Resolve(const std::string& path) const {
  // Resolve links on every prefix, a handful of hops at most.
  std::string p = path;
  for (int hop = 0; hop < 8; ++hop) {
    bool changed = false;
    for (const auto& [from, to] : links_) {
      if (p == from) {
        p = to;
        changed = true;
      } else if (p.rfind(from + "/", 0) == 0) {
        p = to + p.substr(from.size());
        changed = true;
      }
    }
    if (!changed) break;
  }
  return p;
}

FakeEnv::Node* FakeEnv::Find(const std::string& path) {
  auto it = nodes_.find(Resolve(path));
  return it == nodes_.end() ? nullptr : &it->second;
}

Result<std::string> FakeEnv::ReadFile(const std::string& path, std::size_t max_bytes) {
  Node* n = Find(path);
  if (!n || n->is_dir) return MakeError("io", "cannot read " + path + ": No such file");
  if (n->data.size() > max_bytes) return MakeError("too-large", path + " is too large");
  return n->data;
}

Result<std::vector<std::string>> FakeEnv::ListDir(const std::string& path) {
  std::string dir = Resolve(path);
  Node* n = Find(dir);
  if (!n || !n->is_dir) return MakeError("io", "cannot list " + path + ": No such directory");
  std::vector<std::string> names;
  std::string prefix = dir == "/" ? "/" : dir + "/";
  for (const auto& [p, node] : nodes_) {
    if (p.size() > prefix.size() && p.rfind(prefix, 0) == 0 &&
        p.find('/', prefix.size()) == std::string::npos) {
      names.push_back(p.substr(prefix.size()));
    }
  }
  for (const auto& [from, to] : links_) {
    if (Parent(from) == dir) names.push_back(from.substr(prefix.size()));
  }
  return names;
}

Result<FileInfo> FakeEnv::Stat(const std::string& path) {
  Node* n = Find(path);
  FileInfo info;
  if (!n) return info;
  info.exists = true;
  info.is_dir = n->is_dir;
  info.is_regular = !n->is_dir;
  info.uid = n->uid;
  info.mode = n->mode;
  return info;
}

Result<std::string> FakeEnv::RealPath(const std::string& path) {
  std::string p = Resolve(path);
  if (!nodes_.count(p)) return MakeError("io", "cannot resolve " + path + ": No such file");
  return p;
}

Status FakeEnv::WriteFileAtomic(const std::string& path, const std::string& data,
                                std::uint32_t mode) {
  if (!Find(Parent(path))) return MakeError("io", "no directory for " + path);
  nodes_[Resolve(path)] = Node{false, data, euid, mode};
  return Ok{};
}

Status FakeEnv::MakeDirs(const std::string& path, std::uint32_t mode) {
  if (!Find(path)) AddDir(path, mode, euid);
  Find(path)->mode = mode;
  return Ok{};
}

Status FakeEnv::RemoveFile(const std::string& path) {
  nodes_.erase(Resolve(path));
  return Ok{};
}

}  // namespace qvmr::testing
