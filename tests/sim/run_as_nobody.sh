#!/bin/bash
# run_as_nobody.sh SCRIPT [ARGS...]: run a test script as the unprivileged user nobody (65534)
# with a clean environment, so the rootless path (user namespaces) is tested even where CI runs
# as root. Exit 77 (skipped) when not root or when nobody cannot read the script.
set -euo pipefail
script=${1:?usage: run_as_nobody.sh SCRIPT [ARGS...]}; shift
[ "$(id -u)" = 0 ] || { echo "SKIP: not root, cannot switch to nobody"; exit 77; }
command -v setpriv >/dev/null || { echo "SKIP: no setpriv"; exit 77; }
as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs
           env -i PATH=/usr/bin:/bin HOME=/tmp TMPDIR=/tmp LANG=C.UTF-8)
"${as_nobody[@]}" test -r "$script" ||
  { echo "SKIP: nobody cannot read $script (a parent directory is not world-readable)"; exit 77; }
exec "${as_nobody[@]}" /bin/bash "$script" "$@"
