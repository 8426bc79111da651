#!/bin/sh
# check_links.sh WIRE_ONLY_BINARY CONTROL_BINARY
# The wire-only binary must need neither yaml-cpp nor RE2; the control (which links the policy
# library) must need both, or this check could not tell the difference.
set -u
wire=$1
control=$2
status=0
for lib in libyaml-cpp libre2; do
  if ldd "$wire" | grep -q "$lib"; then
    echo "FAIL: $wire (qvmr_wire + qvmr_base only) links $lib:"
    ldd "$wire" | grep "$lib"
    status=1
  fi
  if ! ldd "$control" | grep -q "$lib"; then
    echo "FAIL: control $control (qvmr_policy) does not show $lib: the check is blind"
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "ok: qvmr_wire carries neither yaml-cpp nor RE2"
exit "$status"
