// qvm-remote-dom0: the dom0 daemon (run mode, the default) and its key subcommands
// (`authorize`, `revoke`, `keys`). Command-line wiring only: RunDaemon (daemon.h) is the daemon,
// key_commands.h the subcommands, and signals are RunDaemon's business.
//
// Exit codes (CONTRACT.md "Exit codes and outcomes"): 0 success, 1 a runtime failure, 2 usage.
// CLI11's own parse errors are usage (2); `--help` and `--version` exit 0. A VM name that is not
// a Qubes name is usage (2): it is refused while parsing, before it can become a file name. A text
// that is not a key is a runtime refusal (1), wherever it came from. Every error is one line on
// stderr starting `qvm-remote-dom0: `; no exception leaves main.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <exception>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "daemon/daemon.h"
#include "daemon/key_commands.h"
#include "daemon/paths.h"
#include "daemon/service_commands.h"
#include "engine/base/units.h"
#include "engine/base/vm_name.h"

#ifndef QVMR_VERSION
#error "QVMR_VERSION must be defined by the build (daemon/CMakeLists.txt)"
#endif

namespace {

using namespace qvmr;

// What `--version` prints. A build with the test hooks (a wall-clock offset, crash points:
// DESIGN.md) must say so, so that such a binary is never mistaken for a release.
#ifdef QVMR_TEST_HOOKS
constexpr const char* kVersionLine =
    "qvm-remote-dom0 " QVMR_VERSION " (test hooks: not for production)";
#else
constexpr const char* kVersionLine = "qvm-remote-dom0 " QVMR_VERSION;
#endif

constexpr const char* kFooter = R"(EXIT STATUS
  0 success, 1 runtime failure, 2 usage error.

EXAMPLES
  Run one sweep of VM work's queue, then exit:
    sudo qvm-remote-dom0 --once --vm work
  Authorize VM work, pulling its key from the VM (never type a key on a command line):
    qvm-run --pass-io work 'cat ~/.qvm-remote/auth.key' | sudo qvm-remote-dom0 authorize work -
  List the authorized VMs and their key fingerprints:
    sudo qvm-remote-dom0 keys
  Revoke VM work's key (takes effect at its next request):
    sudo qvm-remote-dom0 revoke work
  Run the daemon as a systemd service (shows the risk first):
    sudo qvm-remote-dom0 enable
  A simulated dom0 (no Qubes needed; VM homes are directories):
    qvm-remote-dom0 --root /tmp/sim/dom0 --transport local --local-dir /tmp/sim/vms --once)";

// Validators return "" when the value is acceptable, else the message CLI11 reports (as usage).
std::string CheckVmName(const std::string& vm) {
  // The value is not echoed: it failed validation and may hold control bytes.
  return IsValidVmName(vm) ? "" : "not a Qubes VM name (want ^[a-zA-Z][a-zA-Z0-9_.-]{0,30}$)";
}

std::string CheckAbsolute(const std::string& dir) {
  return !dir.empty() && dir.front() == '/' ? "" : "must be an absolute path";
}

std::string CheckNonEmpty(const std::string& dir) {
  return dir.empty() ? "must not be empty" : "";
}

// `--root /srv/dom0/` and `--root /srv/dom0` name one tree; `--root /` is the real dom0.
std::string NormalizeRoot(std::string root) {
  while (!root.empty() && root.back() == '/') root.pop_back();
  return root;
}

// Directories other than the root may be given relative to where the command runs; the daemon
// must not depend on its working directory afterwards, so they become absolute here (lexically:
// no symlink is resolved, the trust checks judge the path as given).
std::string Absolute(const std::string& dir) {
  return std::filesystem::absolute(dir).lexically_normal().string();
}

int UsageError(const std::string& message) {
  std::cerr << "qvm-remote-dom0: " << message << " (see qvm-remote-dom0 --help)\n";
  return kDom0ExitUsage;
}

// CLI11 messages may span lines; ours are one line each.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

