// qvm-remote-policy: check, list, lint, test, dev-mode and dump a qvm-remote policy.
// CLI wiring only; each subcommand lives in its own file (policy_tool.h). Exit codes follow
// CONTRACT.md: CLI11's own errors map to 2, `--help` exits 0, and no exception leaves main.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "tools/policy/policy_tool.h"

namespace {

using namespace qvmr;
using namespace qvmr::tool;

void AddCommon(CLI::App* app, CommonOptions& common) {
  app->add_option("--policy-dir", common.policy_dirs,
                  "policy directory (repeatable; replaces the default directories)")
      ->type_name("DIR")
      ->allow_extra_args(false);
  app->add_option("--grants-dir", common.grants_dir,
                  "dev-mode grants directory (default: ROOT/run/qvm-remote/grants)")
      ->type_name("DIR");
  app->add_option("--root", common.root, "prefix of every default dom0 path (tests)")
      ->type_name("DIR");
}

int Run(int argc, char** argv) {
  CLI::App app{"qvm-remote-policy: check, list, lint, test, dev-mode and dump a qvm-remote policy",
               "qvm-remote-policy"};
  app.require_subcommand(1);
  CommonOptions common;
  int rc = kExitUsage;

  CheckOptions check;
  CLI::App* check_cmd = app.add_subcommand("check",
                                           "decide whether VM may run CMD (exit 0 "
                                           "allow, 1 deny, 2 bad policy or usage)");
  check_cmd->add_option("VM", check.vm, "requesting VM")->required();
  check_cmd->add_option("CMD", check.cmd, "command text, as the VM sends it")->required();
  check_cmd->add_flag("--explain", check.explain, "explain the decision (rules with file:line)");
  check_cmd->add_flag("--json", check.json, "print the decision as one JSON object");
  check_cmd->add_option("--at", check.at, "decide at this UTC time (2026-11-23T10:00:00Z)")
      ->type_name("TIME");
  AddCommon(check_cmd, common);

  std::string list_vm;
  CLI::App* list_cmd = app.add_subcommand("list", "what VM may run, with file:line of each rule");
  list_cmd->add_option("VM", list_vm, "VM name")->required();
  AddCommon(list_cmd, common);

  std::vector<std::string> lint_paths;
  CLI::App* lint_cmd = app.add_subcommand(
      "lint", "check the policy (or the PATHs: files or directories) for errors and warnings");
  lint_cmd->add_option("PATH", lint_paths, "policy files or directories to lint");
  AddCommon(lint_cmd, common);

  TestOptions test;
  CLI::App* test_cmd = app.add_subcommand(
      "test", "run the policy's tests: cases (and those in FILEs, loaded as extra policy files)");
  test_cmd->add_option("FILE", test.files, "extra policy files with tests");
  test_cmd->add_flag("--coverage", test.coverage,
                     "list rules no passing allow case used; exit 1 below 100%");
  AddCommon(test_cmd, common);

  CLI::App* dev = app.add_subcommand("dev-mode",
                                     "dev-mode grants: raise a VM's level until a "
                                     "deadline");
  dev->require_subcommand(1);
  std::string grant_vm, grant_duration, grant_level;
  CLI::App* grant_cmd = dev->add_subcommand("grant", "grant VM a level for DURATION");
  grant_cmd->add_option("VM", grant_vm, "VM name")->required();
  grant_cmd->add_option("DURATION", grant_duration, "30m, 2h, 90s")->required();
  grant_cmd->add_option("--level", grant_level, "level (default: the VM's max_dev_mode)")
      ->type_name("LEVEL");
  AddCommon(grant_cmd, common);
  CLI::App* grants_cmd = dev->add_subcommand("list", "list grants, marking expired ones");
  AddCommon(grants_cmd, common);
  std::string revoke_vm;
  CLI::App* revoke_cmd = dev->add_subcommand("revoke", "remove VM's grant");
  revoke_cmd->add_option("VM", revoke_vm, "VM name")->required();
  AddCommon(revoke_cmd, common);

  bool dump_json = false;
  CLI::App* dump_cmd = app.add_subcommand("dump", "print the merged policy");
  dump_cmd->add_flag("--json", dump_json, "as JSON");
  AddCommon(dump_cmd, common);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  Env& env = *Env::Posix();
  if (check_cmd->parsed()) {
    rc = RunCheck(env, common, check);
  } else if (list_cmd->parsed()) {
    rc = RunList(env, common, list_vm);
  } else if (lint_cmd->parsed()) {
    rc = RunLint(env, common, lint_paths);
  } else if (test_cmd->parsed()) {
    test.use_grants = !common.grants_dir.empty();
    rc = RunTests(env, common, test);
  } else if (grant_cmd->parsed()) {
    rc = RunDevModeGrant(env, common, grant_vm, grant_duration, grant_level);
  } else if (grants_cmd->parsed()) {
    rc = RunDevModeList(env, common);
  } else if (revoke_cmd->parsed()) {
    rc = RunDevModeRevoke(env, common, revoke_vm);
  } else if (dump_cmd->parsed()) {
    rc = RunDump(env, common, dump_json);
  }
  std::cout.flush();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "qvm-remote-policy: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "qvm-remote-policy: internal error\n";
  }
  return kExitUsage;
}
