#include "client/request.h"

#include <unistd.h>

#include <cstdio>

#include "client/answer.h"
#include "client/history.h"
#include "client/keys.h"
#include "client/wait.h"
#include "engine/base/limits.h"
#include "engine/wire/exit_status.h"
#include "engine/wire/key_fingerprint.h"

namespace qvmr::client {
namespace {

constexpr std::int64_t kPingBudgetMs = 10000;
constexpr std::int64_t kStatusPingBudgetMs = 5000;

void Say(const std::string& line) {
  std::fprintf(stderr, "qvm-remote: %s\n", line.c_str());
}

void SayNoKey(const Paths& paths) {
  Say("no key configured (" + paths.key + "). Run: qvm-remote key gen");
  Say("then in dom0: " + AuthorizeHint());
}

void WriteAllTo(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n <= 0) return;  // a closed pipe: nothing more to show (SIGPIPE ends us by default)
    done += static_cast<std::size_t>(n);
  }
}

// Client-side failure: one line, and the no-answer JSON object when asked for JSON.
int Fail(const CommandOptions& options, int status, const std::string& line) {
  Say(line);
  if (options.json) WriteAllTo(STDOUT_FILENO, AnswerJson(nullptr, status));
  return status;
}

}  // namespace

int RunCommand(const Paths& paths, const CommandOptions& options, const std::string& body) {
  if (body.empty()) return Fail(options, kExitFailure, "empty command");
  if (body.size() > limits::kMaxBodyBytes) {
    return Fail(options, kExitFailure,
                "command too large (" + std::to_string(body.size()) + " > " +
                    std::to_string(limits::kMaxBodyBytes) + " bytes)");
  }
  auto key = LoadKey(paths);
  if (!key) {
    if (key.error().code == "no-key") {
      SayNoKey(paths);
      if (options.json) WriteAllTo(STDOUT_FILENO, AnswerJson(nullptr, kExitFailure));
      return kExitFailure;
    }
    return Fail(options, kExitFailure, key.error().message + "; run: qvm-remote key gen --force");
  }
  if (auto s = EnsureQueueDirs(paths); !s) return Fail(options, kExitFailure, s.error().message);
  auto cid = NewCid();
  if (!cid) return Fail(options, kExitFailure, cid.error().message);

  // Ctrl-C is read by the waiter from here on, so a request is never left half-written. Not
  // earlier: a Ctrl-C while a script is still being read from a pipe must not send what was read.
  BlockSigint();
  Request request{*cid, options.timeout_seconds, false, body};
  if (auto s = Submit(paths, *key, request); !s) {
    return Fail(options, kExitFailure, s.error().message);
  }
  Audit(paths, SubmitLine(*cid, body));
  if (options.verbose) std::fprintf(stderr, "[qvm-remote] submitted id=%s\n", cid->c_str());

  const std::int64_t budget_ms = std::int64_t{options.timeout_seconds} * 1000 + GraceMs();
  WaitBudget budget{budget_ms, budget_ms, std::nullopt, !options.quiet && !options.json,
                    options.timeout_seconds};
  auto waited = WaitFor(paths, *cid, budget);
  if (!waited) {
    Withdraw(paths, *cid);
    return Fail(options, kExitFailure, waited.error().message);
  }
  const std::string where = paths.results + "/" + *cid + ".*";
  switch (waited->end) {
    case WaitEnd::kAnswered:
      break;
    case WaitEnd::kInterrupted:
      if (!waited->claimed && Withdraw(paths, *cid) == Withdrawal::kWithdrawn) {
        Audit(paths, "INTERRUPTED id=" + *cid + " withdrawn");
        return Fail(options, kExitInterrupted,
                    "interrupted; the request was withdrawn before dom0 took it (id=" + *cid + ")");
      }
      Audit(paths, "INTERRUPTED id=" + *cid + " claimed");
      return Fail(options, kExitInterrupted,
                  "interrupted; dom0 had already taken the request and it runs on there; its "
                  "result will appear in " +
                      where);
    case WaitEnd::kNeverClaimed:
      if (Withdraw(paths, *cid) == Withdrawal::kWithdrawn) {
        Audit(paths, "TIMEOUT id=" + *cid + " after=" + std::to_string(options.timeout_seconds) +
                         "s unclaimed");
        return Fail(options, kExitFailure,
                    "dom0 is not answering: nothing took the request within " +
                        std::to_string(options.timeout_seconds) + "s (id=" + *cid +
                        "; withdrawn). Run `qvm-remote status`");
      }
      [[fallthrough]];  // claimed at the last moment: it runs; report it as a timeout
    case WaitEnd::kClaimedNoAnswer:
      Audit(paths,
            "TIMEOUT id=" + *cid + " after=" + std::to_string(options.timeout_seconds) + "s");
      return Fail(options, kExitTimeout,
                  "timed out after " + std::to_string(options.timeout_seconds) + "s (id=" + *cid +
                      "); dom0 took it and may still be running it; its result will appear in " +
                      where);
  }

  auto answer = ReadAnswer(paths, *cid);
  if (!answer) return Fail(options, kExitFailure, answer.error().message);
  const int status = ExitStatusOf(*answer);
  if (options.json) {
    WriteAllTo(STDOUT_FILENO, AnswerJson(&*answer, status));
  } else {
    WriteAllTo(STDOUT_FILENO, answer->out);
    WriteAllTo(STDERR_FILENO, answer->err);
  }
  Audit(paths, "DONE id=" + *cid + " exit=" + std::to_string(status));
  Archive(paths, *cid, body);
  return status;
}

