# The shipped policy's own test cases and the hazards list, with 100 % rule coverage required.
if(TARGET qvm-remote-policy)
  add_test(NAME shipped_policy_tests
           COMMAND ${QVMR_IN_TRUSTED_COPY} $<TARGET_FILE:qvm-remote-policy> test --coverage
                   --policy-dir @SRC@/policies
                   --policy-dir @SRC@/tests/policy)
  add_test(NAME shipped_policy_lint
           COMMAND ${QVMR_IN_TRUSTED_COPY} $<TARGET_FILE:qvm-remote-policy> lint
                   --policy-dir @SRC@/policies)
endif()
