#include "support/daemon_local_world.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <sstream>

#include "engine/base/env.h"
#include "engine/wire/meta.h"
#include "engine/wire/token.h"

namespace qvmr::testing {

namespace {

constexpr char kPolicy[] = R"(version: 1
commands:
  echo:
    operands_only: true
  tick: {}
  true: {}
  printf:
    operands_only: true
  qvm-start:
    options: ['-q|--quiet']
classes:
  read-only:
    - 'echo [<text>]...'
    - 'tick'
    - 'true'
    - 'printf <text> [<text>]...'
  manage:
    - 'qvm-start <vm>'
vms:
  work: {level: read-only}
  other: {level: read-only}
)";

}  // namespace

LocalWorld::LocalWorld() {
  tmp_.MakeDir("root/etc/qubes/remote.d");
  ::chmod(tmp_.Sub("root/etc/qubes/remote.d").c_str(), 0700);
  tmp_.MakeDir("root/etc/qubes/remote-policy.d");
  tmp_.WriteFile("root/etc/qubes/remote-policy.d/50-test.yaml", kPolicy, 0644);
  tmp_.WriteFile("root/etc/qubes/remote.d/work.key", kKeyWork, 0600);
  tmp_.WriteFile("root/etc/qubes/remote.d/other.key", kKeyOther, 0600);
  tmp_.MakeDir("bin");
  tmp_.Symlink("bin/echo", "/bin/echo");
  tmp_.Symlink("bin/true", "/bin/true");
  tmp_.Symlink("bin/printf", "/usr/bin/printf");
  tmp_.WriteFile("bin/tick", "#!/bin/sh\necho tick >> " + tmp_.Sub("ticks") + "\necho ticked\n",
                 0755);
  tmp_.WriteFile("root/etc/qubes/remote.conf",
                 "QVM_REMOTE_VMS=\"work other\"\nQVM_REMOTE_EXEC_PATH=" + tmp_.Sub("bin") + "\n",
                 0644);
  for (const char* vm : {"work", "other"}) {
    for (const char* dir : {"tmp", "pending", "running", "results"}) {
      std::string d = tmp_.MakeDir(std::string("vms/") + vm + "/.qvm-remote/queue/" + dir);
      ::chmod(d.c_str(), 0700);
    }
  }
}

int LocalWorld::Ticks() const {
  std::string text = ReadWholeFile(tmp_.Sub("ticks"));
  if (text == "<missing>") return 0;
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

std::string LocalWorld::NewCid() {
  return NewCidAt(static_cast<std::int64_t>(std::time(nullptr)) * 1000);
}

std::string LocalWorld::NewCidAt(std::int64_t ms) {
  std::time_t now = static_cast<std::time_t>(ms / 1000);
  std::tm tm;
  gmtime_r(&now, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d-%02d%02d%02d-%d-%016x", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(::getpid()), ++counter_);
  return buf;
}

void LocalWorld::Submit(const std::string& vm, const std::string& cid, const std::string& body,
                        const std::string& key, const std::string& extra_fields) {
  std::map<std::string, std::string> fields{{"timeout", "30"}};
  if (!extra_fields.empty()) {
    std::size_t eq = extra_fields.find('=');
    fields[extra_fields.substr(0, eq)] = extra_fields.substr(eq + 1);
  }
  std::string auth = FormatAuthV2(fields, MacV2(key, cid, fields, body));
  std::string q = "vms/" + vm + "/.qvm-remote/queue/";
  tmp_.WriteFile(q + "tmp/" + cid + ".auth", auth, 0644);
  std::rename(tmp_.Sub(q + "tmp/" + cid + ".auth").c_str(),
              tmp_.Sub(q + "pending/" + cid + ".auth").c_str());
  tmp_.WriteFile(q + "tmp/" + cid, body, 0644);
  std::rename(tmp_.Sub(q + "tmp/" + cid).c_str(), tmp_.Sub(q + "pending/" + cid).c_str());
}

int LocalWorld::RunOnce(DaemonOptions options) {
  options.root = root();
  options.transport = TransportChoice::kLocal;
  options.local_dir = tmp_.Sub("vms");
  options.once = true;
  options.log_to_stdout = false;
  if (options.policy_dirs.empty()) options.policy_dirs = {root() + "/etc/qubes/remote-policy.d"};
  if (options.workers == 8) options.workers = 2;
  return RunDaemon(options);
}

std::string LocalWorld::Result(const std::string& vm, const std::string& cid,
                               const std::string& ext) const {
  return ReadWholeFile(Queue(vm) + "/results/" + cid + "." + ext);
}

std::string LocalWorld::MetaValue(const std::string& vm, const std::string& cid,
                                  const std::string& key) const {
  auto meta = DecodeMeta(Result(vm, cid, "meta"));
  if (!meta) return "<bad meta: " + meta.error().message + ">";
  if (key == "outcome") return meta->outcome ? std::string(OutcomeName(*meta->outcome)) : "";
  if (key == "decision") return meta->decision;
  if (key == "rule") return meta->rule;
  if (key == "reason_code") return meta->reason_code;
  if (key == "executor") return meta->executor;
  if (key == "policy") return meta->policy;
  if (key == "level") return meta->level;
  return "<unknown key>";
}

void LocalWorld::SetClockOffsetMs(std::int64_t ms) {
  tmp_.MakeDir("root/run/qvm-remote");
  tmp_.WriteFile("root/run/qvm-remote/test-clock-offset-ms", std::to_string(ms) + "\n", 0644);
}

std::vector<nlohmann::json> LocalWorld::AuditLines() const {
  std::vector<nlohmann::json> lines;
  std::string text = ReadWholeFile(AuditFile());
  if (text == "<missing>") return lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      ADD_FAILURE() << "audit line does not parse: " << line;
      j = line;
    }
    lines.push_back(std::move(j));
  }
  return lines;
}

std::string LocalWorld::TextLogText() const {
  return ReadWholeFile(root() + "/var/log/qubes/qvm-remote.log");
}

std::string LocalWorld::VmAuditLog(const std::string& vm) const {
  return ReadWholeFile(tmp_.Sub("vms/" + vm + "/.qvm-remote/audit.log"));
}

std::vector<std::string> LocalWorld::BinaryArgs(const std::vector<std::string>& extra) const {
  std::vector<std::string> args = {std::string(QVMR_BIN_DIR) + "/qvm-remote-dom0",
                                   "--root",
                                   root(),
                                   "--transport",
                                   "local",
                                   "--local-dir",
                                   tmp_.Sub("vms"),
                                   "--policy-dir",
                                   root() + "/etc/qubes/remote-policy.d"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

int LocalWorld::StartBinary(const std::vector<std::string>& args,
                            const std::vector<std::string>& env_extra) const {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.push_back(*e);
  env_strings.insert(env_strings.end(), env_extra.begin(), env_extra.end());
  std::vector<char*> argv, envp;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) ::dup2(devnull, 1);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

int LocalWorld::RunBinary(const std::vector<std::string>& args,
                          const std::vector<std::string>& env_extra) const {
  int pid = StartBinary(args, env_extra);
  int status = 0;
  if (pid <= 0 || ::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int LocalWorld::StopBinary(int pid) {
  ::kill(pid, SIGTERM);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace qvmr::testing
