#!/bin/bash
# End to end over poll, one case per request-side weakness of the reference (DESIGN.md "Known
# weaknesses of the reference", issue 16): the real qvm-remote in simulated VMs (tools/sim)
# against the real qvm-remote-dom0 on --transport poll (the default), reached through the fake
# qvm-run. What each case asserts is an outcome a wrong daemon would not give: exit codes, exact
# output, the answer's .meta outcome/reason_code, journal rows, the daemon's EXEC/REPLAY lines,
# and a side-effect marker (a `mark WORD` tool in dom0's exec path that appends WORD to a file).
#   replay_same_vm, replay_other_vm, replay_after_restart, body_swap, v1_nonatomic_writes,
#   silent_failures, crafted_names, grant_expiry, policy_edit
# Usage: weakness_auth_test.sh BIN_DIR POLICY_TOOL (BIN_DIR holds qvm-remote and qvm-remote-dom0;
# POLICY_TOOL is qvm-remote-policy). Exit 77 = skipped, with the reason. About 50 s (a loaded
# 2-core machine included). KEEP=1 keeps the scratch directory.
# Requests are staged before dom0 sees them with the VM marked halted (dom0 makes no call to a
# halted VM) or the daemon stopped; files the daemon's fetch may be reading are only ever swapped
# by rename (its script runs every second and recreates missing queue directories).
set -euo pipefail
BIN=$(readlink -f "${1:?usage: $0 BIN_DIR POLICY_TOOL}")
POLICY_TOOL=$(readlink -f "${2:?usage: $0 BIN_DIR POLICY_TOOL}")
REPO=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd -P)
SIMT=$REPO/tools/sim
for t in sqlite3 openssl; do
  command -v "$t" >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }
done
# Under /tmp whatever TMPDIR says, 0755: the daemon trusts policy, key and exec-path directories
# only when no parent is group/world-writable (sticky /tmp excepted).
W=$(mktemp -d /tmp/qvmr-weak-auth.XXXXXX)
chmod 0755 "$W"
S=$W/sim
export SIM_ROOT=$S
# The VMs run a copy of the client from a 0755 directory (SIM_ROOT is hidden from them).
B=$W/bin
mkdir -m 0755 "$B" "$W/saved"
install -m 0755 "$BIN/qvm-remote" "$BIN/qvm-remote-dom0" "$POLICY_TOOL" "$B/"
DOUT=$W/daemon.out
: >"$DOUT"
DAEMON_PGID=
FAILS=0

