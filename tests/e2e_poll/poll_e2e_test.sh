#!/bin/bash
# The daemon end to end over `poll` on the simulated dom0 (tools/sim): real qvm-remote-dom0, real
# qvm-remote in the VMs, the fake qvm-run and qvm-ls. Issue 14.
# Usage: poll_e2e_test.sh BIN_DIR SCENARIO
#   serve    a request is claimed, journaled, run, delivered; v1 in the reference's write order;
#            a halted VM and a paused VM cost no call and get their results once running again;
#            a VM that is gone has its results abandoned; the cost figures (qvm-run calls, CPU)
#   faults   a fetch that hangs, floods, prints garbage or is cut short (a compromised VM's own
#            `sleep` on its PATH) is bounded, logged once, backed off and recovered; vm2 is
#            answered while vm1's fetch hangs
#   hostile  a symlinked results/, a FIFO as .auth, 100,000 names in pending/: nothing outside the
#            VM's queue is touched and the other VM is served
# Tests assert outcomes (answers, journal states, call counts), never latencies; waits are
# generous upper bounds. Exit 77 = skipped, with the reason.
set -euo pipefail
B=$(cd "$1" && pwd -P)
SCENARIO=$2
REPO=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd -P)
SIM=$REPO/tools/sim
T=$(mktemp -d /tmp/qvmr-poll-e2e.XXXXXX)
chmod 0755 "$T"
DPID=
cleanup() {
  local rc=$?
  if [ -n "$DPID" ]; then kill "$DPID" 2>/dev/null || true; wait "$DPID" 2>/dev/null || true; fi
  # A failed wait_for ends the script through `set -e`: say what the daemon saw before it goes.
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -s "${OUT:-}" ]; then
    echo "--- daemon output (last 60 lines)"; tail -n 60 "$OUT"
  fi
  jobs -p | xargs -r kill 2>/dev/null || true
  [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
trap 'echo "FAIL: stopped at line $LINENO: $BASH_COMMAND" >&2' ERR
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: want [$2], got [$3]"; fi; }
le() { if [ "$3" -le "$2" ]; then ok "$1 ($3 <= $2)"; else fail "$1: want <= $2, got $3"; fi; }
figure() { echo "FIGURE: $*"; }

S=$T/sim
export SIM_ROOT=$S
mode=$("$SIM/new" --policies "$REPO/policies" "$S" vm1 vm2 vm3 2>"$T/new.err") || {
  cat "$T/new.err" >&2; exit 1; }
echo "isolation: $mode"
if [ "$SCENARIO" = hostile ] && [ "${mode%%:*}" = none ]; then
  echo "SKIP: the hostile cases need VM isolation ($mode)"; exit 77
fi
for v in vm1 vm2 vm3; do mkdir -m 0755 "$S/vms/$v/bin"; done  # a compromised VM's PATH lead
cat > "$S/dom0/etc/qubes/remote-policy.d/50-e2e.yaml" <<'EOF'
version: 1
commands:
  sleep: {options: []}
vms:
  vm1: {level: read-only, allow: ['sleep <int>'], accept_v1: true}
  vm2: {level: monitor, allow: ['sleep <int>']}
  vm3: {level: read-only, allow: ['sleep <int>']}
EOF
for v in vm1 vm2 vm3; do
  # The queue exists before the daemon's first fetch: a client making it at the same moment as
  # the script can fail that fetch with no-queue (retried), which would take the VM's one
  # vm-script-error log line of the interval.
  "$SIM/vm" "$v" "$B/qvm-remote key gen >/dev/null 2>&1 &&
    mkdir -p .qvm-remote/queue/pending .qvm-remote/queue/running .qvm-remote/queue/results \
      .qvm-remote/queue/tmp"
  "$SIM/dom0" "$B/qvm-remote-dom0" --root "$S/dom0" authorize "$v" - \
    < "$S/vms/$v/home/user/.qvm-remote/auth.key" >/dev/null
done
OUT=$T/daemon.out
JOURNAL=$S/dom0/var/lib/qvm-remote/journal.db
Q() { echo "$S/vms/$1/home/user/.qvm-remote/queue"; }

start_daemon() {
  "$SIM/dom0" "$B/qvm-remote-dom0" --root "$S/dom0" --policy-dir "$REPO/policies" \
    --policy-dir "$S/dom0/etc/qubes/remote-policy.d" "$@" > "$OUT" 2>&1 &
  DPID=$!
  wait_for "the daemon serves" 20 'grep -q "serving 3 VMs over poll" "$OUT"'
}
# wait_for DESC SECONDS 'SHELL CODE': evaluates the code (anew each time) every 0.2 s; fails the
# test if it never succeeds.
wait_for() {
  local d=$1 n=$(($2 * 5)); shift 2
  while ! eval "$*" 2>/dev/null; do
    n=$((n - 1)); [ "$n" -gt 0 ] || { fail "$d: not within the bound"; return 1; }
    sleep 0.2
  done
}
calls() { awk -v vm="$1" '$2 == vm' "$S/qvm-run.log" 2>/dev/null | wc -l | tr -d ' '; }
lines() { grep -c -- "$1" "$OUT" || true; }
state_of() { sqlite3 "$JOURNAL" "select state from requests where vm='$1' and cid='$2'" 2>/dev/null; }
cid_of() { sed -n "s/.* $2 vm=$1 id=\([^ ]*\).*/\1/p" "$OUT" | tail -n 1; }
# client VM TIMEOUT CMD: the real client in the VM, bounded twice.
client() { timeout $(($2 + 10)) "$SIM/vm" "$1" "$B/qvm-remote -t $2 $3"; }
ticks() { awk '{print $14 + $15}' "/proc/$DPID/stat"; }
fake() { # fake VM TOOL BODY: a tool of the compromised VM, first on its PATH
  printf '#!/bin/bash\n%s\n' "$3" > "$S/vms/$1/bin/$2"; chmod 0755 "$S/vms/$1/bin/$2"; }

scenario_serve() {
  start_daemon
  # --- idle cost: calls and CPU over a quiet stretch
  sleep 2
  local c0 t0 c1 t1 idle=12 hz
  hz=$(getconf CLK_TCK)
  c0=$(( $(calls vm1) + $(calls vm2) + $(calls vm3) )); t0=$(ticks)
  sleep $idle
  c1=$(( $(calls vm1) + $(calls vm2) + $(calls vm3) )); t1=$(ticks)
  figure "idle qvm-run calls per VM per second: $(awk -v c=$((c1 - c0)) -v s=$idle 'BEGIN{printf "%.2f", c/s/3}')"
  figure "idle daemon CPU per VM per minute: $(awk -v t=$((t1 - t0)) -v hz="$hz" -v s=$idle 'BEGIN{printf "%.0f ms", t*1000/hz*60/s/3}')"
  le "an idle VM costs at most one fetch a second" $((3 * idle + 3)) $((c1 - c0))

  # --- a request: claimed, journaled, run, delivered
  local before out cid
  before=$(calls vm1)
  out=$(client vm1 20 'echo hello')
  eq "vm1's request is answered" hello "$out"
  cid=$(cid_of vm1 EXEC)
  [ -n "$cid" ] || fail "the request was run (EXEC line)"
  wait_for "vm1's request is journaled delivered" 10 'test "$(state_of vm1 "$cid")" = delivered'
  eq "running/ is empty after delivery" "" "$(ls -A "$(Q vm1)/running")"
  figure "qvm-run calls for one request (submit to answer, incl. idle fetches meanwhile): $(($(calls vm1) - before))"

  # --- v1 in the reference client's order: body, then a non-atomic .auth, then .cmd
  local key token v1cid
  for vm in vm1 vm2; do
    v1cid=$(date +%Y%m%d-%H%M%S)-4242-$(openssl rand -hex 4)
    key=$(cat "$S/vms/$vm/home/user/.qvm-remote/auth.key")
    token=$(printf %s "$v1cid" | openssl dgst -sha256 -hmac "$key" | awk '{print $NF}')
    "$SIM/vm" "$vm" "cd .qvm-remote/queue/pending && printf 'echo v1-ok\n' > $v1cid && sleep 0.3 &&
      printf %s ${token:0:20} > $v1cid.auth && sleep 0.3 && printf %s $token > $v1cid.auth &&
      printf 'echo v1-ok\n' > $v1cid.cmd"
    wait_for "$vm's v1 request is answered" 20 'test -f "$(Q $vm)/results/$v1cid.exit"'
    if [ $vm = vm1 ]; then
      eq "v1 on an accept_v1 VM runs" "v1-ok 0" \
        "$(cat "$(Q vm1)/results/$v1cid.out") $(cat "$(Q vm1)/results/$v1cid.exit")"
    else
      eq "v1 on a VM without accept_v1 is refused, nothing runs" "" \
        "$(cat "$(Q vm2)/results/$v1cid.out")"
      [ "$(cat "$(Q vm2)/results/$v1cid.exit")" != 0 ] || fail "the v1 refusal's exit is non-zero"
    fi
  done

  # --- halted after the claim: no call while halted, the result arrives after it starts
  local n_exec hc1 hc2
  n_exec=$(lines 'EXEC vm=vm1')
  client vm1 60 'sleep 3' > "$T/halted.out" 2>&1 & local hp=$!
  wait_for "the slow request is claimed and run" 20 'test "$(lines "EXEC vm=vm1")" -gt "$n_exec"'
  cid=$(cid_of vm1 EXEC)
  touch "$S/vms/vm1/halted"
  wait_for "the daemon sees vm1 halted" 20 'grep -q "vm=vm1 reason=not-running" "$OUT"'
  hc1=$(calls vm1)
  wait_for "the slow request finishes while vm1 is halted" 20 'grep -q "DONE vm=vm1 id=$cid" "$OUT"'
  sleep 3
  hc2=$(calls vm1)
  eq "a halted VM costs no call" "$hc1" "$hc2"
  eq "its result is kept (journal: finished)" finished "$(state_of vm1 "$cid")"
  rm -f "$S/vms/vm1/halted"
  local rc=0; wait "$hp" || rc=$?
  eq "after vm1 starts, the client gets its result" 0 "$rc"
  wait_for "and it is journaled delivered" 10 'test "$(state_of vm1 "$cid")" = delivered'

  # --- paused: no call (a call would hang); the request written meanwhile is served after
  touch "$S/vms/vm2/paused"
  wait_for "the daemon sees vm2 paused" 25 'grep -q "vm=vm2 reason=not-running" "$OUT"'
  local pc1 pc2
  pc1=$(calls vm2)
  client vm2 60 'echo after-pause' > "$T/paused.out" 2>&1 & local pp=$!
  sleep 3
  pc2=$(calls vm2)
  eq "a paused VM costs no call" "$pc1" "$pc2"
  rm -f "$S/vms/vm2/paused"
  rc=0; wait "$pp" || rc=$?
  eq "after vm2 is unpaused, its request is answered" "0 after-pause" "$rc $(cat "$T/paused.out")"

  # --- gone: a VM removed with a result held has it abandoned, with a log line
  n_exec=$(lines 'EXEC vm=vm3')
  client vm3 8 'sleep 2' > /dev/null 2>&1 & local gp=$!
  wait_for "vm3's request is run" 20 'test "$(lines "EXEC vm=vm3")" -gt "$n_exec"'
  cid=$(cid_of vm3 EXEC)
  touch "$S/vms/vm3/halted"  # no delivery before it is gone
  wait_for "vm3's request finishes" 20 'grep -q "DONE vm=vm3 id=$cid" "$OUT"'
  mv "$S/vms/vm3" "$T/vm3-gone"
  wait_for "the result of a VM that is gone is abandoned" 40 'test "$(state_of vm3 "$cid")" = abandoned'
  eq "one log line says so" 1 "$(lines 'vm=vm3 reason=vm-missing the VM no longer exists')"
  wait "$gp" || true
}

# fault_window NAME BODY: vm1's `sleep` runs BODY (after counting itself in the VM's /var/tmp);
# the fault must be hit by three calls, logged at most once, not retried in a hot loop, and vm1
# served again once the fake is gone.
fault_window() {
  local name=$1 body=$2 c0 e0 c3 e1 out hits
  local marks=$S/vms/vm1/tmp/fault-hits
  c0=$(calls vm1); e0=$(lines 'ERROR vm=vm1'); rm -f "$marks"
  # One line per faulty call: the PID of the call's shell (the fake may run several times a call).
  fake vm1 sleep "echo \$PPID >> /var/tmp/fault-hits; $body"
  wait_for "$name: three calls hit the fault" 60 'test "$(sort -u "$marks" | wc -l)" -ge 3'
  c3=$(calls vm1)
  sleep 4
  le "$name: backed off, not a hot loop (calls in the 4 s after the third failure)" 2 \
    $(($(calls vm1) - c3))
  e1=$(lines 'ERROR vm=vm1'); hits=$(sort -u "$marks" | wc -l)
  figure "$name: $((c3 - c0)) calls to reach 3 faulty ones, $hits faulty calls, $((e1 - e0)) error lines"
  le "$name: logged at most once for all its repeats" 1 $((e1 - e0))
  rm -f "$S/vms/vm1/bin/sleep"
  out=$(client vm1 90 "echo back-$name")
  eq "$name: recovered, vm1 is served again" "back-$name" "$out"
}

scenario_faults() {
  start_daemon
  # Hang: vm1's fetch waits in its fake sleep until dom0 kills the call; vm2 is served meanwhile.
  local e0 out hang=$S/vms/vm1/tmp/hanging
  e0=$(lines 'ERROR vm=vm1')
  fake vm1 sleep 'touch /var/tmp/hanging; exec /bin/sleep 30.25'
  wait_for "a vm1 fetch hangs" 20 'test -e "$hang"'
  out=$(client vm2 20 'echo vm2-while-vm1-hangs')
  eq "vm2 is answered while vm1's fetch hangs" vm2-while-vm1-hangs "$out"
  eq "... before vm1's call was killed" "$e0" "$(lines 'ERROR vm=vm1')"
  wait_for "vm1's hanging call is killed and logged" 20 'test "$(lines "ERROR vm=vm1")" -gt "$e0"'
  grep 'ERROR vm=vm1' "$OUT" | tail -n 1
  rm -f "$hang"
  wait_for "the next vm1 fetch (a recover, after backoff) hangs too" 20 'test -e "$hang"'
  local c1; c1=$(calls vm1)
  wait_for "it is killed too, and vm1 retried after backoff" 30 'test "$(calls vm1)" -gt "$c1"'
  eq "hang: logged once for both" $((e0 + 1)) "$(lines 'ERROR vm=vm1')"
  rm -f "$S/vms/vm1/bin/sleep"
  out=$(client vm1 90 "echo back-hang")
  eq "hang: recovered, vm1 is served again" back-hang "$out"
  # garbage and flood are one fault class (frame-header): the first logs it, the second is counted.
  fault_window garbage 'echo "not a frame"; echo "request garbage garbage"'
  fault_window flood 'exec /usr/bin/yes flood-flood-flood-e2e'
  fault_window cut-short 'kill -9 $PPID'
  echo "what vm1's faults logged:"; grep 'vm=vm1' "$OUT" | grep -v 'EXEC\|DONE\|AUTH-OK' | cut -c 22-200
  sleep 1
  eq "no hanging or flooding process outlives its killed call" 0 \
    "$(pgrep -c -f '^(/bin/sleep 30\.25|/usr/bin/yes flood-flood-flood-e2e)$' || true)"
  local vmhwm; vmhwm=$(awk '/VmHWM/ {print $2}' "/proc/$DPID/status")
  figure "daemon peak RSS after the faults: ${vmhwm} kB"
  le "the flood did not grow the daemon (peak RSS, kB)" 65536 "$vmhwm"
}

scenario_hostile() {
  start_daemon
  local q1; q1=$(Q vm1)
  eq "vm1 is served before it turns hostile" warm "$(client vm1 20 'echo warm')"
  # --- results/ a symlink to a dom0 directory (as dom0 names it): the script refuses the queue
  local target=$S/dom0/var/lib/qvm-remote before after
  before=$(ls -la "$target" | md5sum)
  # The daemon's fetch recreates a missing results/ at any moment, so the symlink replaces it
  # with one rename (`ln -sT` into place would put the link inside a directory made meanwhile).
  "$SIM/vm" vm1 "ln -s $target .qvm-remote/queue/results.new &&
    mv .qvm-remote/queue/results .qvm-remote/queue/results.old &&
    until mv -T .qvm-remote/queue/results.new .qvm-remote/queue/results 2>/dev/null; do
      rmdir .qvm-remote/queue/results || true; done && test -h .qvm-remote/queue/results"
  client vm1 6 'echo through-symlink' > /dev/null 2>&1 || true
  wait_for "the symlinked queue is refused and logged" 30 \
    'grep -Eq "vm=vm1 reason=vm-script-error (fetch|deliver): symlinked-queue" "$OUT"'
  out=$(client vm2 20 'echo vm2-ok')
  eq "vm2 is served meanwhile" vm2-ok "$out"
  after=$(ls -la "$target" | md5sum)
  [ "$before" = "$after" ] || [ "$(ls "$target" | sort)" = "$(cd "$target" && ls | sort)" ]
  eq "nothing written through the symlink" "" "$(find "$target" -newer "$OUT" -name '*.exit' -o -newer "$OUT" -name '*-*-*-*.out' | head -n 1)"
  "$SIM/vm" vm1 "rm .qvm-remote/queue/results && mkdir -p -m 0700 .qvm-remote/queue/results"
  sleep 1
  out=$(client vm1 90 'echo after-symlink')
  eq "vm1 is served once its queue is sound" after-symlink "$out"

  # --- a FIFO as .auth: never opened; the lone body is answered as a request without token
  local cid; cid=$(date +%Y%m%d-%H%M%S)-777-$(openssl rand -hex 8)
  "$SIM/vm" vm1 "cd .qvm-remote/queue/pending && printf 'echo fifo\n' > $cid && mkfifo $cid.auth"
  out=$(client vm2 20 'echo vm2-fifo')
  eq "vm2 is served while vm1 has a FIFO .auth" vm2-fifo "$out"
  wait_for "the body with a FIFO .auth is answered" 30 'test -f "$q1/results/$cid.exit"'
  [ "$(cat "$q1/results/$cid.exit")" != 0 ] || fail "the FIFO request did not run (non-zero exit)"
  eq "it never ran" "" "$(grep "EXEC vm=vm1 id=$cid" "$OUT")"

  # --- 100,000 names in pending/: bounded passes; vm2 keeps being served
  # Made beside the queue, then put in place with one rename: the daemon's sweeps would start
  # removing them while they are made, so a count after making them would measure its speed.
  "$SIM/vm" vm1 "mkdir .qvm-remote/junk && cd .qvm-remote/junk &&
    seq -f 'junk%06g' 1 100000 | xargs touch"
  eq "vm1 made 100000 junk names" 100000 "$(ls "$S/vms/vm1/home/user/.qvm-remote/junk" | wc -l | tr -d ' ')"
  local r0; r0=$(lines 'vm=vm1 .*bad entries removed')
  "$SIM/vm" vm1 "cd .qvm-remote && mv queue/pending pending.old &&
    until mv -T junk queue/pending 2>/dev/null; do rmdir queue/pending || true; done"
  local i
  for i in 1 2 3; do
    out=$(client vm2 20 "echo vm2-flooded-$i")
    eq "vm2 is served while vm1's pending/ is flooded ($i)" "vm2-flooded-$i" "$out"
  done
  figure "junk names left in vm1's pending/ after vm2's 3 requests: $(ls "$q1/pending" | wc -l | tr -d ' ')"
  wait_for "vm1's junk is being removed in bounded passes" 30 \
    'test "$(ls "$q1/pending" | wc -l)" -lt 100000'
  le "the removed entries are logged at most once an interval" $((r0 + 1)) \
    "$(lines 'vm=vm1 .*bad entries removed')"
  local vmhwm; vmhwm=$(awk '/VmHWM/ {print $2}' "/proc/$DPID/status")
  figure "daemon peak RSS with 100000 junk names in a VM: ${vmhwm} kB"
  le "the daemon stays small (peak RSS, kB)" 65536 "$vmhwm"
}

"scenario_$SCENARIO"
kill "$DPID"; wait "$DPID" || true; DPID=
if [ "$FAILS" -gt 0 ]; then
  echo "--- daemon output (last 60 lines)"; tail -n 60 "$OUT"
  echo "$FAILS failures"; exit 1
fi
echo "all passed"
