#!/bin/bash
# End to end over poll: the real qvm-remote in simulated VMs (tools/sim) against the real
# qvm-remote-dom0 serving them through the fake qvm-run. Every client subcommand and every exit
# status the client can give: allowed (exact stdout/stderr, 0), a remote non-zero status, denied
# (126 and the rule's file:line), auth failures (no key in dom0, a wrong key: 255), a malformed
# request written by hand (the .exit/.meta it gets), dom0's timeout (124), no answer (255), Ctrl-C
# before and after the claim (130), --json on non-UTF-8 output, ping, status, key, queue, log,
# history, usage.
# Usage: client_poll_test.sh BIN_DIR (holding qvm-remote and qvm-remote-dom0; a build made with
# -DQVMR_TEST_HOOKS=ON for the no-answer case to take seconds, not 15 s more).
set -euo pipefail
BIN=$(readlink -f "${1:?usage: $0 BIN_DIR}")
REPO=$(cd "$(dirname "$0")/../.." && pwd)
SIMT=$REPO/tools/sim
# Under /tmp whatever TMPDIR says, 0755: the daemon trusts policy and key directories only when
# no parent is group/world-writable (sticky /tmp excepted).
W=$(mktemp -d /tmp/qvmr-e2e.XXXXXX)
chmod 0755 "$W"
S=$W/sim
export SIM_ROOT=$S
# The VMs run a copy of the client from a 0755 directory: the build directory may not be
# readable by the VMs' own uids (a clone under /root), and SIM_ROOT is hidden from them.
B=$W/bin
mkdir -m 0755 "$B" "$S"
install -m 0755 "$BIN/qvm-remote" "$BIN/qvm-remote-dom0" "$B/"
DAEMON_PGID=
FAILS=0

stop_daemon() {
  [[ -n $DAEMON_PGID ]] || return 0
  kill -TERM -- "-$DAEMON_PGID" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 -- "-$DAEMON_PGID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$DAEMON_PGID" 2>/dev/null || true
  DAEMON_PGID=
}
cleanup() {
  stop_daemon
  if ((FAILS)); then
    echo "--- daemon output" >&2
    cat "$W/daemon.out" >&2 || true
  fi
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "FAIL: $*" >&2
  FAILS=$((FAILS + 1))
}

# vm VM SHELL-TEXT: runs SHELL-TEXT in VM (its own /home/user); sets RC, OUT, ERR. Every client
# call carries -t, and the whole call a timeout, so a broken daemon fails the test quickly.
vm() {
  set +e
  timeout 60 "$SIMT/vm" "$1" "$2" </dev/null >"$W/.out" 2>"$W/.err"
  RC=$?
  set -e
  OUT=$(cat "$W/.out")
  ERR=$(cat "$W/.err")
}
# qr VM ARGS-TEXT: qvm-remote ARGS-TEXT in VM.
qr() { vm "$1" "$B/qvm-remote $2"; }

show() { printf 'exit %s\nstdout: %s\nstderr: %s' "$RC" "$OUT" "$ERR"; }
expect_rc() { [[ $RC == "$1" ]] || fail "$2: want exit $1"$'\n'"$(show)"; }
expect_out_is() { [[ $OUT == "$1" ]] || fail "$2: stdout is not '$1'"$'\n'"$(show)"; }
expect_err_is() { [[ $ERR == "$1" ]] || fail "$2: stderr is not '$1'"$'\n'"$(show)"; }
expect_out() { grep -Eq -- "$1" <<<"$OUT" || fail "$2: stdout does not match /$1/"$'\n'"$(show)"; }
expect_err() { grep -Eq -- "$1" <<<"$ERR" || fail "$2: stderr does not match /$1/"$'\n'"$(show)"; }
queue_empty() { # queue_empty VM DIR: nothing left in the VM's queue/DIR
  vm "$1" "ls -A ~/.qvm-remote/queue/$2"
  [[ -z $OUT ]] || fail "$3: queue/$2 of $1 is not empty: $OUT"
}

