# Layering (docs/design.md "Layering"): a binary linking only qvmr_wire (+ qvmr_base), as client/
# does, carries neither yaml-cpp nor RE2. The control links qvmr_policy and must show both.
add_executable(wire_only_probe ${CMAKE_CURRENT_LIST_DIR}/wire_only_probe.cpp)
target_link_libraries(wire_only_probe PRIVATE qvmr_wire)
add_executable(layering_policy_probe ${CMAKE_CURRENT_LIST_DIR}/policy_probe.cpp)
target_link_libraries(layering_policy_probe PRIVATE qvmr_policy)
add_test(NAME layering_wire_links_neither_yaml_nor_re2
         COMMAND /bin/sh ${CMAKE_CURRENT_LIST_DIR}/check_links.sh
                 $<TARGET_FILE:wire_only_probe> $<TARGET_FILE:layering_policy_probe>)
set_tests_properties(layering_wire_links_neither_yaml_nor_re2 PROPERTIES LABELS layering)
