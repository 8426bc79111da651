// The shell executor (`full` only): the VM's text, already judged by the engine (which applied
// `blocked` before answering kShell), is written to a 0700 work file and run as `/bin/bash FILE`.
// Why a file and never `bash -c TEXT`: Linux refuses one exec argument over 128 KiB (E2BIG) and a
// body may be 1 MiB; a file also keeps the text out of every process listing.
//
// The run itself is the argv executor's, with a one-stage plan naming dom0's /bin/bash: the same
// environment, stdin /dev/null, spool, deadline, SIGTERM/2 s/SIGKILL, and containment.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/executor.h"

namespace qvmr {
namespace {

constexpr const char* kBash = "/bin/bash";

// Writes `text` to a new 0700 file at `path` (a stale one of a crashed daemon is replaced).
Status WriteWorkFile(const std::string& path, std::string_view text) {
  (void)unlink(path.c_str());
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
  if (fd < 0) return MakeError("work-file", path + ": " + std::strerror(errno));
  std::size_t done = 0;
  int error_number = 0;
  while (done < text.size()) {
    const ssize_t wrote = write(fd, text.data() + done, text.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      error_number = wrote < 0 ? errno : EIO;
      break;
    }
    done += static_cast<std::size_t>(wrote);
  }
  // The umask may have cut the mode at open; the file must be exactly 0700.
  if (error_number == 0 && fchmod(fd, 0700) != 0) error_number = errno;
  if (close(fd) != 0 && error_number == 0) error_number = errno;
  if (error_number != 0) {
    (void)unlink(path.c_str());
    return MakeError("work-file", path + ": " + std::strerror(error_number));
  }
  return Ok{};
}

// mkdir -p, each new level 0700 (the work directory lives under /run, made on first use).
Status MakeDirs(const std::string& path) {
  for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    const std::string prefix = slash == std::string::npos ? path : path.substr(0, slash);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return MakeError("work-file", prefix + ": " + std::strerror(errno));
    }
    if (slash == std::string::npos) return Ok{};
  }
}

class ShellExecutor : public Executor {
 public:
  ShellExecutor(Processes* processes, Env* env, Containment* containment, std::string work_dir)
      : env_(env),
        argv_(NewArgvExecutor(processes, env, containment)),
        work_dir_(std::move(work_dir)) {}

  ExecResult Run(const Decision& decision, const ExecRequest& request,
                 RequestSpool& spool) override {
    if (!decision.allow || decision.executor != ExecutorKind::kShell ||
        request.exec_path == nullptr || request.vm.empty() || request.cid.empty()) {
      return Refuse("qvm-remote: internal error: no shell command to run\n", spool);
    }
    if (Status made = MakeDirs(work_dir_); !made.ok()) {
      return Refuse("qvm-remote: could not prepare the command: " + made.error().message + "\n",
                    spool);
    }
    // VM name and cid are validated (letters, digits, `_.-`): a safe file name, unique per
    // command (a cid is unique only within its VM).
    const std::string file = work_dir_ + "/" + CellId(request.vm, request.cid) + ".sh";
    Status written = WriteWorkFile(file, request.text);
    if (!written.ok()) {
      return Refuse("qvm-remote: could not prepare the command: " + written.error().message + "\n",
                    spool);
    }

    Decision plan_decision;
    plan_decision.allow = true;
    plan_decision.level = decision.level;
    plan_decision.executor = ExecutorKind::kArgv;
    plan_decision.has_plan = true;
    SimpleCommand bash;
    bash.argv = {kBash, file};
    plan_decision.plan.pipelines.push_back(Pipeline{{bash}});
    plan_decision.plan.connectors.push_back(Connector::kSeq);
    ExecRequest bash_request = request;
    bash_request.argv0_is_dom0_path = true;
    ExecResult result = argv_->Run(plan_decision, bash_request, spool);
    (void)unlink(file.c_str());
    return result;
  }

 private:
  ExecResult Refuse(const std::string& note, RequestSpool& spool) {
    ExecResult result;
    result.started_ms = env_->NowMs();
    spool.err->AppendNote(note);
    spool.out->Finish();
    spool.err->Finish();
    result.notes = note;
    result.outcome = Outcome::kError;
    result.status = OutcomeExitStatus(Outcome::kError);
    result.finished_ms = env_->NowMs();
    return result;
  }

  Env* env_;
  std::unique_ptr<Executor> argv_;
  std::string work_dir_;
};

}  // namespace

std::unique_ptr<Executor> NewShellExecutor(Processes* processes, Env* env, Containment* containment,
                                           std::string work_dir) {
  return std::make_unique<ShellExecutor>(processes, env, containment, std::move(work_dir));
}

}  // namespace qvmr
