#include "daemon/remote_conf.h"

#include <algorithm>

#include "engine/base/trust.h"
#include "engine/base/vm_name.h"

namespace qvmr {
namespace {

constexpr std::size_t kMaxConfBytes = 64 * 1024;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// A bare, "double" or 'single' quoted value without expansions of any kind.
Result<std::string> Unquote(std::string_view raw, const SourcePos& pos) {
  if (raw.size() >= 2 && (raw.front() == '"' || raw.front() == '\'') && raw.back() == raw.front()) {
    raw = raw.substr(1, raw.size() - 2);
  }
  for (char c : raw) {
    if (c == '$' || c == '`' || c == '\\' || c == '"' || c == '\'') {
      return MakeError("remote-conf",
                       std::string("unsupported character '") + c +
                           "' (values are plain words; remote.conf is read, never run by a shell)",
                       pos);
    }
  }
  return std::string(raw);
}

}  // namespace

Result<RemoteConf> ParseRemoteConf(std::string_view text, const std::string& file) {
  RemoteConf conf;
  conf.exec_path = ExecPath::Parse(kDefaultExecPath).directories();
  int line_no = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = Trim(text.substr(start, end - start));
    start = end + 1;
    ++line_no;
    SourcePos pos{file, line_no, 1};
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("export ")) line = Trim(line.substr(7));
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return MakeError("remote-conf", "expected NAME=value", pos);
    }
    std::string_view name = line.substr(0, eq);
    auto value = Unquote(line.substr(eq + 1), pos);
    if (!value) return value.error();
    if (name == "QVM_REMOTE_VMS") {
      conf.vms.clear();
      std::size_t i = 0;
      const std::string& v = *value;
      while (i < v.size()) {
        std::size_t j = v.find_first_of(" \t,", i);
        if (j == std::string::npos) j = v.size();
        std::string vm = v.substr(i, j - i);
        i = j + 1;
        if (vm.empty()) continue;
        if (!IsValidVmName(vm)) {
          return MakeError("remote-conf", "'" + vm + "' is not a valid VM name", pos);
        }
        if (std::find(conf.vms.begin(), conf.vms.end(), vm) == conf.vms.end()) {
          conf.vms.push_back(vm);
        }
      }
    } else if (name == "QVM_REMOTE_EXEC_PATH") {
      conf.exec_path = ExecPath::Parse(*value).directories();
      if (conf.exec_path.empty()) {
        return MakeError("remote-conf", "QVM_REMOTE_EXEC_PATH has no absolute directory", pos);
      }
    } else if (name == "QVM_REMOTE_AGENT") {
      if (value->empty()) return MakeError("remote-conf", "QVM_REMOTE_AGENT is empty", pos);
      conf.agent = *value;
    } else {
      return MakeError("remote-conf",
                       "unknown setting '" + std::string(name) +
                           "' (known: QVM_REMOTE_VMS, QVM_REMOTE_EXEC_PATH, QVM_REMOTE_AGENT)",
                       pos);
    }
  }
  return conf;
}

Result<RemoteConf> LoadRemoteConf(Env& env, const std::string& path) {
  auto info = env.Stat(path);
  if (!info) return info.error();
  if (!info->exists) return ParseRemoteConf("", path);
  if (auto trusted = CheckTrusted(env, path); !trusted) return trusted.error();
  auto text = env.ReadFile(path, kMaxConfBytes);
  if (!text) return text.error();
  return ParseRemoteConf(*text, path);
}

}  // namespace qvmr
