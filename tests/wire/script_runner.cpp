#include "tests/wire/script_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "engine/wire/fixed_script.h"

namespace qvmr::testing {

std::vector<ShellMode> AllShellModes() {
  return {
      {"bash", {"/bin/bash", "-c"}, false, false},
      {"dash", {"/usr/bin/dash", "-c"}, false, false},
      {"busybox_sh", {"/usr/bin/busybox", "sh", "-c"}, false, false},
      {"busybox_sh_applets", {"/usr/bin/busybox", "sh", "-c"}, false, true},
      {"dash_applets", {"/usr/bin/dash", "-c"}, false, true},
      {"vmshell_bash", {"/bin/bash", "-s"}, true, false},
      {"vmshell_bash_applets", {"/bin/bash", "-s"}, true, true},
  };
}

void MakeAppletsDir(const std::string& dir) {
  mkdir(dir.c_str(), 0700);
  for (const char* applet :
       {"stat", "head", "dd", "mv", "ln", "rm", "mkdir", "date", "sleep", "wc"}) {
    std::string link = dir + "/" + applet;
    unlink(link.c_str());
    if (symlink("/usr/bin/busybox", link.c_str()) != 0) std::abort();
  }
}

namespace {

double Now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

ScriptRun RunFixedScript(const ShellMode& mode, const std::string& home, const std::string& cwd,
                         const std::string& data, const std::string& applets_dir) {
  std::string input = data;
  std::vector<std::string> args = mode.argv;
  if (mode.vmshell) {
    // What qubes.VMShell does: bash reads the command line from stdin, then the call's data.
    input = std::string(FixedScript()) + "; exit\n" + data;
  } else {
    args.push_back(FixedScriptCommand());
  }
  std::string path = mode.busybox_applets ? applets_dir : "/usr/bin:/bin";
  std::vector<std::string> env = {"HOME=" + home, "PATH=" + path};

  int in[2], out[2], err[2];
  if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
    if (chdir(cwd.c_str()) != 0) _exit(127);
    std::vector<char*> argv, envp;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  signal(SIGPIPE, SIG_IGN);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  ScriptRun run;
  std::size_t written = 0;
  int in_fd = in[1];
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  bool out_open = true, err_open = true;
  const double deadline = Now() + 30;
  while (out_open || err_open) {
    if (Now() > deadline) {
      kill(pid, SIGKILL);
      run.timed_out = true;
      break;
    }
    pollfd fds[3] = {{out_open ? out[0] : -1, POLLIN, 0},
                     {err_open ? err[0] : -1, POLLIN, 0},
                     {in_fd, POLLOUT, 0}};
    if (poll(fds, 3, 200) < 0 && errno != EINTR) std::abort();
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? run.out : run.err).append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EAGAIN) {
        (i == 0 ? out_open : err_open) = false;
      }
    }
    if (in_fd >= 0 && fds[2].revents != 0) {
      ssize_t n = write(in_fd, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN) written = input.size();  // the script stopped reading
      if (written == input.size()) {
        close(in_fd);
        in_fd = -1;
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  close(out[0]);
  close(err[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  run.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  return run;
}

}  // namespace qvmr::testing
