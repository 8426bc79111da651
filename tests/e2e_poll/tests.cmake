# The daemon end to end over `poll` on the simulated dom0 (labels "poll" and "e2e": they are part
# of the weakness suite): the real daemon and client, the fake qvm-run/qvm-ls of tools/sim.
# RUN_SERIAL: they count qvm-run calls and CPU time, and wait on the daemon's own pacing.
# Exit 77 = skipped, with the reason in the output.
if(TARGET qvm-remote-dom0 AND TARGET qvm-remote)
  foreach(_scenario serve faults hostile)
    add_test(NAME poll_e2e_${_scenario}
             COMMAND /bin/bash ${CMAKE_CURRENT_LIST_DIR}/poll_e2e_test.sh
                     $<TARGET_FILE_DIR:qvm-remote-dom0> ${_scenario})
    set_tests_properties(poll_e2e_${_scenario} PROPERTIES LABELS "poll;e2e" TIMEOUT 240
                         RUN_SERIAL TRUE SKIP_RETURN_CODE 77)
  endforeach()
endif()