void AddRoot(CLI::App* app, std::string& root) {
  app->add_option("--root", root,
                  "prefix of every configuration and state path, never of programs (tests, "
                  "the simulated dom0)")
      ->type_name("DIR")
      ->check(CheckAbsolute);
}

int Run(int argc, char** argv) {
  CLI::App app{
      "qvm-remote-dom0: run the qvm-remote daemon (the default: sweep the VMs' queues, decide "
      "each request by policy, run what is allowed) or manage the VMs' keys",
      "qvm-remote-dom0"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", kVersionLine, "print the version and exit");
  app.footer(kFooter);

  DaemonOptions options;
  std::string transport = "poll";
  std::vector<CLI::Option*> run_only;  // options that mean nothing to a subcommand
  run_only.push_back(app.add_flag("--once", options.once,
                                  "one sweep: run what is queued, deliver the results, exit"));
  run_only.push_back(app.add_flag("--dry-run", options.dry_run,
                                  "decide and answer every request, run nothing "
                                  "(output: [dry-run] and the plan)"));
  run_only.push_back(app.add_option("--vm", options.vms,
                                    "serve only this VM (repeatable; default: QVM_REMOTE_VMS in "
                                    "remote.conf)")
                         ->type_name("VM")
                         ->check(CheckVmName));
  AddRoot(&app, options.root);
  run_only.push_back(app.add_option("--policy-dir", options.policy_dirs,
                                    "policy directory (repeatable; replaces the default ones)")
                         ->type_name("DIR")
                         ->check(CheckNonEmpty));
  run_only.push_back(
      app.add_option("--grants-dir", options.grants_dir,
                     "dev-mode grants directory (default: ROOT/run/qvm-remote/grants)")
          ->type_name("DIR")
          ->check(CheckNonEmpty));
  run_only.push_back(app.add_option("--local-dir", options.local_dir,
                                    "with --transport local: the directory of VM homes "
                                    "(DIR/<vm>/.qvm-remote/queue/)")
                         ->type_name("DIR")
                         ->check(CheckNonEmpty));
  run_only.push_back(app.add_option("--transport", transport,
                                    "how queues are reached: poll (qvm-run; the default), watch "
                                    "(poll until watch exists), local (directories, needs "
                                    "--local-dir)")
                         ->type_name("poll|watch|local")
                         ->check(CLI::IsMember({"poll", "watch", "local"}).description("")));
  run_only.push_back(app.add_option("--workers", options.workers,
                                    "requests run at once, all VMs together (1-256; default 8)")
                         ->type_name("N")
                         ->check(CLI::Range(std::size_t{1}, std::size_t{256}).description("")));
  run_only.push_back(
      app.add_option("--containment", options.containment,
                     "how a command's whole process tree is bounded and killed: auto (the first "
                     "that works of cgroup2, hybrid, pidns, subreaper), or one of them, or none")
          ->type_name("MECHANISM")
          ->check(CLI::IsMember({"auto", "cgroup2", "hybrid", "pidns", "subreaper", "none"})
                      .description("")));
  run_only.push_back(app.add_option("--max-pids", options.max_pids,
                                    "processes and threads one command may have, where a pids "
                                    "cgroup exists (8-65536; default 512)")
                         ->type_name("N")
                         ->check(CLI::Range(8, 65536).description("")));
  run_only.push_back(app.add_option("--max-memory", options.max_memory_bytes,
                                    "memory one command may use: a cgroup cap where writable, "
                                    "else RLIMIT_AS per process (e.g. 512M; default 1G)")
                         ->transform(CLI::AsSizeValue(false).description(""))
                         ->type_name("SIZE"));
  run_only.push_back(
      app.add_option("--journal-cap", options.journal_cap,
                     "replay-journal entries kept for v2 requests (1-10000000; default 20000)")
          ->type_name("N")
          ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}).description("")));
  run_only.push_back(
      app.add_option("--journal-cap-v1", options.journal_cap_v1,
                     "replay-journal entries kept for v1 requests (1-10000000; default 50000)")
          ->type_name("N")
          ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}).description("")));

  std::string spool_quota;
  run_only.push_back(app.add_option("--spool-quota", spool_quota,
                                    "what one VM's output spool may hold, results waiting for "
                                    "delivery included (default 256MiB; past it: error)")
                         ->type_name("SIZE"));
  run_only.push_back(
      app.add_option("--vm-rate", options.vm_rate,
                     "requests admitted per second per VM, burst 64; more wait in the VM "
                     "(1-10000; default 10)")
          ->type_name("N")
          ->check(CLI::Range(std::uint32_t{1}, std::uint32_t{10000}).description("")));

  std::string vm;
  std::optional<std::string> key_arg;
  CLI::App* authorize = app.add_subcommand(
      "authorize",
      "store VM's key: read from stdin with - (or with no KEY on a pipe); a KEY argument works "
      "but is visible to every process");
  authorize->add_option("VM", vm, "the VM")->required()->check(CheckVmName);
  authorize->add_option("KEY", key_arg, "the key (64 hex digits), or - for stdin");
  AddRoot(authorize, options.root);

  CLI::App* revoke = app.add_subcommand("revoke", "remove VM's key: its requests are refused");
  revoke->add_option("VM", vm, "the VM")->required()->check(CheckVmName);
  AddRoot(revoke, options.root);

  CLI::App* keys = app.add_subcommand("keys", "list the authorized VMs and key fingerprints");
  AddRoot(keys, options.root);

  bool yes = false;
  CLI::App* enable = app.add_subcommand(
      "enable", "enable and start the systemd service (shows the risk; asks for 'yes')");
  enable->add_flag("--yes", yes, "accept the risk without being asked");
  AddRoot(enable, options.root);
  CLI::App* disable = app.add_subcommand("disable", "disable and stop the systemd service");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return UsageError(OneLine(e.what()));
  }

  options.root = NormalizeRoot(options.root);
  const std::string key_dir = DaemonPaths::Under(options.root).key_dir;
  const bool subcommand = !app.get_subcommands().empty();
  if (subcommand) {
    for (const CLI::Option* opt : run_only) {
      if (opt->count() > 0) {
        return UsageError(opt->get_name() + " is a run-mode option; give it without a subcommand");
      }
    }
  }
  if (authorize->parsed()) {
    return AuthorizeCommand(key_dir, vm, key_arg, STDIN_FILENO, std::cout, std::cerr);
  }
  if (revoke->parsed()) return RevokeCommand(key_dir, vm, std::cout, std::cerr);
  if (keys->parsed()) return KeysCommand(key_dir, std::cout, std::cerr);
  if (enable->parsed()) return EnableCommand(options.root, yes, std::cin, std::cout, std::cerr);
  if (disable->parsed()) return DisableCommand(std::cout, std::cerr);

  if (!spool_quota.empty()) {
    auto bytes = ParseSizeBytes(spool_quota, 1ULL << 50);
    if (!bytes || *bytes == 0) return UsageError("--spool-quota: not a size (e.g. 256MiB)");
    options.spool_quota = *bytes;
  }
  if (transport == "local") {
    options.transport = TransportChoice::kLocal;
    if (options.local_dir.empty()) {
      return UsageError("--transport local needs --local-dir DIR (the directory of VM homes)");
    }
  } else {
    options.transport = transport == "watch" ? TransportChoice::kWatch : TransportChoice::kPoll;
    if (!options.local_dir.empty()) {
      return UsageError("--local-dir is for --transport local only");
    }
  }
  for (std::string& dir : options.policy_dirs) dir = Absolute(dir);
  if (!options.grants_dir.empty()) options.grants_dir = Absolute(options.grants_dir);
  if (!options.local_dir.empty()) options.local_dir = Absolute(options.local_dir);
  std::cout.flush();
  return RunDaemon(options);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "qvm-remote-dom0: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "qvm-remote-dom0: internal error\n";
  }
  return kDom0ExitFailure;
}
