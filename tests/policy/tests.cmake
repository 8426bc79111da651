# The shipped policy's own test cases and the hazards list, with 100 % rule coverage required.
if(TARGET qvm-remote-policy)
  add_test(NAME shipped_policy_tests
           COMMAND $<TARGET_FILE:qvm-remote-policy> test --coverage
                   --policy-dir ${PROJECT_SOURCE_DIR}/policies
                   --policy-dir ${PROJECT_SOURCE_DIR}/tests/policy)
  add_test(NAME shipped_policy_lint
           COMMAND $<TARGET_FILE:qvm-remote-policy> lint
                   --policy-dir ${PROJECT_SOURCE_DIR}/policies)
endif()
