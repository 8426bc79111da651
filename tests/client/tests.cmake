# qvm-remote, the VM client: unit tests of its pure parts (one gtest program per
# tests/client/*_test.cpp, linking qvmr_client only — the client's own layering), script tests of
# the built binary against tests/client/fake_dom0.py, and the layering check on the binary.
if(TARGET qvm-remote)
  file(GLOB QVMR_CLIENT_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*_test.cpp)
  foreach(src ${QVMR_CLIENT_TEST_SOURCES})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    target_link_libraries(${name} PRIVATE qvmr_client GTest::gmock GTest::gtest_main)
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30 PROPERTIES LABELS client)
  endforeach()

  # One ctest per group so they run in parallel; the deadline group waits the real 15 s grace
  # unless the binary was built with -DQVMR_TEST_HOOKS=ON.
  foreach(group Answers Json Deadlines Refusals Keys PingStatus)
    add_test(NAME client_cli_${group}
             COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/client_cli_test.py
                     $<TARGET_FILE:qvm-remote> ${group})
    set_tests_properties(client_cli_${group} PROPERTIES TIMEOUT 180 LABELS client)
  endforeach()

  add_test(NAME client_layering
           COMMAND /bin/bash ${CMAKE_CURRENT_LIST_DIR}/layering.sh $<TARGET_FILE:qvm-remote>)
  set_tests_properties(client_layering PROPERTIES LABELS "layering;client")
endif()
