# Script tests of qvm-remote-policy: each runs the built binary against small policies it writes
# into its own temporary directory. Names: policy_cli_*.
if(TARGET qvm-remote-policy)
  foreach(name check lint test dev_mode list_dump)
    add_test(NAME policy_cli_${name}
             COMMAND /bin/bash ${CMAKE_CURRENT_LIST_DIR}/policy_cli_${name}.sh
                     $<TARGET_FILE:qvm-remote-policy>)
    set_tests_properties(policy_cli_${name} PROPERTIES TIMEOUT 120 LABELS "tools")
  endforeach()
endif()
