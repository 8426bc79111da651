# Schema tests: schema/policy.schema.json against the shipped policies and examples, and against
# the good/bad cases here. Debian's python (python3-jsonschema, python3-yaml), not a PATH python.
add_test(NAME schema_repo_policies
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/check_schema.py ${PROJECT_SOURCE_DIR} repo)
add_test(NAME schema_cases
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/check_schema.py ${PROJECT_SOURCE_DIR} cases)
