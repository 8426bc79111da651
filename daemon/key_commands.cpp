#include "daemon/key_commands.h"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "daemon/key_store.h"
#include "engine/base/vm_name.h"
#include "engine/wire/key_fingerprint.h"

namespace qvmr {
namespace {

constexpr std::string_view kProgram = "qvm-remote-dom0: ";

// The one way a key should reach dom0: pulled from the VM by dom0 itself, never typed into a
// command line. Said after every failed authorize and after the command-line warning.
std::string PullForm(std::string_view vm) {
  std::string v(vm);
  return "qvm-run --pass-io " + v +
         " 'cat ~/.qvm-remote/auth.key' | sudo qvm-remote-dom0 authorize " + v + " -";
}

// Most I/O failures in the key directory are a missing sudo: say so only when it is the case.
std::string RootHint() {
  return ::geteuid() == 0 ? "" : " (run it as root: sudo)";
}

int ReportVmName(std::string_view vm, std::ostream& err) {
  // The name failed validation, so it is not echoed: it may hold control bytes.
  err << kProgram << "not a Qubes VM name (" << vm.size()
      << " bytes; want ^[a-zA-Z][a-zA-Z0-9_.-]{0,30}$): check the VM name in qvm-ls\n";
  return kDom0ExitUsage;
}

// A key typed or pasted at a terminal is a secret: like a password prompt, it is not echoed
// (no shoulder-surfing, nothing in the scrollback). The terminal's settings are put back when
// the read ends, and also when a signal ends the process during it (Ctrl-C, a hangup): a shell
// left without echo is the one thing worse than an echoed key. One at a time per process.
class TerminalEchoOff {
 public:
  explicit TerminalEchoOff(int fd) : fd_(fd) {
    if (::tcgetattr(fd, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_fd_ = fd;
    active_saved_ = saved_;
    struct sigaction sa {};
    sa.sa_handler = &TerminalEchoOff::RestoreAndReraise;
    sigemptyset(&sa.sa_mask);
    for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &sa, &old_[i]);
    on_ = ::tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
  }
  ~TerminalEchoOff() {
    if (on_) ::tcsetattr(fd_, TCSANOW, &saved_);
    if (active_fd_ >= 0) {
      for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
      active_fd_ = -1;
    }
  }
  TerminalEchoOff(const TerminalEchoOff&) = delete;
  TerminalEchoOff& operator=(const TerminalEchoOff&) = delete;

 private:
  static constexpr std::array<int, 4> kSignals = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

  // Async-signal-safe: tcsetattr, signal and raise only.
  static void RestoreAndReraise(int sig) {
    if (active_fd_ >= 0) ::tcsetattr(active_fd_, TCSANOW, &active_saved_);
    ::signal(sig, SIG_DFL);
    ::raise(sig);
  }

  static inline volatile sig_atomic_t active_fd_ = -1;
  static inline termios active_saved_{};

  const int fd_;
  termios saved_{};
  std::array<struct sigaction, kSignals.size()> old_{};
  bool on_ = false;
};

std::string_view ProblemName(KeyProblem problem) {
  switch (problem) {
    case KeyProblem::kNone:
      return "ok";
    case KeyProblem::kMissing:
      return "missing";
    case KeyProblem::kInvalid:
      return "invalid";
    case KeyProblem::kUntrusted:
      return "untrusted";
    case KeyProblem::kUnreadable:
      return "unreadable";
  }
  return "unknown";
}

}  // namespace

Result<std::string> ReadKeyInput(int fd, bool one_line) {
  std::string text;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return MakeError("io",
                       std::string("cannot read the key from stdin: ") + std::strerror(errno));
    }
    if (n == 0) break;
    // Checked before appending: a hostile or mistaken input never grows past the bound.
    if (text.size() + static_cast<std::size_t>(n) > kMaxKeyInputBytes) {
      return MakeError("bad-key", "more than " + std::to_string(kMaxKeyInputBytes) +
                                      " bytes on stdin: that is not a key");
    }
    text.append(buf, static_cast<std::size_t>(n));
    if (one_line && text.find('\n') != std::string::npos) {
      text.resize(text.find('\n') + 1);
      break;
    }
  }
  if (text.empty()) return MakeError("bad-key", "no key on stdin (it was empty)");
  return text;
}

