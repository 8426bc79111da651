# tools/demo --check against this build (label "demo"): the newcomer's demo must keep working.
# No install-deps and no build inside ctest: --build-dir points it at this build's binaries.
# Serial: it waits out a 10 s dev-mode grant, which a loaded machine would stretch.
if(TARGET qvm-remote AND TARGET qvm-remote-dom0 AND TARGET qvm-remote-policy)
  add_test(NAME demo_check COMMAND ${PROJECT_SOURCE_DIR}/tools/demo --check --build-dir
                                   ${CMAKE_BINARY_DIR})
  set_tests_properties(demo_check PROPERTIES LABELS "demo" RUN_SERIAL TRUE TIMEOUT 240)
endif()