stop_daemon() {
  [[ -n $DAEMON_PGID ]] || return 0
  kill -TERM -- "-$DAEMON_PGID" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 -- "-$DAEMON_PGID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$DAEMON_PGID" 2>/dev/null || true
  DAEMON_PGID=
}
cleanup() {
  local rc=$?
  stop_daemon
  local p
  for p in "$W"/c.*.pid "$W"/v1.*.pid; do
    [[ -s $p ]] && kill "$(cat "$p")" 2>/dev/null || true
  done
  if ((FAILS)) || { [[ $rc != 0 && $rc != 77 ]]; }; then
    echo "--- daemon output (last 80 lines)" >&2
    tail -n 80 "$DOUT" >&2 || true
  fi
  [[ -n ${KEEP:-} ]] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'echo "FAIL: stopped at line $LINENO: $BASH_COMMAND" >&2' ERR

fail() {
  echo "FAIL: $*" >&2
  FAILS=$((FAILS + 1))
}
ok() { echo "ok: $*"; }
eq() { if [[ $2 == "$3" ]]; then ok "$1"; else fail "$1: want [$2], got [$3]"; fi; }
has() { if grep -Eq -- "$2" <<<"$3"; then ok "$1"; else fail "$1: /$2/ not in [$3]"; fi; }
hasnt() { if grep -Eq -- "$2" <<<"$3"; then fail "$1: /$2/ in [$3]"; else ok "$1"; fi; }
# wait_for DESC SECONDS 'SHELL CODE': evaluates the code every 0.2 s; a failed check if it never
# succeeds within the bound (returns 1; callers go on, so one case's failure reports the rest).
wait_for() {
  local d=$1 n=$(($2 * 5))
  shift 2
  while ! eval "$*" 2>/dev/null; do
    n=$((n - 1))
    ((n > 0)) || { fail "$d: not within the bound"; return 1; }
    sleep 0.2
  done
}

Q() { echo "$S/vms/$1/home/user/.qvm-remote/queue"; }
H() { echo "$S/vms/$1/home/user/.qvm-remote/history"; }
JOURNAL=$S/dom0/var/lib/qvm-remote/journal.db
LOG=$S/dom0/var/log/qubes/qvm-remote.log
MARKS=$W/marks
: >"$MARKS"
# Lines of the daemon's log (all its runs) matching an ERE; occurrences of a mark.
lines() { grep -Ec -- "$1" "$LOG" 2>/dev/null || true; }
marks() { grep -cx -- "$1" "$MARKS" || true; }
calls() { awk -v vm="$1" '$2 == vm' "$S/qvm-run.log" 2>/dev/null | wc -l | tr -d ' '; }
rows() { sqlite3 "$JOURNAL" "select count(*) from requests where vm='$1' and cid='$2'" 2>/dev/null; }
state_of() { sqlite3 "$JOURNAL" "select state from requests where vm='$1' and cid='$2'" 2>/dev/null; }
meta() { sed -n "s/^$2=//p" "$1" 2>/dev/null; } # meta FILE KEY
# Names of a VM's queue directory that belong to a cid (the cid itself, cid.*).
entries_of() { (cd "$(Q "$1")/$2" && ls -A | grep -F -- "$3" || true); }
# The one body (a name without .auth) in a VM's pending/.
staged_cid() { (cd "$(Q "$1")/pending" && ls -A | grep -v '\.auth$' || true); }
# halt VM: marks VM halted, then waits until no dom0 call to VM is under way (the daemon's own
# children): a fetch that had started before (it waits up to 1 s in the VM for requests) would
# claim one written meanwhile. A call that starts later finds the mark and runs nothing.
halt() {
  touch "$S/vms/$1/halted"
  wait_for "no dom0 call to $1 under way" 30 "! pgrep -P '$DAEMON_PGID' -f -- '--no-autostart -- $1 ' >/dev/null"
}
unhalt() { rm -f "$S/vms/$1/halted"; }

# vm VM SHELL-TEXT: runs SHELL-TEXT in VM; sets RC, OUT, ERR.
vm() {
  set +e
  timeout 100 "$SIMT/vm" "$1" "$2" </dev/null >"$W/.out" 2>"$W/.err"
  RC=$?
  set -e
  OUT=$(cat "$W/.out")
  ERR=$(cat "$W/.err")
}
# client_bg TAG VM ARGS: the real client in VM, in the background; client_done TAG waits for it
# (bounded) and sets RC, OUT, ERR. Every client has -t 60: far from reached when dom0 answers.
client_bg() {
  rm -f "$W/c.$1.rc"
  (
    set +e
    timeout 100 "$SIMT/vm" "$2" "$B/qvm-remote -t 60 $3" </dev/null >"$W/c.$1.out" 2>"$W/c.$1.err" &
    echo $! >"$W/c.$1.pid" # the cleanup's to end
    wait $!
    echo $? >"$W/c.$1.rc.tmp" && mv "$W/c.$1.rc.tmp" "$W/c.$1.rc"
  ) &
}
client_done() {
  RC=none OUT= ERR=
  wait_for "client $1 ends" 110 "test -s '$W/c.$1.rc'" || return 0
  RC=$(cat "$W/c.$1.rc")
  OUT=$(cat "$W/c.$1.out")
  ERR=$(cat "$W/c.$1.err")
}
client() { client_bg fg "$1" "$2" && client_done fg; }
show() { printf 'exit %s, stdout [%s], stderr [%s]' "$RC" "$OUT" "$ERR"; }
expect_rc() { if [[ $RC == "$1" ]]; then ok "$2"; else fail "$2: want exit $1: $(show)"; fi; }
# An answer from dom0, not the client's own deadline: the client never says it gave up waiting.
answered_not_waited_out() {
  hasnt "$1: dom0 answered, the client did not wait out its deadline" \
    "dom0 is not answering|timed out after" "$ERR"
}
# A cid's answer the client archived: history/<day>/<cid>/meta.
archived_meta() { ls "$(H "$1")"/*/"$2"/meta 2>/dev/null | head -n 1 || true; }
# A checksum of the answer the client archived for a cid.
archived_sum() { cat "$(H "$1")"/*/"$2"/* 2>/dev/null | md5sum || true; }

start_daemon() {
  local n0
  n0=$(grep -c "serving .* VMs over poll" "$DOUT" || true)
  rm -f "$W/daemon.pgid"
  # Its cwd is a directory of its own: a crafted name run as code would create its file there.
  mkdir -p "$W/dom0-cwd"
  (cd "$W/dom0-cwd" && exec setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$W/daemon.pgid" \
    "$SIMT/dom0" "$B/qvm-remote-dom0" --root "$S/dom0" \
    --policy-dir "$S/dom0/usr/share/qvm-remote/policies" \
    --policy-dir "$S/dom0/etc/qubes/remote-policy.d" >>"$DOUT" 2>&1 </dev/null) &
  for _ in $(seq 100); do
    [[ -s $W/daemon.pgid ]] && break
    sleep 0.05
  done
  DAEMON_PGID=$(cat "$W/daemon.pgid")
  wait_for "the daemon serves" 30 \
    'test "$(grep -c "serving .* VMs over poll" "$DOUT")" -gt "$n0"'
}

# put_back VM CID: the saved body and .auth of CID into VM's pending/, as a VM would copy them:
# each made in tmp/ with the VM's ownership, renamed in, .auth first.
put_back() {
  local q
  q=$(Q "$1")
  cp "$W/saved/$2.auth" "$q/tmp/$2.auth"
  cp "$W/saved/$2" "$q/tmp/$2"
  chown --reference="$q/pending" "$q/tmp/$2.auth" "$q/tmp/$2"
  mv "$q/tmp/$2.auth" "$q/pending/$2.auth"
  mv "$q/tmp/$2" "$q/pending/$2"
}
# settle VM: two more dom0 calls to VM after now: a fetch and whatever delivery it led to are
# done, so an answer that was coming has arrived.
settle() {
  local c
  c=$(calls "$1")
  wait_for "two more dom0 calls to $1" 30 "test \"\$(calls $1)\" -ge $((c + 2))" || true
}

# --- the simulation -------------------------------------------------------------------------
# vm1: read-only, v2 only. vm2: another VM. v1vm: accept_v1. nokey: dom0 never got its key.
# wrongkey: dom0 holds another key. devvm: read-only, may be granted monitor.
mode=$("$SIMT/new" --policies "$REPO/policies" "$S" vm1 vm2 v1vm nokey wrongkey devvm 2>"$W/new.err") ||
  { cat "$W/new.err" >&2; exit 1; }
echo "isolation: $mode"
POLICY=$S/dom0/etc/qubes/remote-policy.d/50-e2e.yaml
cat >"$POLICY" <<'YAML'
version: 1
commands:
  mark: {options: []}
vms:
  vm1: {level: read-only, allow: ['mark <word>']}
  vm2: {level: read-only, allow: ['mark <word>']}
  v1vm: {level: read-only, allow: ['mark <word>'], accept_v1: true}
  nokey: {level: read-only, allow: ['mark <word>']}
  wrongkey: {level: read-only, allow: ['mark <word>']}
  devvm: {level: read-only, max_dev_mode: monitor}
YAML
cp -p "$POLICY" "$W/policy.good"
# The side-effect marker: a program in dom0's exec path (the daemon runs commands with a clean
# environment, so the marks file's path is baked in).
printf '#!/bin/sh\nprintf "%%s\\n" "$*" >> %s\necho "marked $*"\n' "$MARKS" >"$S/dom0/exec-bin/mark"
chmod 0755 "$S/dom0/exec-bin/mark"
for v in vm1 vm2 v1vm nokey wrongkey devvm; do
  # The queue exists before the daemon's first fetch (as in poll_e2e_test.sh).
  "$SIMT/vm" "$v" "$B/qvm-remote key gen >/dev/null 2>&1 &&
    mkdir -p .qvm-remote/queue/pending .qvm-remote/queue/running .qvm-remote/queue/results \
      .qvm-remote/queue/tmp"
done
for v in vm1 vm2 v1vm devvm; do
  "$SIMT/dom0" "$B/qvm-remote-dom0" --root "$S/dom0" authorize "$v" - \
    <"$S/vms/$v/home/user/.qvm-remote/auth.key" >/dev/null
done
openssl rand -hex 32 | "$SIMT/dom0" "$B/qvm-remote-dom0" --root "$S/dom0" authorize wrongkey - >/dev/null
policy_tool() { # policy_tool SUBCOMMAND... (the common options go after the subcommand)
  "$SIMT/dom0" "$B/qvm-remote-policy" "$@" --root "$S/dom0" \
    --policy-dir "$S/dom0/usr/share/qvm-remote/policies" \
    --policy-dir "$S/dom0/etc/qubes/remote-policy.d"
}

# --- 8 (first half). A dev-mode grant: the command needing the granted level runs ----------------
GRANT_UNTIL=
grant_expiry_before() {
  echo "--- grant_expiry (while granted)"
  local g
  g=$(policy_tool dev-mode grant devvm 45s 2>&1) || { fail "dev-mode grant devvm 45s: $g"; return 0; }
  GRANT_UNTIL=$(sed -n 's/.* until \([^ ]*\) .*/\1/p' <<<"$g")
  has "the grant raises devvm to monitor" "granted devvm level monitor until" "$g"
  client devvm "-v xl dmesg"
  expect_rc 0 "granted: xl dmesg (monitor) runs for read-only devvm"
  has "granted: its output" "Xen version" "$OUT"
  local m
  m=$(archived_meta devvm "$(sed -n 's/.*submitted id=//p' <<<"$ERR")")
  eq "granted: .meta level is monitor" monitor "$(meta "$m" level)"
  eq "granted: .meta names the grant's expiry" "$GRANT_UNTIL" "$(meta "$m" grant)"
}

# --- 1. Replay in the same VM ------------------------------------------------------------------
REPLAY_CID=
replay_same_vm() {
  echo "--- replay_same_vm"
  local q cid hist0
  q=$(Q vm1)
  halt vm1 || true # staged: dom0 makes no call to a halted VM
  client_bg replay vm1 "mark replay1"
  wait_for "the request is staged in vm1's pending/" 20 \
    'test -n "$(staged_cid vm1)" && test -s "$q/pending/$(staged_cid vm1)"' || { unhalt vm1; return 0; }
  cid=$(staged_cid vm1)
  REPLAY_CID=$cid
  cp -p "$q/pending/$cid" "$q/pending/$cid.auth" "$W/saved/"
  unhalt vm1
  client_done replay
  expect_rc 0 "the request runs"
  eq "its answer" "marked replay1" "$OUT"
  wait_for "it is journaled delivered" 20 'test "$(state_of vm1 "$cid")" = delivered' || true
  hist0=$(archived_sum vm1 "$cid")
  local replays0 exec0 marks0
  replays0=$(lines "REPLAY +vm=vm1 id=$cid")
  exec0=$(lines "EXEC +vm=vm1 id=$cid")
  marks0=$(marks replay1)
  eq "run once before the replay (EXEC lines)" 1 "$exec0"
  put_back vm1 "$cid"
  # CONTRACT.md "Request validation" step 2: a delivered cid's copy is never run nor answered,
  # and is removed from the VM's queue (the fetch moved it into running/). Until vm_loop asked
  # for a delivery with no answer waiting, the copy stayed in running/ until the VM's next answer.
  wait_for "the replay is logged REPLAY" 30 'test "$(lines "REPLAY +vm=vm1 id=$cid")" -gt "$replays0"' || true
  wait_for "the replayed copy is removed from pending/ and running/" 30 \
    'test -z "$(entries_of vm1 pending "$cid")$(entries_of vm1 running "$cid")"' || true
  settle vm1
  eq "the replay never runs (EXEC lines for the cid)" 1 "$(lines "EXEC +vm=vm1 id=$cid")"
  eq "the replay has no side effect (marks)" "$marks0" "$(marks replay1)"
  eq "the replay is never answered (no results/ file of the cid)" "" "$(entries_of vm1 results "$cid")"
  eq "the first answer stays as it was (the client's archive)" "$hist0" \
    "$(archived_sum vm1 "$cid")"
  eq "one journal row, still delivered" "1 delivered" "$(rows vm1 "$cid") $(state_of vm1 "$cid")"
}

# --- 2. Replay into another VM's queue --------------------------------------------------------
replay_other_vm() {
  echo "--- replay_other_vm"
  local cid=$REPLAY_CID r
  [[ -n $cid ]] || { fail "replay_other_vm: no saved request (replay_same_vm failed)"; return 0; }
  r=$(Q vm2)/results/$cid
  put_back vm2 "$cid"
  wait_for "vm1's request copied into vm2 is answered there" 30 'test -f "$r.exit"' || return 0
  eq "answered auth (exit 255)" 255 "$(cat "$r.exit")"
  eq ".meta outcome" auth "$(meta "$r.meta" outcome)"
  eq ".meta reason_code: vm2's key does not make vm1's MAC" bad-mac "$(meta "$r.meta" reason_code)"
  has ".err says why" "does not match" "$(cat "$r.err")"
  eq "it never runs in vm2 (no EXEC)" 0 "$(lines "EXEC +vm=vm2 id=$cid")"
  eq "no side effect (marks)" 1 "$(marks replay1)"
  eq "no journal row for vm2 (answers of steps 3-11 are not journaled)" 0 "$(rows vm2 "$cid")"
  wait_for "vm2's pending/ holds nothing of it" 20 'test -z "$(entries_of vm2 pending "$cid")"' &&
    ok "vm2's pending/ holds nothing of it"
  rm -f "$r".*
}

# --- 4a. A body swapped under a valid token, staged with the VM halted -------------------------
# swap_body VM TAG: replaces the staged body by rename with another command (valid for the
# policy, so only the MAC can refuse it).
swap_body() {
  local q cid
  q=$(Q "$1")
  cid=$(staged_cid "$1")
  printf 'mark %s-swapped\n' "$2" >"$q/tmp/swap.$cid"
  chown --reference="$q/pending" "$q/tmp/swap.$cid"
  mv "$q/tmp/swap.$cid" "$q/pending/$cid"
  echo "$cid"
}
# expect_bad_mac TAG CID VM: the client TAG ended with dom0's bad-mac answer and nothing ran.
expect_bad_mac() {
  local m
  client_done "$1"
  expect_rc 255 "$1: the swapped body is refused (255)"
  has "$1: the client prints dom0's reason" "MAC does not match" "$ERR"
  answered_not_waited_out "$1"
  m=$(archived_meta "$3" "$2")
  eq "$1: .meta outcome" auth "$(meta "$m" outcome)"
  eq "$1: .meta reason_code" bad-mac "$(meta "$m" reason_code)"
  eq "$1: never run (EXEC)" 0 "$(lines "EXEC +vm=$3 id=$2")"
  eq "$1: no side effect (marks)" "0 0" "$(marks "$1") $(marks "$1-swapped")"
}
body_swap_halted() {
  echo "--- body_swap (staged with the VM halted)"
  local cid
  halt vm1 || true
  client_bg swapa vm1 "mark swapa"
  wait_for "swapa is staged" 20 'test -n "$(staged_cid vm1)"' || { unhalt vm1; return 0; }
  cid=$(swap_body vm1 swapa)
  unhalt vm1
  expect_bad_mac swapa "$cid" vm1
}

# --- 6. Silent failures: each refusal answered with its reason, the client's deadline far off ---
silent_failures() {
  echo "--- silent_failures"
  client_bg nokey nokey "mark nokey"
  client_bg wrongkey wrongkey "mark wrongkey"
  # A malformed .auth and a v1 request from a VM without accept_v1, written by hand (the client
  # writes neither): .auth first, body last, each by rename.
  local t cid1 cidv key token
  t=$(date -u +%Y%m%d-%H%M%S)
  cid1=$t-4242-$(openssl rand -hex 8)
  vm vm1 "q=~/.qvm-remote/queue; printf 'v=2 timeout=5 mac=nothex\n' > \$q/tmp/$cid1.auth &&
    mv \$q/tmp/$cid1.auth \$q/pending/ && echo 'mark malformed' > \$q/tmp/$cid1 && mv \$q/tmp/$cid1 \$q/pending/"
  cidv=$(date +%Y%m%d-%H%M%S)-4243-$(openssl rand -hex 4)
  key=$(cat "$S/vms/vm1/home/user/.qvm-remote/auth.key")
  token=$(printf %s "$cidv" | openssl dgst -sha256 -hmac "$key" | awk '{print $NF}')
  vm vm1 "q=~/.qvm-remote/queue; printf 'mark v1refused\n' > \$q/tmp/$cidv && mv \$q/tmp/$cidv \$q/pending/ &&
    printf %s $token > \$q/tmp/$cidv.auth && mv \$q/tmp/$cidv.auth \$q/pending/"

  client_done nokey
  expect_rc 255 "no key in dom0: 255"
  has "no key in dom0: dom0's reason" "dom0 holds no valid key for this VM" "$ERR"
  answered_not_waited_out "no key in dom0"
  client_done wrongkey
  expect_rc 255 "a wrong key: 255"
  has "a wrong key: dom0's reason" "the VM's key differs from dom0's" "$ERR"
  answered_not_waited_out "a wrong key"
  local r m
  for m in "malformed $cid1 malformed malformed-auth malformed .auth" \
    "v1-refused $cidv auth v1-not-accepted v1 requests are not accepted"; do
    # shellcheck disable=SC2086
    set -- $m
    r=$(Q vm1)/results/$2
    wait_for "$1: answered" 30 'test -f "$r.exit"' || continue
    eq "$1: .exit" 255 "$(cat "$r.exit")"
    eq "$1: .meta outcome" "$3" "$(meta "$r.meta" outcome)"
    eq "$1: .meta reason_code" "$4" "$(meta "$r.meta" reason_code)"
    shift 4
    has "$1: .err says why" "$*" "$(cat "$r.err")"
    eq "$1: nothing ran" "" "$(cat "$r.out")"
  done
  eq "none of them ran (marks)" "0 0 0 0" \
    "$(marks nokey) $(marks wrongkey) $(marks malformed) $(marks v1refused)"
  rm -f "$(Q vm1)/results/$cid1".* "$(Q vm1)/results/$cidv".*
}

# --- 5. The reference client's non-atomic v1 writes -------------------------------------------
# v1writer.py imitates the reference client (upstream-facts §1.4): pending/<cid> by
# open+truncate+write (here in two writes with a pause, as a slow write would land), then .auth
# (again in two writes with a pause: a sweep in between sees a short token), then .cmd; then it
# polls results/<cid>.exit every 0.5 s as the reference does and prints .out, exiting with .exit.
cat >"$B/v1writer.py" <<'PY'
import datetime, hashlib, hmac, os, secrets, sys, time
d = os.path.join(os.path.expanduser("~"), ".qvm-remote")
key = open(os.path.join(d, "auth.key")).read().strip()
cid = f"{datetime.datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}-{secrets.token_hex(4)}"
pending = os.path.join(d, "queue", "pending")
results = os.path.join(d, "queue", "results")
body = " ".join(sys.argv[1:]) + "\n"
print(cid, file=sys.stderr, flush=True)
half = len(body) // 2
with open(os.path.join(pending, cid), "w") as f:
    f.write(body[:half]); f.flush(); time.sleep(0.8)
    f.write(body[half:])
time.sleep(1.0)  # the whole body and no .auth yet
token = hmac.new(key.encode(), cid.encode(), hashlib.sha256).hexdigest()
with open(os.path.join(pending, cid + ".auth"), "w") as f:
    f.write(token[:20]); f.flush(); time.sleep(0.8)
    f.write(token[20:])
with open(os.path.join(pending, cid + ".cmd"), "w") as f:
    f.write(body)
deadline = time.time() + 60
exit_path = os.path.join(results, cid + ".exit")
while not os.path.exists(exit_path):
    if time.time() > deadline:
        print("TIMEOUT: no answer", file=sys.stderr); sys.exit(124)
    time.sleep(0.5)
sys.stdout.buffer.write(open(os.path.join(results, cid + ".out"), "rb").read())
os.rename(os.path.join(pending, cid + ".cmd"), os.path.join(results, cid + ".command"))
sys.exit(int(open(exit_path).read().strip() or "1"))
PY
chmod 0644 "$B/v1writer.py"
v1_nonatomic_writes() {
  echo "--- v1_nonatomic_writes"
  if [[ ! -x /usr/bin/python3 ]]; then
    echo "SKIP: v1_nonatomic_writes needs /usr/bin/python3"
    return 0
  fi
  local v
  for v in v1vm vm1; do
    (
      set +e
      timeout 100 "$SIMT/vm" "$v" "/usr/bin/python3 $B/v1writer.py echo v1-first-half v1-second-half" \
        </dev/null >"$W/v1.$v.out" 2>"$W/v1.$v.err" &
      echo $! >"$W/v1.$v.pid"
      wait $!
      echo $? >"$W/v1.$v.rc"
    ) &
  done
  wait_for "both v1 writers end" 110 'test -s "$W/v1.v1vm.rc" && test -s "$W/v1.vm1.rc"' || return 0
  local cid r
  cid=$(head -n 1 "$W/v1.v1vm.err")
  r=$(Q v1vm)/results/$cid
  eq "accept_v1: the v1 request runs, its exit status read back" 0 "$(cat "$W/v1.v1vm.rc")"
  eq "accept_v1: the whole body ran, not a half-written one" "v1-first-half v1-second-half" \
    "$(cat "$W/v1.v1vm.out")"
  eq "accept_v1: it ran once (EXEC lines)" 1 "$(lines "EXEC +vm=v1vm id=$cid")"
  eq "accept_v1: .meta outcome" ok "$(meta "$r.meta" outcome)"
  eq "accept_v1: the .auth is gone, the reference's .cmd left to the client (renamed)" "$cid.command" \
    "$(entries_of v1vm pending "$cid")$(ls "$(Q v1vm)/results" | grep -F "$cid.command")"
  cid=$(head -n 1 "$W/v1.vm1.err")
  r=$(Q vm1)/results/$cid
  eq "no accept_v1: the reference client reads exit 255" 255 "$(cat "$W/v1.vm1.rc")"
  eq "no accept_v1: .meta outcome" auth "$(meta "$r.meta" outcome)"
  # v1-not-accepted once its .auth is there; no-token when a loaded machine stretched the
  # writer's pause past the pairing delay (the body then goes alone): refused either way.
  local code; code=$(meta "$r.meta" reason_code)
  case $code in
    v1-not-accepted | no-token) ok "no accept_v1: .meta reason_code ($code)" ;;
    *) fail "no accept_v1: .meta reason_code: want [v1-not-accepted|no-token], got [$code]" ;;
  esac
  eq "no accept_v1: nothing ran (stdout)" "" "$(cat "$W/v1.vm1.out")"
  eq "no accept_v1: never run (EXEC)" 0 "$(lines "EXEC +vm=vm1 id=$cid")"
}