start_daemon() {
  # Its own session and process group, whose id the pid file holds: stop_daemon ends the daemon
  # and whatever it runs.
  rm -f "$W/daemon.pgid"
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$W/daemon.pgid" \
    "$SIMT/dom0" "$B/qvm-remote-dom0" --root "$S/dom0" \
    --policy-dir "$S/dom0/usr/share/qvm-remote/policies" \
    --policy-dir "$S/dom0/etc/qubes/remote-policy.d" >>"$W/daemon.out" 2>&1 </dev/null &
  for _ in $(seq 100); do
    [[ -s $W/daemon.pgid ]] && break
    sleep 0.05
  done
  DAEMON_PGID=$(cat "$W/daemon.pgid")
}

# --- the simulation ---------------------------------------------------------------------------
# vm1: read-only, plus `sleep <int>` of its own with a 2 s timeout (dom0's timeout case).
# vm2: monitor. nokey: has a key dom0 never got. wrongkey: dom0 holds another key for it.
"$SIMT/new" --policies "$REPO/policies" "$S" vm1 vm2 nokey wrongkey >/dev/null
POLICY=$S/dom0/etc/qubes/remote-policy.d/50-e2e.yaml
cat >"$POLICY" <<'YAML'
version: 1
commands:
  sleep:
    operands_only: true
vms:
  vm1:
    level: read-only
    timeout: 2s
    allow:
      - 'sleep <int>'
  vm2: {level: monitor}
  nokey: {level: read-only}
  wrongkey: {level: read-only}
YAML
SLEEP_RULE_LINE=$(grep -n "'sleep <int>'" "$POLICY" | cut -d: -f1)

# --- no key yet: the client's own refusals (before any daemon) --------------------------------
qr vm1 "-t 5 echo hi"
expect_rc 255 "a command with no key"
expect_err "no key configured" "no key: says so"
expect_err "qvm-remote key gen" "no key: says how to make one"
qr vm1 "key show"
expect_rc 255 "key show with no key"
qr vm1 "status"
expect_rc 1 "status with no key: not responding"
expect_out "^key: +none" "status with no key shows none"

qr vm1 "--help"
expect_rc 0 "--help"
expect_out "^usage: qvm-remote" "--help prints the usage"
qr vm1 "--version"
expect_rc 0 "--version"
expect_out "^qvm-remote [0-9]+\.[0-9]+\.[0-9]+" "--version"
qr vm1 "-t nope echo hi"
expect_rc 255 "a bad -t is usage: 255"
qr vm1 "key frobnicate"
expect_rc 255 "an unknown key command"
qr vm1 "queue frobnicate"
expect_rc 255 "an unknown queue command"

# --- keys: gen, show, import, and dom0 pulls them ---------------------------------------------
for v in vm1 vm2 nokey wrongkey; do
  qr "$v" "key gen"
  expect_rc 0 "key gen in $v"
  expect_out '^[0-9a-f]{64}$' "key gen prints the key"
  # The client names its VM by hostname; in the simulation that is the host's.
  expect_err "qvm-run --pass-io [^ ]+ .* \\| sudo qvm-remote-dom0 authorize [^ ]+ -" "key gen shows the pull form of authorize"
done
qr vm1 "key gen"
expect_rc 255 "key gen never overwrites without --force"
expect_err "--force" "key gen names --force"
for v in vm1 vm2; do
  "$SIMT/dom0" sh -c "cat '$S/vms/$v/home/user/.qvm-remote/auth.key' |
    '$B/qvm-remote-dom0' --root '$S/dom0' authorize $v -" >/dev/null
done
KEY1=$(cat "$S/vms/vm1/home/user/.qvm-remote/auth.key")
qr vm1 "key show"
expect_rc 0 "key show"
expect_out_is "$(printf %s "$KEY1" | sha256sum | cut -c1-16)" "key show prints the fingerprint"
qr vm1 "key show --key"
expect_out_is "$KEY1" "key show --key prints the key"
# wrongkey: dom0 authorizes one key, the VM then imports another.
OTHER=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$OTHER" | "$SIMT/dom0" "$B/qvm-remote-dom0" --root "$S/dom0" authorize wrongkey - >/dev/null
qr wrongkey "key import ${OTHER^^}"
expect_rc 0 "key import (upper case is lowercased)"
qr wrongkey "key gen --force"
expect_rc 0 "key gen --force replaces the key"
qr wrongkey "key import not-a-key"
expect_rc 255 "key import refuses what is not 64 hex"

start_daemon

