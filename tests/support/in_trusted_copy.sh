#!/usr/bin/env bash
# in_trusted_copy.sh SOURCE_DIR COMMAND ARGS...
# Runs COMMAND against a copy of the repository's policy files (policies/, examples/,
# tests/policy/) in a fresh directory under /tmp. The policy loader refuses files when the file or
# any parent directory is writable by group/others or owned by another user, and a CI checkout
# may live anywhere; /tmp (root-owned, sticky) and a directory of our own always pass. Every
# "@SRC@" inside an argument is replaced by the copy's path. Exits with COMMAND's status.
set -euo pipefail
src=${1:?usage: in_trusted_copy.sh SOURCE_DIR COMMAND ARGS...}
shift
tmp=$(mktemp -d /tmp/qvmr-policies.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for d in policies examples tests/policy; do
  [ -d "$src/$d" ] || continue
  mkdir -p "$tmp/$d"
  cp "$src/$d"/*.yaml "$tmp/$d/"
done
find "$tmp" -type d -exec chmod 0755 {} +
find "$tmp" -type f -exec chmod 0644 {} +
args=()
for a in "$@"; do args+=("${a//@SRC@/$tmp}"); done
set +e
"${args[@]}"
rc=$?
set -e
exit "$rc"