# --- 7. Crafted names in pending/ --------------------------------------------------------------
crafted_names() {
  echo "--- crafted_names"
  # Each name runs `touch qvmr-pwned<N>-<pid>` if any shell ever reads it as code (a name cannot
  # hold '/', so the file would land in that shell's cwd: the daemon's is $W/dom0-cwd, the VM's
  # script runs in the VM's home; both are under $W, searched whole, and /tmp besides).
  local pw=qvmr-pwned exec0 rm0 res0
  exec0=$(lines "EXEC +vm=vm1 ")
  rm0=$(lines "vm=vm1 .*bad entries removed")
  res0=$(ls -A "$(Q vm1)/results" | wc -l)
  # Made beside the queue by the VM itself, then put in place as pending/ with one rename.
  # A name cannot hold '/', nor exceed 255 bytes (NAME_MAX): `..x`, symlinks to `../x` and a
  # 255-byte name stand for `../x` and the 300-byte name.
  local long dircid
  long=$(printf 'a%.0s' $(seq 255))
  dircid=$(date -u +%Y%m%d-%H%M%S)-4244-$(openssl rand -hex 8)
  vm vm1 "set -e; mkdir .qvm-remote/crafted && cd .qvm-remote/crafted
    touch -- \"x'\\\$(touch ${pw}1-$$)'y\" 'x\$(touch ${pw}2-$$)y' 'x;touch ${pw}3-$$' \
      'x\`touch ${pw}4-$$\`y' \$'a\\nb' \$'$dircid\\n' '..x' '-rf' '*' $long
    ln -s ../x up; ln -s ../x $dircid.auth; mkdir $dircid; find . -mindepth 1 -maxdepth 1 -printf x | wc -c"
  eq "vm1 made the crafted names" 13 "$OUT"
  vm vm1 "cd .qvm-remote && mv queue/pending pending.old &&
    until mv -T crafted queue/pending 2>/dev/null; do rmdir queue/pending || true; done"
  wait_for "the crafted names are removed from pending/" 30 'test -z "$(ls -A "$(Q vm1)/pending")"' || true
  settle vm1
  eq "never run (no EXEC line for vm1)" "$exec0" "$(lines "EXEC +vm=vm1 ")"
  eq "never answered (results/ unchanged)" "$res0" "$(ls -A "$(Q vm1)/results" | wc -l)"
  eq "no crafted name in the VM's running/" "" "$(ls -A "$(Q vm1)/running")"
  eq "nothing created by a name read as code (dom0's cwd, the VM, /tmp)" "" \
    "$({ find "$W" -name "$pw*-$$"; find /tmp -maxdepth 1 -name "$pw*-$$"; } 2>/dev/null)"
  eq "nothing created through the symlinks to ../x" "" "$(ls -A "$S/vms/vm1/home/user/.qvm-remote" | grep -x x)"
  eq "no journal row for the cid-shaped directory" 0 "$(rows vm1 "$dircid")"
  local rm1
  rm1=$(lines "vm=vm1 .*bad entries removed")
  # Logged once per interval per VM: an earlier removal line of vm1 still within its interval
  # counts this one into the interval's summary instead.
  if ((rm1 > rm0)); then
    ok "the removal is logged"
  elif ((rm0 > 0)); then
    ok "the removal is counted into the interval of vm1's earlier removal line"
  else
    fail "the removal is logged: no 'bad entries removed' line"
  fi
  vm vm1 "rmdir .qvm-remote/pending.old"
}

