#!/bin/bash
# The reference's execution-side weaknesses (../shared/DESIGN.md "Known weaknesses of the
# reference", docs/threat-model.md "Execution, resources, crashes"), end to end: the real
# qvm-remote in simulated VMs (tools/sim) against the real qvm-remote-dom0 on `--transport poll`
# through the simulated qvm-run. One function per weakness:
#   parallel_commands_reach_their_own_clients   2 VMs x 20 clients at once: each its own answer
#   timeout_kills_the_whole_tree                background and nested children die at -t
#   background_jobs_never_outlive_the_command   `sleep & echo done` is answered, the sleep dies
#   output_flood_is_bounded                     200 MiB of output: cut at max_output with the
#                                               marker, the daemon's peak RSS stays small
#   kill_9_mid_command_answers_interrupted_once the daemon killed -9 while a command runs; after
#                                               a restart: `interrupted`, the tree gone, ran once
#   fifos_never_block_or_run                    FIFOs as body, .auth and result names
#   halted_vm_gets_its_answer_once_started      no call while halted; the answer once, exact
#   lying_vm_tools_touch_nothing_outside        a VM's fake ls/cat/stat/head/mv/date
# Tests assert outcomes (exit codes, exact output, .meta, journal rows, processes, marker files),
# never latencies; every wait is a generous bound. Commands run in dom0 use distinctive numbers
# (`sleep 317N`), so a process check never matches anything but this test's own.
# Usage: weakness_exec_test.sh BIN_DIR [CONTAINMENT]: BIN_DIR holds qvm-remote and
# qvm-remote-dom0; CONTAINMENT is the daemon's --containment (default auto: the host's best; e.g.
# subreaper, the unprivileged fallback). Exit 77 = skipped.
set -euo pipefail
BIN=$(cd "${1:?usage: $0 BIN_DIR [CONTAINMENT]}" && pwd -P)
CONTAINMENT=${2:-auto}
REPO=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd -P)
SIMT=$REPO/tools/sim
# Under /tmp, 0755: the daemon trusts policy directories only when no parent is group/world-
# writable (sticky /tmp excepted), and the VMs run the client from here under their own uids.
W=$(mktemp -d /tmp/qvmr-e2e-exec.XXXXXX)
chmod 0755 "$W"
S=$W/sim
export SIM_ROOT=$S
B=$W/bin
mkdir -m 0755 "$B"
install -m 0755 "$BIN/qvm-remote" "$BIN/qvm-remote-dom0" "$B/"
# Marker files the dom0 commands write (they run as the daemon's user, in dom0).
M=$W/marks
mkdir -m 0755 "$M"
OUT=$W/daemon.out
: >"$OUT"
DPID=
FAILS=0

