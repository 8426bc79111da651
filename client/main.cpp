// qvm-remote: run a command in dom0 from this VM (like ssh). The options and words are the
// reference's (upstream-facts.md §2); the wire is v2 (docs/protocol.md). request.cpp walks one
// request; this file only reads the command line and dispatches.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "client/args.h"
#include "client/history.h"
#include "client/keys.h"
#include "client/queue.h"
#include "client/request.h"
#include "client/wait.h"
#include "engine/base/limits.h"
#include "engine/wire/exit_status.h"
#include "engine/wire/key_fingerprint.h"

namespace qvmr::client {
namespace {

constexpr const char* kVersion = "2.0.0";
// `queue clean` leaves younger files: dom0 refuses a v2 request older than this as stale anyway.
constexpr std::int64_t kCleanOlderThanSeconds = 600;

constexpr const char* kUsage = R"(usage: qvm-remote [-t SEC] [-v] [-q] [--json] COMMAND [ARGS ...]
       COMMAND | qvm-remote
       qvm-remote < script.sh

Execute commands in Qubes OS dom0 from this VM.

options (only before the command; `qvm-remote ls -l` sends `ls -l`):
  -t, --timeout SEC    execution timeout (default: 300; also -tSEC, --timeout=SEC)
  -v, --verbose        increase verbosity
  -q, --quiet          suppress progress output
  --json               print one JSON object {exit, outcome, stdout, stderr, truncated, decision}
  -h, --help           show this help
  --version            show version
  --                   end of options: what follows is always a command for dom0, so
                       `qvm-remote -- ping` runs `ping` in dom0 (the 1.x client ran its own
                       ping even after --)

subcommands:
  key gen [--force]    generate a 256-bit auth key (never overwrites one without --force)
  key show [--key]     print the key's fingerprint (--key: the key itself)
  key import [KEY]     import a hex key (or one line from stdin)
  ping                 check dom0 executor status
  status               key fingerprint, queue counts and a ping
  queue status|clean   show the queue, or remove its files older than 10 minutes
  log [N]              show last N audit entries (default: 20)
  history [N]          show last N commands (default: 10)

exit status: the command's own (killed by signal N: 128+N); 124 timed out; 126 denied by dom0's
policy; 130 interrupted (Ctrl-C); 255 qvm-remote's own failure (usage, no key, refused, dom0
not answering). ping and status: 0 responding, 1 not.

examples:
  qvm-remote qvm-ls
  qvm-remote 'qvm-prefs work memory 4096'
  qvm-remote -t 60 'qvm-shutdown --wait work'
  echo 'xl info' | qvm-remote
  qvm-remote --json qvm-ls --raw-list

key setup (one-time):
  qvm-remote key gen                  generate and store key
  # in dom0, pull it from this VM (never paste a key on a command line):
  qvm-run --pass-io VMNAME 'cat ~/.qvm-remote/auth.key' | sudo qvm-remote-dom0 authorize VMNAME -
)";

int Die(const std::string& line) {
  std::fprintf(stderr, "qvm-remote: %s\n", line.c_str());
  return kExitFailure;
}

// Reads the script from stdin, at most one byte past the limit (its size alone refuses it).
bool ReadScript(std::string* body) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    body->append(buf, static_cast<std::size_t>(n));
    if (body->size() > limits::kMaxBodyBytes) return true;
  }
}

int KeyCommand(const Paths& paths, const std::vector<std::string>& args) {
  if (args.empty()) return Die("key requires: gen | show | import");
  const std::string& act = args[0];
  if (act == "gen") {
    const bool force = args.size() > 1 && args[1] == "--force";
    auto key = GenerateKey(paths, force);
    if (!key) {
      if (key.error().code == "exists") {
        return Die(key.error().message + "; `qvm-remote key gen --force` replaces it (dom0 " +
                   "must then authorize the new one)");
      }
      return Die("failed to write key: " + key.error().message);
    }
    std::printf("%s\n", key->c_str());
    std::fflush(stdout);
    std::fprintf(stderr, "\nKey saved to %s\nRegister in dom0:\n  %s\n", paths.key.c_str(),
                 AuthorizeHint().c_str());
    return 0;
  }
  if (act == "show") {
    auto key = LoadKey(paths);
    if (!key) {
      if (key.error().code == "no-key") return Die("no key configured. Run: qvm-remote key gen");
      return Die(key.error().message);
    }
    const bool whole = args.size() > 1 && args[1] == "--key";
    std::printf("%s\n", whole ? key->c_str() : KeyFingerprint(*key).c_str());
    return 0;
  }
  if (act == "import") {
    std::string text;
    if (args.size() > 1) {
      text = args[1];
    } else {
      char c;
      while (text.size() < 256 && ::read(STDIN_FILENO, &c, 1) == 1) {
        text += c;
        if (c == '\n') break;
      }
    }
    auto key = ImportKey(paths, text);
    if (!key) return Die(key.error().message);
    std::printf("Key imported to %s (fingerprint %s)\n", paths.key.c_str(),
                KeyFingerprint(*key).c_str());
    return 0;
  }
  return Die("unknown key command: " + act);
}

int QueueCommand(const Paths& paths, const std::vector<std::string>& args) {
  const std::string act = args.empty() ? "status" : args[0];
  if (act == "status") {
    const QueueCounts c = CountQueue(paths);
    std::printf("pending:    %d\nrunning:    %d\nresults:    %d\norphan auth: %d\n", c.pending,
                c.running, c.results, c.orphan_auth);
    return 0;
  }
  if (act == "clean") {
    const int removed = CleanQueue(paths, kCleanOlderThanSeconds);
    Audit(paths, "QUEUE-CLEAN removed=" + std::to_string(removed));
    std::printf("removed %d file(s)\n", removed);
    return 0;
  }
  return Die("queue requires: status | clean");
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto inv = ParseArgs(args);
  if (!inv) return Die(inv.error().message + " (see qvm-remote --help)");
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return Die("HOME is not set");
  const Paths paths = Paths::ForHome(home);
  const std::vector<std::string> sub(inv->rest.empty() ? inv->rest.begin() : inv->rest.begin() + 1,
                                     inv->rest.end());
  const CommandOptions options{inv->timeout_seconds, inv->quiet, inv->verbose, inv->json};
  switch (VerbOf(*inv)) {
    case Verb::kHelp:
      std::fputs(kUsage, stdout);
      return 0;
    case Verb::kVersion:
      std::printf("qvm-remote %s%s\n", kVersion,
                  TestHooksBuilt() ? " (test hooks built in: not for production)" : "");
      return 0;
    case Verb::kKey:
      return KeyCommand(paths, sub);
    case Verb::kPing:
      return PingCommand(paths);
    case Verb::kStatus:
      return StatusCommand(paths);
    case Verb::kQueue:
      return QueueCommand(paths, sub);
    case Verb::kLog:
      PrintLog(paths, CountArg(sub, 20));
      return 0;
    case Verb::kHistory:
      PrintHistory(paths, CountArg(sub, 10));
      return 0;
    case Verb::kScript: {
      if (::isatty(STDIN_FILENO)) {
        std::fputs(kUsage, stdout);
        return 0;
      }
      std::string body;
      if (!ReadScript(&body)) return Die("cannot read the script from stdin");
      return RunCommand(paths, options, body);
    }
    case Verb::kCommand:
      return RunCommand(paths, options, CommandText(inv->rest));
  }
  return kExitFailure;
}

}  // namespace
}  // namespace qvmr::client

int main(int argc, char** argv) {
  return qvmr::client::Main(argc, argv);
}