# --- 3 and 4b. Replay after a daemon restart; a body swapped while pending, the daemon stopped ---
replay_after_restart() {
  echo "--- replay_after_restart (and body_swap while pending)"
  local cid=$REPLAY_CID swapcid replays0
  stop_daemon
  client_bg swapb vm1 "mark swapb"
  wait_for "swapb is staged" 20 'test -n "$(staged_cid vm1)"' || return 0
  swapcid=$(swap_body vm1 swapb)
  if [[ -n $cid ]]; then
    replays0=$(lines "REPLAY +vm=vm1 id=$cid")
    put_back vm1 "$cid"
  fi
  start_daemon
  expect_bad_mac swapb "$swapcid" vm1
  [[ -n $cid ]] || { fail "replay_after_restart: no saved request (replay_same_vm failed)"; return 0; }
  wait_for "after the restart the replay is logged REPLAY" 30 \
    'test "$(lines "REPLAY +vm=vm1 id=$cid")" -gt "$replays0"' || true
  wait_for "and removed from pending/ and running/" 30 \
    'test -z "$(entries_of vm1 pending "$cid")$(entries_of vm1 running "$cid")"' || true
  settle vm1
  eq "after the restart the replay never runs (EXEC lines)" 1 "$(lines "EXEC +vm=vm1 id=$cid")"
  eq "after the restart: no side effect (marks)" 1 "$(marks replay1)"
  eq "after the restart: never answered" "" "$(entries_of vm1 results "$cid")"
  eq "after the restart: one journal row, delivered" "1 delivered" "$(rows vm1 "$cid") $(state_of vm1 "$cid")"
}