PingResult Ping(const Paths& paths, std::int64_t budget_ms, std::string* detail) {
  auto key = LoadKey(paths);
  if (!key) {
    if (detail != nullptr) *detail = key.error().message;
    return PingResult::kNoKey;
  }
  if (!EnsureQueueDirs(paths)) return PingResult::kNotResponding;
  auto cid = NewCid();
  if (!cid) return PingResult::kNotResponding;
  BlockSigint();
  Request request{*cid, static_cast<std::uint32_t>((budget_ms + 999) / 1000), true, ""};
  if (!Submit(paths, *key, request)) return PingResult::kNotResponding;
  WaitBudget budget{budget_ms, budget_ms, budget_ms, false, 0};
  auto waited = WaitFor(paths, *cid, budget);
  if (!waited || waited->end != WaitEnd::kAnswered) {
    Withdraw(paths, *cid);
    return PingResult::kNotResponding;
  }
  auto answer = ReadAnswer(paths, *cid);
  RemoveResults(paths, *cid);
  if (!answer) return PingResult::kNotResponding;
  if (OutcomeOf(*answer) == "ok") return PingResult::kResponding;
  if (detail != nullptr) {
    *detail = "outcome=" + OutcomeOf(*answer);
    if (answer->meta && !answer->meta->reason_code.empty()) {
      *detail += " reason=" + answer->meta->reason_code;
    }
    if (!answer->err.empty()) *detail += ": " + answer->err.substr(0, answer->err.find('\n'));
  }
  return PingResult::kRefused;
}

int PingCommand(const Paths& paths) {
  std::string detail;
  switch (Ping(paths, kPingBudgetMs, &detail)) {
    case PingResult::kResponding:
      std::printf("qvm-remote-dom0 is responding.\n");
      return 0;
    case PingResult::kNoKey:
      SayNoKey(paths);
      return 1;
    case PingResult::kRefused:
      std::fprintf(stderr, "qvm-remote-dom0 is responding, but refused this VM's ping (%s).\n",
                   detail.c_str());
      std::fprintf(stderr,
                   "Check this VM's key in dom0: qvm-remote-dom0 keys (fingerprint: "
                   "qvm-remote key show); to authorize it:\n  %s\n",
                   AuthorizeHint().c_str());
      return 1;
    case PingResult::kNotResponding:
      break;
  }
  std::fprintf(stderr,
               "qvm-remote-dom0 is NOT responding.\n"
               "\ntroubleshooting:\n"
               "  1. In dom0: systemctl start qvm-remote-dom0\n"
               "  2. In dom0: systemctl status qvm-remote-dom0\n"
               "  3. Check VM is authorized: qvm-remote-dom0 keys\n"
               "  4. Check config: cat /etc/qubes/remote.conf\n");
  return 1;
}

int StatusCommand(const Paths& paths) {
  auto key = LoadKey(paths);
  if (key) {
    std::printf("key:        %s (fingerprint)\n", KeyFingerprint(*key).c_str());
  } else {
    std::printf("key:        none (%s)\n", key.error().message.c_str());
  }
  const QueueCounts c = CountQueue(paths);
  std::printf("pending:    %d\nrunning:    %d\nresults:    %d\norphan auth: %d\n", c.pending,
              c.running, c.results, c.orphan_auth);
  std::string detail;
  const PingResult ping = Ping(paths, kStatusPingBudgetMs, &detail);
  switch (ping) {
    case PingResult::kResponding:
      std::printf("dom0:       responding\n");
      return 0;
    case PingResult::kNoKey:
      std::printf("dom0:       unknown (no key)\n");
      SayNoKey(paths);
      return 1;
    case PingResult::kRefused:
      std::printf("dom0:       responding, but refused this VM (%s)\n", detail.c_str());
      return 1;
    case PingResult::kNotResponding:
      std::printf("dom0:       NOT responding (run `qvm-remote ping` for troubleshooting)\n");
      return 1;
  }
  return 1;
}

}  // namespace qvmr::client
