# Differential test of the shell analysis against shfmt's bash parser (see shell_diff.py).
add_executable(plan_dump ${CMAKE_CURRENT_LIST_DIR}/plan_dump.cpp)
target_link_libraries(plan_dump PRIVATE qvmr_engine nlohmann_json::nlohmann_json)
find_program(QVMR_SHFMT shfmt)
if(QVMR_SHFMT)
  add_test(NAME shell_diff_shfmt
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/shell_diff.py
                   --plan-dump $<TARGET_FILE:plan_dump> --shfmt ${QVMR_SHFMT}
                   --corpus ${CMAKE_CURRENT_LIST_DIR}/corpus.json)
  set_tests_properties(shell_diff_shfmt PROPERTIES TIMEOUT 120 LABELS shell)
else()
  message(STATUS "shfmt not found: shell_diff_shfmt test not registered")
endif()