# --- 9. A broken policy edit and its fix ---------------------------------------------------------
policy_edit() {
  echo "--- policy_edit"
  local bad0 good0 line
  bad0=$(lines "policy does not load")
  # A broken edit of vm1's line, one `}` too many (by rename, as an editor saves).
  sed 's/^\(  vm1: .*\)$/\1}/' "$W/policy.good" >"$POLICY.new"
  line=$(grep -n '^  vm1:' "$POLICY.new" | cut -d: -f1)
  mv "$POLICY.new" "$POLICY"
  wait_for "the daemon reloads into deny-all" 30 'test "$(lines "policy does not load")" -gt "$bad0"' || true
  client vm1 "--json mark policy1"
  expect_rc 126 "deny-all: denied (126)"
  has "deny-all: outcome denied" '"outcome":"denied"' "$OUT"
  has "deny-all: reason_code policy-error" '"reason_code":"policy-error"' "$OUT"
  has "deny-all: names the file and line" "50-e2e\\.yaml:$line:" "$OUT"
  eq "deny-all: nothing ran (marks)" 0 "$(marks policy1)"
  good0=$(lines "policy loaded")
  cp -p "$W/policy.good" "$POLICY.new"
  mv "$POLICY.new" "$POLICY"
  wait_for "the daemon reloads the fixed policy" 30 'test "$(lines "policy loaded")" -gt "$good0"' || true
  client vm1 "mark policy2"
  expect_rc 0 "fixed: served again"
  eq "fixed: its output" "marked policy2" "$OUT"
}

