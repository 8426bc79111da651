# End to end over poll (label "e2e"): the real qvm-remote in tools/sim VMs against the real
# qvm-remote-dom0 serving them through the simulated qvm-run. Serial: it times dom0's 2 s policy
# timeout and the client's deadlines, which a loaded machine would stretch. About 40 s; the
# no-answer case waits 15 s more unless the build has -DQVMR_TEST_HOOKS=ON.
if(TARGET qvm-remote AND TARGET qvm-remote-dom0)
  add_test(NAME e2e_client_poll
           COMMAND /bin/bash ${CMAKE_CURRENT_LIST_DIR}/client_poll_test.sh
                   $<TARGET_FILE_DIR:qvm-remote>)
  set_tests_properties(e2e_client_poll PROPERTIES LABELS "e2e" RUN_SERIAL TRUE TIMEOUT 300)
endif()
