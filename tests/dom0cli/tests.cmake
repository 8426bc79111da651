# Script test of qvm-remote-dom0's command line: the key subcommands against a temporary --root,
# exit codes, --help and --version.
if(TARGET qvm-remote-dom0)
  add_test(NAME dom0_cli COMMAND /bin/bash ${CMAKE_CURRENT_LIST_DIR}/dom0_cli_test.sh
                                 $<TARGET_FILE:qvm-remote-dom0>)
  set_tests_properties(dom0_cli PROPERTIES TIMEOUT 120 LABELS "daemon")
endif()