# --- 8 (second half). After the grant's expiry the same command is denied -------------------------
grant_expiry_after() {
  echo "--- grant_expiry (after expiry)"
  [[ -n $GRANT_UNTIL ]] || { fail "grant_expiry: no grant was made"; return 0; }
  local until_ms
  until_ms=$(date -d "$GRANT_UNTIL" +%s%3N)
  wait_for "the grant expires" 60 'test "$(date +%s%3N)" -gt "$until_ms"' || return 0
  client devvm "--json xl dmesg"
  expect_rc 126 "expired: xl dmesg is denied (126)"
  has "expired: outcome denied" '"outcome":"denied"' "$OUT"
  has "expired: decided at read-only" '"level":"read-only"' "$OUT"
  has "expired: no grant in the decision" '"grant":""' "$OUT"
  has "expired: the denial's reason code: no rule at read-only" '"reason_code":"no-rule"' "$OUT"
}

start_daemon
grant_expiry_before
replay_same_vm
replay_other_vm
body_swap_halted
silent_failures
v1_nonatomic_writes
crafted_names
replay_after_restart
policy_edit
grant_expiry_after

stop_daemon
if grep -Eq 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$DOUT"; then
  fail "the daemon reported a sanitizer error"
fi
if ((FAILS)); then
  echo "$FAILS check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
