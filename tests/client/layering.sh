#!/bin/bash
# The VM client links only the wire protocol: its binary must not load the policy engine's
# libraries (yaml-cpp, RE2). A layering rule only a comment states will be broken; this one fails.
set -euo pipefail
bin=$1
libs=$(ldd "$bin")
if grep -E 'libyaml-cpp|libre2' <<<"$libs"; then
  echo "FAIL: $bin links the policy engine's libraries (above)" >&2
  exit 1
fi
echo "ok: $bin links neither yaml-cpp nor RE2"
