# End to end over poll (label "e2e"): the real qvm-remote in tools/sim VMs against the real
# qvm-remote-dom0 serving them through the simulated qvm-run.
# e2e_client_poll          as the test's user (root in CI: root-uid isolation)
# e2e_client_poll_nobody   as nobody via setpriv: the rootless path (skipped, 77, unless root)
# Serial: they time dom0's 2 s policy timeout and the client's deadlines, which a loaded machine
# would stretch. About 40 s each; the no-answer case waits 15 s more unless the build has
# -DQVMR_TEST_HOOKS=ON.
if(TARGET qvm-remote AND TARGET qvm-remote-dom0)
  set(_qvmr_e2e ${CMAKE_CURRENT_LIST_DIR}/client_poll_test.sh)
  add_test(NAME e2e_client_poll COMMAND /bin/bash ${_qvmr_e2e} $<TARGET_FILE_DIR:qvm-remote>)
  add_test(NAME e2e_client_poll_nobody
           COMMAND /bin/bash ${PROJECT_SOURCE_DIR}/tests/sim/run_as_nobody.sh ${_qvmr_e2e}
                   $<TARGET_FILE_DIR:qvm-remote>)
  set_tests_properties(e2e_client_poll e2e_client_poll_nobody PROPERTIES
                       LABELS "e2e" RUN_SERIAL TRUE TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()

# e2e_weakness_auth: one case per request-side weakness of the reference (DESIGN.md "Known
# weaknesses"), through the real client and daemon over poll: replays (same VM, another VM, after
# a restart), a body swapped under a valid token, the reference's non-atomic v1 writes, silent
# refusals, crafted names, a grant's expiry, a broken policy edit. About 90 s.
if(TARGET qvm-remote AND TARGET qvm-remote-dom0 AND TARGET qvm-remote-policy)
  add_test(NAME e2e_weakness_auth
           COMMAND /bin/bash ${CMAKE_CURRENT_LIST_DIR}/weakness_auth_test.sh
                   $<TARGET_FILE_DIR:qvm-remote> $<TARGET_FILE:qvm-remote-policy>)
  set_tests_properties(e2e_weakness_auth PROPERTIES
                       LABELS "e2e" RUN_SERIAL TRUE TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()

# e2e_weakness_exec: the reference's execution-side weaknesses over poll (tests/e2e/
# weakness_exec_test.sh): 2 VMs x 20 parallel commands, the timeout and background jobs killing
# the whole tree, an output flood, kill -9 mid-command, FIFOs, a halted VM, a VM's lying tools.
# e2e_weakness_exec_subreaper: the same with --containment subreaper, the unprivileged fallback
# (what a rootless daemon gets where no cgroup or PID namespace is available).
# Serial: they count qvm-run calls and processes, and wait on the daemon's own pacing. About 60 s
# each.
if(TARGET qvm-remote AND TARGET qvm-remote-dom0)
  set(_qvmr_weakness_exec ${CMAKE_CURRENT_LIST_DIR}/weakness_exec_test.sh)
  add_test(NAME e2e_weakness_exec
           COMMAND /bin/bash ${_qvmr_weakness_exec} $<TARGET_FILE_DIR:qvm-remote>)
  add_test(NAME e2e_weakness_exec_subreaper
           COMMAND /bin/bash ${_qvmr_weakness_exec} $<TARGET_FILE_DIR:qvm-remote> subreaper)
  set_tests_properties(e2e_weakness_exec e2e_weakness_exec_subreaper PROPERTIES
                       LABELS "e2e" RUN_SERIAL TRUE TIMEOUT 300 SKIP_RETURN_CODE 77
                       ENVIRONMENT "QVMR_SANITIZED=$<IF:$<BOOL:${QVMR_SANITIZE}>,ON,OFF>")
endif()
