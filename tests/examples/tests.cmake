# The example policies (examples/*.yaml): each one's test cases, run on top of the shipped
# policy as an administrator's drop-in file would be, and a lint of each (errors fail; the
# developer example's max_dev_mode: full warning is intended and does not).
if(TARGET qvm-remote-policy)
  foreach(example ai-agent developer monitoring)
    add_test(NAME example_${example}_tests
             COMMAND ${QVMR_IN_TRUSTED_COPY} $<TARGET_FILE:qvm-remote-policy> test
                     --policy-dir @SRC@/policies
                     @SRC@/examples/${example}.yaml)
    add_test(NAME example_${example}_lint
             COMMAND ${QVMR_IN_TRUSTED_COPY} $<TARGET_FILE:qvm-remote-policy> lint
                     --policy-dir @SRC@/policies
                     @SRC@/examples/${example}.yaml)
    # With the shipped policy's own cases (tests/policy) loaded too, every rule, the example's
    # allow rules included, must be used by a passing allow case.
    add_test(NAME example_${example}_coverage
             COMMAND ${QVMR_IN_TRUSTED_COPY} $<TARGET_FILE:qvm-remote-policy> test --coverage
                     --policy-dir @SRC@/policies
                     --policy-dir @SRC@/tests/policy
                     @SRC@/examples/${example}.yaml)
  endforeach()

  # All three together, as they would sit side by side in /etc/qubes/remote-policy.d/.
  add_test(NAME examples_together_tests
           COMMAND ${QVMR_IN_TRUSTED_COPY} $<TARGET_FILE:qvm-remote-policy> test
                   --policy-dir @SRC@/policies
                   --policy-dir @SRC@/examples)

  # What the tests: cases cannot say: the grant caps. The agent may never be raised to full,
  # nor for longer than 30 minutes; the monitoring qube may have no grant at all. A refused grant
  # exits 2 and writes nothing (the grants directory is never created).
  set(_qvmr_example_grants ${CMAKE_CURRENT_BINARY_DIR}/example-grants-never-written)
  set(_qvmr_example_cases
      "agent_full\;agent\;30m\;--level\;full"
      "agent_too_long\;agent\;31m"
      "monitor_none\;monitor-vm\;10m"
      "dev_too_long\;dev\;3h\;--level\;full")
  foreach(case ${_qvmr_example_cases})
    list(GET case 0 name)
    list(SUBLIST case 1 -1 args)
    add_test(NAME example_grant_refused_${name}
             COMMAND ${QVMR_IN_TRUSTED_COPY} $<TARGET_FILE:qvm-remote-policy> dev-mode grant ${args}
                     --policy-dir @SRC@/policies
                     --policy-dir @SRC@/examples
                     --grants-dir ${_qvmr_example_grants})
    set_tests_properties(example_grant_refused_${name} PROPERTIES
                         PASS_REGULAR_EXPRESSION "grant refused")
  endforeach()
endif()