# --- allowed, remote non-zero, denied ---------------------------------------------------------
qr vm1 "-t 20 echo hello world"
expect_rc 0 "an allowed command"
expect_out_is "hello world" "allowed: exact stdout"
expect_err_is "" "allowed: nothing on stderr"
qr vm1 "-t 20 'qvm-ls --raw-list | grep -c nosuchvm'"
expect_rc 1 "a remote non-zero status is the client's status"
expect_out_is "0" "remote non-zero: its stdout"
qr vm1 "-t 20 qvm-start vm2"
expect_rc 126 "a denied command"
expect_err "denied by dom0 policy" "denied: says so"
expect_err "/policies/10-classes\.yaml:[0-9]+" "denied: the rule's file:line"
qr vm1 "-t 20 --json 'xl dmesg'"
expect_rc 126 "denied, --json"
expect_out '"outcome":"denied"' "denied --json: outcome"
qr vm2 "-t 20 'xl dmesg'"
expect_rc 0 "monitor may read xl dmesg"

# --- a script on stdin, `--` before a subcommand's name, -v --------------------------------------
vm vm1 "printf 'echo from stdin\n' | $B/qvm-remote -t 20"
expect_rc 0 "a script on stdin"
expect_out_is "from stdin" "a script on stdin: its output"
qr vm1 "-t 20 -- ping"
expect_rc 126 "after --, ping is a command for dom0 (which no rule allows)"
expect_err "denied by dom0 policy" "-- ping: dom0 denied the command ping"
qr vm1 "-t 20 -v echo hi"
expect_rc 0 "-v"
expect_err "submitted id=" "-v: says what it submitted"

# --- --json, non-UTF-8 output -----------------------------------------------------------------
qr vm1 "-t 20 --json \"echo -n -e '\\\\0377'\""
expect_rc 0 "--json with a non-UTF-8 stdout"
expect_out '"stdout_b64":"/w=="' "--json: non-UTF-8 stdout as stdout_b64"
expect_out '"outcome":"ok"' "--json: outcome ok"
expect_out '"rule":"[^"]*/policies/10-classes\.yaml:[0-9]+"' "--json: the deciding rule"
qr vm1 "-t 20 --json echo hi"
expect_out '"stdout":"hi\\n"' "--json: UTF-8 stdout as stdout"

# --- dom0's timeout ---------------------------------------------------------------------------
qr vm1 "-t 20 sleep 10"
expect_rc 124 "dom0 kills at the policy's 2 s timeout: 124"
expect_err "deadline" "timeout: says so"
qr vm1 "-t 20 --json sleep 10"
expect_out '"rule":"[^"]*50-e2e\.yaml:'"$SLEEP_RULE_LINE"'"' "timeout --json: the VM's own rule"

# --- auth failures ----------------------------------------------------------------------------
qr nokey "-t 20 echo hi"
expect_rc 255 "a VM whose key dom0 does not have"
expect_err "no valid key" "no key in dom0: says so"
expect_err "qvm-run --pass-io nokey 'cat ~/.qvm-remote/auth.key' \| sudo qvm-remote-dom0 authorize nokey -" \
  "no key in dom0: the pull-form hint"
qr wrongkey "-t 20 echo hi"
expect_rc 255 "a wrong key"
expect_err "the VM's key differs from dom0's" "a wrong key: says so"
grep -q 'vm=wrongkey .*reason=bad-mac' "$S/dom0/var/log/qubes/qvm-remote.log" ||
  fail "dom0's log names bad-mac for wrongkey"
qr nokey "ping"
expect_rc 1 "ping from a VM dom0 refuses: 1"
expect_err "refused this VM" "ping: refused"
qr nokey "status"
expect_rc 1 "status from a VM dom0 refuses: 1"
expect_out "refused this VM" "status: refused"

# --- malformed, by hand as a broken client would write it --------------------------------------
CID=$(date -u +%Y%m%d-%H%M%S)-4242-0123456789abcdef
vm vm1 "q=~/.qvm-remote/queue; printf 'v=2 timeout=5 mac=nothex\n' > \$q/tmp/$CID.auth &&
  mv \$q/tmp/$CID.auth \$q/pending/ && echo 'echo hi' > \$q/tmp/$CID && mv \$q/tmp/$CID \$q/pending/"
for _ in $(seq 300); do
  [[ -e $S/vms/vm1/home/user/.qvm-remote/queue/results/$CID.exit ]] && break
  sleep 0.1
