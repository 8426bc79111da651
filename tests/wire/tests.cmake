# The fixed script run for real under bash, dash, busybox sh (GNU or busybox applets) and the way
# Qubes' VMShell feeds it (bash -s), its output parsed by the frame readers. Label: wire.
add_executable(fixed_script_test ${CMAKE_CURRENT_LIST_DIR}/fixed_script_test.cpp
                                 ${CMAKE_CURRENT_LIST_DIR}/script_runner.cpp)
target_include_directories(fixed_script_test PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(fixed_script_test PRIVATE qvmr_wire GTest::gmock GTest::gtest_main)
gtest_discover_tests(fixed_script_test DISCOVERY_TIMEOUT 30 PROPERTIES LABELS wire TIMEOUT 120)