# The distinctive sleeps this test starts in dom0, by pid (never by a broad name).
our_sleeps() { pgrep -x -f 'sleep 317[0-9]' || true; }
cleanup() {
  local rc=$?
  if [ -n "$DPID" ]; then
    kill "$DPID" 2>/dev/null || true
    wait "$DPID" 2>/dev/null || true
  fi
  our_sleeps | xargs -r kill -9 2>/dev/null || true
  jobs -p | xargs -r kill 2>/dev/null || true
  if { [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; } || [ "$FAILS" -gt 0 ]; then
    echo "--- daemon output (last 80 lines)"
    tail -n 80 "$OUT" 2>/dev/null || true
  fi
  [ -n "${KEEP:-}" ] && echo "kept $W" || rm -rf "$W"
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
# eq DESC WANT GOT (a long GOT is shown cut at 300 bytes)
eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: want [${2:0:300}], got [${3:0:300}]"; fi; }
le() { if [ "$3" -le "$2" ]; then ok "$1 ($3 <= $2)"; else fail "$1: want <= $2, got $3"; fi; }
# wait_for DESC SECONDS 'SHELL CODE': evaluates the code every 0.2 s; fails (returns 1) if it
# never succeeds within the bound.
wait_for() {
  local d=$1 n=$(($2 * 5))
  shift 2
  while ! eval "$*" 2>/dev/null; do
    n=$((n - 1))
    [ "$n" -gt 0 ] || {
      fail "$d: not within the bound"
      return 1
    }
    sleep 0.2
  done
}
# wait_ok DESC SECONDS 'SHELL CODE': wait_for, saying ok when it holds.
wait_ok() { if wait_for "$@"; then ok "$1"; fi; }

mode=$("$SIMT/new" --policies "$REPO/policies" "$S" vm1 vm2 2>"$W/new.err") || {
  cat "$W/new.err" >&2
  exit 1
}
echo "isolation: $mode"
if [ "${mode%%:*}" = none ]; then
  echo "SKIP: the hostile-VM cases need VM isolation ($mode)"
  exit 77
fi
mkdir -m 0755 "$S/vms/vm1/bin" # vm1's PATH lead (the lying-tools case fills it)
# Both VMs at full: their text runs as a bash script, which is how a case gets background jobs,
# floods and exit codes. vm1's output is capped at 1 MiB (the flood case).
cat >"$S/dom0/etc/qubes/remote-policy.d/50-e2e-exec.yaml" <<'EOF'
version: 1
vms:
  vm1: {level: full, max_output: 1MiB}
  vm2: {level: full}
EOF
for v in vm1 vm2; do
  # The queue exists before the daemon's first fetch (a fetch racing the client's mkdir fails).
  "$SIMT/vm" "$v" "$B/qvm-remote key gen >/dev/null 2>&1 &&
    mkdir -p .qvm-remote/queue/pending .qvm-remote/queue/running .qvm-remote/queue/results \
      .qvm-remote/queue/tmp"
  "$SIMT/dom0" "$B/qvm-remote-dom0" --root "$S/dom0" authorize "$v" - \
    <"$S/vms/$v/home/user/.qvm-remote/auth.key" >/dev/null
done
JOURNAL=$S/dom0/var/lib/qvm-remote/journal.db
Q() { echo "$S/vms/$1/home/user/.qvm-remote/queue"; }
H() { echo "$S/vms/$1/home/user/.qvm-remote/history"; }
calls() { awk -v vm="$1" '$2 == vm' "$S/qvm-run.log" 2>/dev/null | wc -l | tr -d ' '; }
lines() { grep -c -- "$1" "$OUT" || true; }
sql() { sqlite3 -cmd '.timeout 5000' "$JOURNAL" "$1"; }
# row VM CID COLUMN: the column of the journal row of VM's request CID.
row() { sql "select $3 from requests where vm='$1' and cid='$2'" 2>/dev/null; }
state_of() { row "$1" "$2" state; }
cid_of() { sed -n "s/.* $2 vm=$1 id=\([^ ]*\).*/\1/p" "$OUT" | tail -n 1; }

start_daemon() {
  local served
  served=$(lines 'serving 2 VMs over poll')
  "$SIMT/dom0" "$B/qvm-remote-dom0" --root "$S/dom0" --transport poll --containment "$CONTAINMENT" \
    --policy-dir "$S/dom0/usr/share/qvm-remote/policies" \
    --policy-dir "$S/dom0/etc/qubes/remote-policy.d" >>"$OUT" 2>&1 </dev/null &
  DPID=$!
  wait_for "the daemon serves" 20 'test "$(lines "serving 2 VMs over poll")" -gt "$served"'
}

# client VM TIMEOUT TEXT: the real client in VM sends TEXT (one word) with -t TIMEOUT; the call is
# bounded too. Sets RC, COUT, CERR.
client() {
  set +e
  timeout $(($2 + 30)) "$SIMT/vm" "$1" "$B/qvm-remote -t $2 $(printf %q "$3")" \
    </dev/null >"$W/.cout" 2>"$W/.cerr"
  RC=$?
  set -e
  COUT=$(cat "$W/.cout")
  CERR=$(cat "$W/.cerr")
}
# client_bg VM TIMEOUT TEXT NAME: as client, in the background; wait_client NAME collects it.
client_bg() {
  (
    set +e
    timeout $(($2 + 30)) "$SIMT/vm" "$1" "$B/qvm-remote -t $2 $(printf %q "$3")" \
      </dev/null >"$W/$4.cout" 2>"$W/$4.cerr"
    echo $? >"$W/$4.rc"
  ) &
}
wait_client() {
  local wc_name=$1 # not $1 in the code: wait_for's eval has its own positional parameters
  wait_for "the client $1 returns" 150 'test -s "$W/$wc_name.rc"'
  RC=$(cat "$W/$1.rc")
  COUT=$(cat "$W/$1.cout")
  CERR=$(cat "$W/$1.cerr")
}
show() { printf 'exit %s, stdout [%s], stderr [%s]' "$RC" "$COUT" "$CERR"; }
expect() { # expect DESC RC STDOUT STDERR: all three exactly
  if [ "$RC" = "$2" ] && [ "$COUT" = "$3" ] && [ "$CERR" = "$4" ]; then
    ok "$1"
  else
    fail "$1: want exit $2, stdout [$3], stderr [$4]; got $(show)"
  fi
}
# The meta the client archived for its last request (history/<day>/<cid>/meta).
last_meta() { ls -dt "$(H "$1")"/*/*/ 2>/dev/null | head -n 1 | sed 's,/$,/meta,'; }
queue_left() { ls -A "$(Q "$1")/$2"; }

# --- 1. 2 VMs x 20 parallel commands: every answer reaches its own client ---------------------
parallel_commands_reach_their_own_clients() {
  local rows0 v i vn want_rc bad=0 pids=()
  rows0=$(sql 'select count(*) from requests')
  # Each VM starts its 20 clients in the background from one shell, then waits for them all;
  # vm1's client I exits I-1 (0..19), vm2's 100+I: 40 distinct statuses, 40 distinct outputs.
  for v in vm1 vm2; do
    vn=${v#vm}
    timeout 150 "$SIMT/vm" "$v" "mkdir -p /var/tmp/par && for i in \$(seq 1 20); do
        ( $B/qvm-remote -t 90 \"echo out-$v-\$i; echo err-$v-\$i >&2; exit \$(( $vn == 1 ? i - 1 : 100 + i ))\" \
            >/var/tmp/par/\$i.out 2>/var/tmp/par/\$i.err; echo \$? >/var/tmp/par/\$i.rc ) &
      done; wait" </dev/null &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || fail "parallel: a VM's shell of clients failed"; done
  for v in vm1 vm2; do
    vn=${v#vm}
    for i in $(seq 1 20); do
      local d=$S/vms/$v/tmp/par
      if [ "$vn" = 1 ]; then want_rc=$((i - 1)); else want_rc=$((100 + i)); fi
      if [ "$(cat "$d/$i.rc" 2>/dev/null)" != "$want_rc" ] ||
        [ "$(cat "$d/$i.out" 2>/dev/null)" != "out-$v-$i" ] ||
        [ "$(cat "$d/$i.err" 2>/dev/null)" != "err-$v-$i" ]; then
        bad=$((bad + 1))
        fail "parallel: $v client $i: want exit $want_rc, [out-$v-$i], [err-$v-$i]; got exit" \
          "$(cat "$d/$i.rc" 2>/dev/null), [$(cat "$d/$i.out" 2>/dev/null)], [$(cat "$d/$i.err" 2>/dev/null)]"
      fi
    done
  done
  eq "parallel: each of the 40 clients got exactly its own stdout, stderr and exit status" 0 "$bad"
  wait_ok "parallel: the journal has 40 more rows, all delivered" 30 \
    'test "$(sql "select count(*) from requests where state = '"'delivered'"'")" -eq $((rows0 + 40))'
  eq "parallel: the journal has exactly 40 rows more" $((rows0 + 40)) "$(sql 'select count(*) from requests')"
  for v in vm1 vm2; do
    wait_ok "parallel: $v's running/ empties" 20 'test -z "$(queue_left $v running)"'
    eq "parallel: nothing left in $v's results/ (each client archived its own)" "" "$(queue_left $v results)"
    eq "parallel: nothing left in $v's pending/" "" "$(queue_left $v pending)"
  done
}

# --- 2. "the timeout kills bash, not its children" ----------------------------------------------
timeout_kills_the_whole_tree() {
  # A background child, a child of a subshell (re-parented at once), one in a session of its own
  # (out of reach of a process-group kill) and the foreground sleep, each noting it started; -t 2
  # kills them all at dom0's deadline.
  client vm1 2 "sleep 3171 & echo bg >>$M/tree; (sleep 3174 & echo nested >>$M/tree);
    setsid sleep 3176 & echo setsid >>$M/tree; echo fg >>$M/tree; sleep 3175"
  eq "timeout: the client exits 124" 124 "$RC"
  grep -q deadline <<<"$CERR" && ok "timeout: stderr says dom0's deadline passed" ||
    fail "timeout: stderr does not say deadline: $(show)"
  eq "timeout: the four children had started" "bg fg nested setsid" \
    "$(sort "$M/tree" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
  grep -qx 'outcome=timeout' "$(last_meta vm1)" && ok "timeout: .meta outcome=timeout" ||
    fail "timeout: .meta outcome is not timeout: $(cat "$(last_meta vm1)" 2>/dev/null)"
  wait_ok "timeout: no process of the tree is left (sleep 3171, 3174, 3175, 3176)" 20 \
    'test -z "$(pgrep -x -f "sleep 317[1456]")"'
}

# --- 3. "background jobs outlive the command" --------------------------------------------------
background_jobs_never_outlive_the_command() {
  client vm1 30 "sleep 3172 & echo started >$M/bg; setsid sleep 3177 & echo setsid >>$M/bg; echo done"
  expect "background: a command that exits at once is answered 0 with its output" 0 done ""
  eq "background: the background jobs had started (one in its own session)" "started setsid" \
    "$(tr '\n' ' ' <"$M/bg" 2>/dev/null | sed 's/ $//')"
  wait_ok "background: no background job outlived the command (sleep 3172, 3177)" 20 \
    'test -z "$(pgrep -x -f "sleep 317[27]")"'
}

# --- 4. "all output held in memory before truncation" -------------------------------------------
output_flood_is_bounded() {
  local cap=1048576 marker got size rc
  marker=$(printf '\n[truncated at %s bytes]\n' "$cap" | od -An -c | tr -s ' ')
  local text="head -c 200M /dev/zero | tr '\\0' a"
  rc=$(timeout 150 "$SIMT/vm" vm1 \
    "$B/qvm-remote -t 120 $(printf %q "$text") >/var/tmp/flood.out 2>/var/tmp/flood.err; echo \$?" </dev/null)
  eq "flood: 200 MiB of output is answered with the command's status 0" 0 "$rc"
  local f=$S/vms/vm1/tmp/flood.out
  size=$(stat -c %s "$f")
  eq "flood: stdout is the cap plus the reference's marker" $((cap + 30)) "$size"
  eq "flood: the first $cap bytes are the command's" 0 "$(head -c "$cap" "$f" | tr -d a | wc -c | tr -d ' ')"
  got=$(tail -c 30 "$f" | od -An -c | tr -s ' ')
  eq "flood: stdout ends with the marker \\n[truncated at $cap bytes]\\n" "$marker" "$got"
  eq "flood: nothing on stderr" "" "$(cat "$S/vms/vm1/tmp/flood.err")"
  grep -qx 'truncated=stdout' "$(last_meta vm1)" && ok "flood: .meta truncated=stdout" ||
    fail "flood: .meta has no truncated=stdout: $(cat "$(last_meta vm1)" 2>/dev/null)"
  local cid
  cid=$(basename "$(dirname "$(last_meta vm1)")")
  wait_ok "flood: the journal row is delivered with truncated=stdout" 20 \
    'test "$(state_of vm1 "$cid") $(row vm1 "$cid" truncated)" = "delivered stdout"'
  # 64 MiB: the daemon's own few MiB, its threads' stacks and SQLite's cache; holding the flood
  # (200 MiB), or even the cap's worth a few times over per buffer, would pass it.
  local vmhwm
  vmhwm=$(awk '/VmHWM/ {print $2}' "/proc/$DPID/status")
  # A sanitizer build's shadow memory and allocator make the peak RSS meaningless there (CMake
  # passes QVMR_SANITIZED; `grep -c` reads all of readelf's output, where `grep -q` would end the
  # pipe early and, under pipefail, read as "not found").
  if [ "${QVMR_SANITIZED:-OFF}" = ON ] ||
    [ "$(readelf -s "$B/qvm-remote-dom0" 2>/dev/null | grep -c __asan_init)" -gt 0 ]; then
    echo "skip: flood: the peak RSS bound in a sanitizer build (${vmhwm} kB)"
  else
    le "flood: the daemon's peak RSS stays small (kB)" 65536 "$vmhwm"
  fi
}

# --- 5. "a killed daemon leaves running/ entries forever"; a crash runs a request twice ----------
kill_9_mid_command_answers_interrupted_once() {
  client_bg vm1 60 "setsid sleep 3178 & echo ran >>$M/k9; sleep 3173" k9
  wait_for "kill -9: the command started (its marker exists)" 30 'test -s "$M/k9"'
  local cid
  cid=$(cid_of vm1 EXEC)
  eq "kill -9: the request is journaled started" started "$(state_of vm1 "$cid")"
  kill -9 "$DPID"
  wait "$DPID" 2>/dev/null || true
  DPID=
  sleep 1
  local outlived=no
  [ -z "$(pgrep -x -f 'sleep 3173')" ] || outlived=yes
  echo "note: kill -9: sleep 3173 outlived the daemon: $outlived (the restart must end it)"
  start_daemon
  wait_client k9
  eq "kill -9: the client exits 255 (interrupted)" 255 "$RC"
  eq "kill -9: stdout is empty" "" "$COUT"
  eq "kill -9: stderr says it had started and was stopped" \
    "qvm-remote: dom0 restarted while this request ran; it was stopped" "$CERR"
  grep -qx 'outcome=interrupted' "$(last_meta vm1)" && ok "kill -9: .meta outcome=interrupted" ||
    fail "kill -9: .meta outcome is not interrupted: $(cat "$(last_meta vm1)" 2>/dev/null)"
  wait_ok "kill -9: no process of the command is left (sleep 3173, 3178)" 20 \
    'test -z "$(pgrep -x -f "sleep 317[38]")"'
  wait_ok "kill -9: the journal row is delivered" 20 'test "$(state_of vm1 "$cid")" = delivered'
  eq "kill -9: answered exactly once (one INTERRUPTED line)" 1 "$(lines "INTERRUPTED vm=vm1 id=$cid")"
  # Time for a second run or a second answer to show, if there were one.
  sleep 3
  eq "kill -9: the command ran once (one marker line)" 1 "$(wc -l <"$M/k9" | tr -d ' ')"
  eq "kill -9: it was run once (one EXEC line)" 1 "$(lines "EXEC vm=vm1 id=$cid")"
  eq "kill -9: no second answer was delivered (results/ stays empty)" "" "$(queue_left vm1 results)"
  eq "kill -9: running/ is empty" "" "$(queue_left vm1 running)"
}

# --- 7. FIFOs in the queue never block dom0 or run ----------------------------------------------
fifos_never_block_or_run() {
  local a b q1 e0
  q1=$(Q vm1)
  e0=$(lines 'EXEC vm=vm1')
  a=$(date -u +%Y%m%d-%H%M%S)-7001-$(openssl rand -hex 8)
  b=$(date -u +%Y%m%d-%H%M%S)-7002-$(openssl rand -hex 8)
  # A: a FIFO as the body (behind a regular .auth); B: a regular body behind a FIFO .auth; a
  # FIFO named like a results file of a request in pending/. Each put in place by a rename.
  "$SIMT/vm" vm1 "cd .qvm-remote/queue && printf 'v=2 timeout=5 mac=%064d\n' 0 >tmp/$a.auth &&
    mv tmp/$a.auth pending/ && mkfifo tmp/$a && mv tmp/$a pending/ &&
    mkfifo tmp/$b.auth && mv tmp/$b.auth pending/ && printf 'echo fifo-ran >>$M/fifo\n' >tmp/$b &&
    mv tmp/$b pending/ && mkfifo tmp/$b.out && mv tmp/$b.out pending/"
  client vm2 20 "echo vm2-while-fifos"
  expect "fifo: vm2 is answered while vm1's queue holds FIFOs" 0 vm2-while-fifos ""
  wait_ok "fifo: the FIFO body is removed" 20 '! test -e "$q1/pending/$a"'
  wait_ok "fifo: the FIFO named like a results file is removed" 20 '! test -e "$q1/pending/$b.out"'
  wait_ok "fifo: the body behind a FIFO .auth is answered" 30 'test -f "$q1/results/$b.exit"'
  eq "fifo: ... as no-token (auth, 255)" "255 no-token" \
    "$(cat "$q1/results/$b.exit") $(sed -n 's/^reason_code=//p' "$q1/results/$b.meta")"
  eq "fifo: no FIFO request ran (no EXEC line, no marker)" "$e0 no" \
    "$(lines 'EXEC vm=vm1') $(test -e "$M/fifo" && echo yes || echo no)"
  rm -f "$q1/results/$b".*
  # C: FIFOs where the answer of a running request will be delivered (.out, .err, .meta): the
  # delivery renames over them, never opens them, and the client gets its exact answer.
  client_bg vm1 30 "sleep 3; echo fifo-result; exit 3" fifores
  wait_for "fifo: vm1's request is claimed" 20 'test -n "$(ls "$q1/running" 2>/dev/null)"'
  local c
  c=$(ls "$q1/running" | grep -v '\.auth$' | head -n 1)
  "$SIMT/vm" vm1 "cd .qvm-remote/queue/results && mkfifo $c.out $c.err $c.meta"
  client vm2 20 "echo vm2-while-result-fifos"
  expect "fifo: vm2 is answered while vm1's results/ holds FIFOs" 0 vm2-while-result-fifos ""
  wait_client fifores
  expect "fifo: FIFOs at a request's result names are replaced; the client gets its answer" \
    3 fifo-result ""
}

# --- 8. "every qvm-run return code is ignored": a VM halted while its answer waits ---------------
halted_vm_gets_its_answer_once_started() {
  local n_exec cid hc1 hc2
  n_exec=$(lines 'EXEC vm=vm2')
  client_bg vm2 60 "sleep 2; echo after-halt; echo to-stderr >&2; exit 7" halted
  wait_for "halted: the request is claimed and run" 20 'test "$(lines "EXEC vm=vm2")" -gt "$n_exec"'
  cid=$(cid_of vm2 EXEC)
  touch "$S/vms/vm2/halted"
  wait_for "halted: the daemon sees vm2 halted" 20 'grep -q "vm=vm2 reason=not-running" "$OUT"'
  hc1=$(calls vm2)
  wait_for "halted: the command finishes while vm2 is halted" 20 'grep -Eq "DONE(-FAIL)? vm=vm2 id=$cid" "$OUT"'
  sleep 3
  hc2=$(calls vm2)
  eq "halted: no qvm-run call to the halted VM" "$hc1" "$hc2"
  eq "halted: the answer is kept (journal: finished)" finished "$(state_of vm2 "$cid")"
  rm -f "$S/vms/vm2/halted"
  wait_client halted
  expect "halted: once vm2 runs again, the client gets its exact answer" 7 after-halt to-stderr
  wait_ok "halted: journaled delivered" 20 'test "$(state_of vm2 "$cid")" = delivered'
  sleep 3
  eq "halted: delivered once (results/ stays empty after the client took it)" "" "$(queue_left vm2 results)"
  eq "halted: running/ is empty" "" "$(queue_left vm2 running)"
}

# --- 6. a compromised VM's lying tools ----------------------------------------------------------
# What dom0 may write, relative to SIM_ROOT/dom0: its journal, lock, spool and tmp, its logs,
# its run directory. Anything else new or changed under dom0 is a write it must never make.
CID_RE='[0-9]{8}-[0-9]{6}-[0-9]+-[0-9a-f]{16}'
DOM0_WRITES="^(var/lib/qvm-remote(/(daemon\.lock|journal\.db(-wal|-shm|-journal)?"
DOM0_WRITES+="|spool(/vm[12](/$CID_RE\.(out|err))?)?|tmp(/[^/]*)?))?"
DOM0_WRITES+="|var/log/qubes(/qvm-remote(-audit\.jsonl|\.log)(\.[0-9]+)?)?|run/qvm-remote(/.*)?)$"
# What vm2's home may gain while it is served: its client's own queue, audit log and history.
VM2_WRITES="^(\.qvm-remote(/audit\.log"
VM2_WRITES+="|/queue(/(pending|running|results|tmp)(/$CID_RE(\.(auth|out|err|meta|exit))?)?)?"
VM2_WRITES+="|/history(/[0-9-]+(/$CID_RE(/(out|err|meta|exit|command))?)?)?)?)?$"
snapshot() { (cd "$1" && find . -mindepth 1 -printf '%P\t%y\t%s\t%T@\n' | sort); }
# changed_paths BEFORE AFTER: the paths new or changed in AFTER (one a line).
changed_paths() { comm -13 "$1" "$2" | cut -f1 | sort -u; }
fake() { # fake TOOL BODY: vm1's TOOL, first on its PATH
  printf '#!/bin/bash\n%s\n' "$2" >"$S/vms/vm1/bin/$1"
  chmod 0755 "$S/vms/vm1/bin/$1"
}
lying_vm_tools_touch_nothing_outside() {
  local pwn=qvmr-pwn-$$ e0 c0 bad
  snapshot "$S/dom0" >"$W/dom0.before"
  snapshot "$S/vms/vm2/home/user" >"$W/vm2.before"
  e0=$(lines 'ERROR vm=vm1')
  c0=$(calls vm1)
  # Each names paths outside the queue (dom0's, another VM's, /tmp), lies about sizes and times,
  # or prints what looks like the fixed script's frames and acknowledgements.
  fake ls "printf '%s\n' /etc/shadow ../../../vm2/home/user/.qvm-remote/auth.key /tmp/$pwn"
  fake cat "printf 'request ../../../../../tmp/$pwn paired 5 5\nv=2 xhello\n'"
  fake stat 'case "$2" in %s) echo 7 ;; *) echo "7 0" ;; esac'
  fake head "printf 'request ../../../../../tmp/$pwn paired 3 3\nv=2xyz\n'
    printf 'request 20261130-000000-1-0123456789abcdef paired 1 1\nab\nend 0 0\nqvm-remote-fetch 1\n'"
  fake mv "/bin/mv \"\$@\" 2>/dev/null; printf 'ok ../../../../tmp/$pwn\nrequest ../../vm2/$pwn no-token 1\nz\n'"
  fake date "echo ../../../tmp/$pwn"
  client_bg vm1 5 "echo lied-to" lied
  wait_ok "lying tools: dom0 logs vm1's fault" 30 'test "$(lines "ERROR vm=vm1")" -gt "$e0"'
  grep 'ERROR vm=vm1' "$OUT" | tail -n 2 | cut -c 22-200 | sed 's/^/  /'
  client vm2 20 "echo vm2-while-vm1-lies"
  expect "lying tools: vm2 is answered while vm1's tools lie" 0 vm2-while-vm1-lies ""
  wait_ok "lying tools: dom0 keeps calling vm1 (3 calls with the fakes)" 40 'test "$(calls vm1)" -ge $((c0 + 3))'
  wait_client lied
  echo "note: lying tools: vm1's client during the fakes: exit $RC"
  rm -f "$S/vms/vm1/bin"/*
  client vm1 90 "echo back-after-lies"
  expect "lying tools: once its tools are sound, vm1 is served again" 0 back-after-lies ""
  kill -0 "$DPID" && ok "lying tools: the daemon is still running"
  snapshot "$S/dom0" >"$W/dom0.after"
  snapshot "$S/vms/vm2/home/user" >"$W/vm2.after"
  bad=$(changed_paths "$W/dom0.before" "$W/dom0.after" | grep -Ev "$DOM0_WRITES" || true)
  eq "lying tools: dom0 wrote nothing outside its journal, spool, logs and run dir" "" "$bad"
  bad=$(changed_paths "$W/vm2.before" "$W/vm2.after" | grep -Ev "$VM2_WRITES" || true)
  eq "lying tools: vm2's home changed only in its own queue and history" "" "$bad"
  local h cid foreign=
  for h in "$(H vm2)"/*/*; do
    cid=${h##*/}
    [ "$(sql "select count(*) from requests where vm='vm2' and cid='$cid'")" = 1 ] || foreign+=" $cid"
  done
  eq "lying tools: every answer in vm2's history is one of vm2's own requests" "" "$foreign"
  # The fakes' paths resolve (from any directory dom0 uses) into the test's tree or /tmp itself.
  bad=$(find "$W" -name "*$pwn*" | head -n 3)
  bad+=$(find /tmp -maxdepth 2 -name "*$pwn*" 2>/dev/null | head -n 3)
  eq "lying tools: no file named by the fakes exists anywhere dom0 could write" "" "$bad"
}

start_daemon
parallel_commands_reach_their_own_clients
timeout_kills_the_whole_tree
background_jobs_never_outlive_the_command
output_flood_is_bounded
fifos_never_block_or_run
halted_vm_gets_its_answer_once_started
kill_9_mid_command_answers_interrupted_once
lying_vm_tools_touch_nothing_outside

kill "$DPID"
wait "$DPID" || true
DPID=
if grep -Eq 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$OUT"; then
  fail "the daemon reported a sanitizer error"
fi
if [ "$FAILS" -gt 0 ]; then
  echo "$FAILS failures"
  exit 1
fi
echo "all passed"