done
R=$S/vms/vm1/home/user/.qvm-remote/queue/results/$CID
[[ -e $R.exit && $(cat "$R.exit") == 255 ]] || fail "a malformed .auth is answered .exit 255"
grep -qx 'outcome=malformed' "$R.meta" 2>/dev/null || fail "malformed: .meta outcome=malformed"
grep -qx 'reason_code=malformed-auth' "$R.meta" 2>/dev/null || fail "malformed: reason_code"
grep -q 'malformed .auth' "$R.err" 2>/dev/null || fail "malformed: .err says why"
[[ ! -s $R.out ]] || fail "malformed: nothing ran"
queue_empty vm1 pending "after a malformed request"

# --- ping, status, queue, log, history while dom0 answers --------------------------------------
qr vm1 "ping"
expect_rc 0 "ping"
expect_out_is "qvm-remote-dom0 is responding." "ping answers"
qr vm1 "status"
expect_rc 0 "status"
expect_out "^key: +[0-9a-f]{16} \(fingerprint\)" "status: the fingerprint"
expect_out "^dom0: +responding" "status: dom0 responding"
qr vm1 "queue status"
expect_rc 0 "queue status"
expect_out "^pending: +0" "queue status: nothing pending"
qr vm1 "queue"
expect_rc 0 "queue alone is queue status"
qr vm1 "queue clean"
expect_rc 0 "queue clean"
expect_out "^removed [0-9]+ file" "queue clean: what it removed"
qr vm1 "log 50"
expect_rc 0 "log"
expect_out "SUBMIT" "log: SUBMIT lines"
expect_out "DONE id=[^ ]+ exit=0" "log: a DONE line"
expect_out "DONE id=[^ ]+ exit=126" "log: the denial's DONE line"
expect_out "QUEUE-CLEAN" "log: the queue clean"
qr vm1 "log 1"
[[ $(wc -l <<<"$OUT") == 1 ]] || fail "log 1 prints one line: $OUT"
qr vm1 "history 50"
expect_rc 0 "history"
expect_out "echo hello world" "history: the commands"
expect_out "^[0-9a-f-]+ +126 " "history: a denied command's status"
qr vm1 "history"
expect_rc 0 "history with no count"
[[ $(grep -c '^[0-9]\{8\}-' <<<"$OUT") == 10 ]] || fail "history shows 10 by default: $OUT"

# --- Ctrl-C after the claim: the request runs on in dom0 ---------------------------------------
# Job control on (set -m) so the background client does not start with SIGINT ignored.
ctrl_c() { # ctrl_c VM CLIENT-ARGS WAIT-FOR: start the client, wait for WAIT-FOR, SIGINT it
  vm "$1" "set -m; $B/qvm-remote $2 & p=\$!; q=~/.qvm-remote/queue
    for i in \$(seq 200); do $3 && break; sleep 0.05; done
    kill -INT \$p; wait \$p; echo \"rc=\$?\""
}
ctrl_c vm1 "-t 20 sleep 5" '[ -n "$(ls -A $q/running)" ]'
expect_out "rc=130" "Ctrl-C after the claim: 130"
expect_err "runs on there" "Ctrl-C after the claim: it runs on in dom0"

# --- dom0 stopped: no answer, Ctrl-C before the claim ------------------------------------------
stop_daemon
vm vm1 "QVM_REMOTE_TEST_GRACE_MS=300 $B/qvm-remote -t 2 echo hi"
expect_rc 255 "no daemon: 255"
expect_err "dom0 is not answering" "no daemon: says dom0 is not answering"
queue_empty vm1 pending "after no answer (withdrawn)"
ctrl_c vm1 "-t 20 echo hi" '[ -n "$(ls -A $q/pending)" ]'
expect_out "rc=130" "Ctrl-C before the claim: 130"
expect_err "withdrawn before dom0 took it" "Ctrl-C before the claim: withdrawn"
queue_empty vm1 pending "after Ctrl-C before the claim"
qr vm1 "ping"
expect_rc 1 "ping with no daemon: 1"
expect_err "NOT responding" "ping with no daemon says so"

# In a sanitizer build the daemon reports what it found on its own stderr, which nothing above reads.
if grep -Eq 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$W/daemon.out"; then
  fail "the daemon reported a sanitizer error (its output follows)"
fi

if ((FAILS)); then
  echo "$FAILS check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