int AuthorizeCommand(const std::string& key_dir, std::string_view vm,
                     const std::optional<std::string>& key_arg, int in_fd, std::ostream& out,
                     std::ostream& err) {
  if (!IsValidVmName(vm)) return ReportVmName(vm, err);
  std::string text;
  if (!key_arg || *key_arg == "-") {
    const bool terminal = ::isatty(in_fd) == 1;
    std::optional<TerminalEchoOff> echo_off;
    if (terminal) {
      echo_off.emplace(in_fd);
      err << "Paste the key of " << vm << " (64 hex digits, ~/.qvm-remote/auth.key in " << vm
          << "; it is not shown) and press Enter: " << std::flush;
    }
    auto read = ReadKeyInput(in_fd, terminal);
    if (terminal) {
      echo_off.reset();
      err << "\n";  // the Enter the terminal did not echo
    }
    if (!read) {
      err << kProgram << "cannot authorize " << vm << ": " << read.error().message
          << "; pull the key from the VM: " << PullForm(vm) << "\n";
      return kDom0ExitFailure;
    }
    text = std::move(read.value());
  } else {
    // Accepted, as the reference does, but never silently: the key is now in `ps` output for
    // every user, in the shell's history and in sudo's log line.
    err << kProgram << "warning: a key on the command line is visible to every process and in "
        << "sudo's log; next time pull it: " << PullForm(vm) << "\n";
    text = *key_arg;
  }

  auto key = ParseKeyText(text);
  if (!key) {
    err << kProgram << "not a key for " << vm << ": " << key.error().message
        << "; pull it from the VM: " << PullForm(vm) << "\n";
    return kDom0ExitFailure;
  }
  KeyStore store(key_dir);
  if (Status stored = store.Authorize(vm, *key); !stored) {
    const Error& e = stored.error();
    if (e.code == "bad-vm-name") return ReportVmName(vm, err);
    err << kProgram << "cannot authorize " << vm << ": " << e.message;
    if (e.code == "untrusted") {
      err << "; make " << key_dir << " and its parents owned by root and not group/world writable";
    } else {
      err << RootHint();
    }
    err << "\n";
    return kDom0ExitFailure;
  }
  out << "authorized " << vm << " (fingerprint " << KeyFingerprint(*key) << ")\n";
  return kDom0ExitOk;
}

int RevokeCommand(const std::string& key_dir, std::string_view vm, std::ostream& out,
                  std::ostream& err) {
  if (!IsValidVmName(vm)) return ReportVmName(vm, err);
  KeyStore store(key_dir);
  // Read first only to name what was removed; a broken file is removed all the same.
  std::string fingerprint;
  if (auto before = store.Read(vm); before && before->key)
    fingerprint = KeyFingerprint(*before->key);
  if (Status removed = store.Revoke(vm); !removed) {
    const Error& e = removed.error();
    if (e.code == "no-key") {
      err << kProgram << "no key for VM " << vm
          << ": nothing to revoke (qvm-remote-dom0 keys lists the authorized VMs)\n";
    } else {
      err << kProgram << "cannot revoke " << vm << ": " << e.message << RootHint() << "\n";
    }
    return kDom0ExitFailure;
  }
  out << "revoked " << vm;
  if (!fingerprint.empty()) out << " (fingerprint " << fingerprint << ")";
  out << "\n";
  return kDom0ExitOk;
}

int KeysCommand(const std::string& key_dir, std::ostream& out, std::ostream& err) {
  KeyStore store(key_dir);
  auto keys = store.List();
  if (!keys) {
    err << kProgram << "cannot list the keys: " << keys.error().message << RootHint() << "\n";
    return kDom0ExitFailure;
  }
  if (keys->empty()) {
    out << "no keys configured: nothing will run (authorize a VM: "
        << "qvm-run --pass-io VM 'cat ~/.qvm-remote/auth.key' | sudo qvm-remote-dom0 authorize VM "
           "-)\n";
    return kDom0ExitOk;
  }
  std::size_t width = 0;
  for (const KeyInfo& k : *keys) width = std::max(width, k.vm.size());
  for (const KeyInfo& k : *keys) {
    out << k.vm << std::string(width - k.vm.size() + 2, ' ');
    if (k.problem == KeyProblem::kNone) {
      out << k.fingerprint << "\n";
    } else {
      out << ProblemName(k.problem) << ": " << k.reason << "\n";
    }
  }
  return kDom0ExitOk;
}

}  // namespace qvmr
