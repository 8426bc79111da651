# The simulated dom0 of tools/sim (label "sim"): plain shell tests, no build products needed.
# sim_qvm_run               the isolation mode that works for the test's user (root-uid in CI)
# sim_qvm_run_userns        forced user-namespace isolation (skipped where it does not work)
# sim_qvm_run_none          no isolation: everything but the isolation cases must still hold
# sim_qvm_run_nobody        the whole test as nobody via setpriv: the rootless path (root only)
# Exit 77 = skipped, with the reason in the output.
set(_qvmr_sim_test ${CMAKE_CURRENT_LIST_DIR}/sim_qvm_run_test.sh)
add_test(NAME sim_qvm_run COMMAND /bin/bash ${_qvmr_sim_test})
add_test(NAME sim_qvm_run_userns COMMAND /bin/bash ${_qvmr_sim_test} userns)
add_test(NAME sim_qvm_run_none COMMAND /bin/bash ${_qvmr_sim_test} none)
add_test(NAME sim_qvm_run_nobody
         COMMAND /bin/bash ${CMAKE_CURRENT_LIST_DIR}/run_as_nobody.sh ${_qvmr_sim_test})
set_tests_properties(sim_qvm_run sim_qvm_run_userns sim_qvm_run_none sim_qvm_run_nobody
                     PROPERTIES LABELS "sim" TIMEOUT 180 SKIP_RETURN_CODE 77)
