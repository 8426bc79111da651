# Helpers for the qvm-remote-policy script tests (sourced; the caller has `set -euo pipefail`).
# Usage of every test: SCRIPT /path/to/qvm-remote-policy
BIN=${1:?usage: $0 /path/to/qvm-remote-policy}
PY=/usr/bin/python3
# Under /tmp whatever TMPDIR says: the policy loader checks every parent directory.
T=$(mktemp -d /tmp/qvmr-cli.XXXXXX)
chmod 0755 "$T"
trap 'rm -rf "$T"' EXIT
FAILS=0

fail() {
  echo "FAIL: $*" >&2
  FAILS=$((FAILS + 1))
}

# run ARGS...: runs the tool; sets RC, OUT (stdout), ERR (stderr).
run() {
  set +e
  "$BIN" "$@" >"$T/.out" 2>"$T/.err"
  RC=$?
  set -e
  OUT=$(cat "$T/.out")
  ERR=$(cat "$T/.err")
}

# expect_rc CODE DESCRIPTION ARGS...
expect_rc() {
  local want=$1 what=$2
  shift 2
  run "$@"
  if [[ $RC != "$want" ]]; then
    fail "$what: exit $RC, want $want (args: $*)"$'\n'"stdout: $OUT"$'\n'"stderr: $ERR"
  fi
}

# expect_out REGEX DESCRIPTION: the last run's stdout matches the (grep -E) regex.
expect_out() {
  grep -Eq -- "$1" <<<"$OUT" || fail "$2: stdout does not match /$1/:"$'\n'"$OUT"
}
expect_no_out() {
  if grep -Eq -- "$1" <<<"$OUT"; then fail "$2: stdout matches /$1/:"$'\n'"$OUT"; fi
}
expect_err() {
  grep -Eq -- "$1" <<<"$ERR" || fail "$2: stderr does not match /$1/:"$'\n'"$ERR"
}

# mkpolicydir DIR: a trusted directory (0755).
mkpolicydir() {
  mkdir -p "$1"
  chmod 0755 "$1"
}

# write FILE < content: a trusted policy file (0644).
write() {
  cat >"$1"
  chmod 0644 "$1"
}

# The base policy most tests share: option tables, three classes, a blocked pattern, two VMs.
write_base_policy() {
  write "$1" <<'YAML'
version: 1
commands:
  qvm-ls:
    options: ['--running', '--halted', '-O|--fields=']
  qvm-prefs:
    options: ['-g|--get']
  qvm-start:
    options: ['-q|--quiet']
  xl:
    options: ['-v']
    permute: false
    verbs:
      list: { options: ['-l|--long'] }
      info: { options: [] }
  grep:
    options: ['-i|--ignore-case', '-v|--invert-match']
classes:
  read-only:
    - 'qvm-ls [--running]'
    - 'qvm-prefs <any-vm> <prop>'
    - 'xl info'
    - { argv: 'grep [-i] <text>', filter: true }
  monitor:
    - 'xl list [-l]'
  manage:
    - 'qvm-start <vm>'
blocked:
  - { pattern: 'rm\s+-rf', reason: 'recursive removal' }
vms:
  agent:
    level: read-only
    allow: [ 'qvm-start --quiet <vm>' ]
    targets: [ sandbox ]
    max_dev_mode: monitor
    max_dev_duration: 1h
  watcher:
    level: monitor
YAML
}

finish() {
  if ((FAILS > 0)); then
    echo "$FAILS assertion(s) failed" >&2
    exit 1
  fi
  echo "all assertions passed"
}
