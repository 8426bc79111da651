#!/bin/bash
# The simulated dom0 of tools/sim: qvm-run behaves like Qubes' (qubes.VMShell reads the script
# and the data from one stream, `; exit` appended, WaitForSession without --no-gui, autostart,
# paused VMs, SIM_QREXEC_MS, the call log), VMs are isolated from each other and from dom0, and
# the fake dom0 tools keep state and log their argv even when run with a clean environment.
# Usage: sim_qvm_run_test.sh [ISOLATION]   (ISOLATION: a mode for tools/sim/new --isolation;
# default: what works; exit 77 = skipped, when that mode does not work here)
set -euo pipefail
SIM=$(cd "$(dirname "$(readlink -f "$0")")/../../tools/sim" && pwd -P)
iso_arg=()
if [ "${1:-}" = none ]; then
  iso_arg=(--isolation none)
elif [ -n "${1:-}" ]; then
  got=$(SIM_ISOLATION=$1 "$SIM/lib/isolation")
  [ "$got" = "$1" ] || { echo "SKIP: isolation $1 does not work here ($got)"; exit 77; }
  iso_arg=(--isolation "$1")
fi
# Under /tmp whatever TMPDIR says: the parents of a simulation must not be group/world-writable.
T=$(mktemp -d /tmp/qvmr-sim-test.XXXXXX)
chmod 0755 "$T"
trap 'rm -rf "$T"' EXIT
# set -e stops at an unexpected failure: say where, so a stop reads as a failure, not silence.
trap 'echo "FAIL: stopped at line $LINENO: $BASH_COMMAND" >&2' ERR
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
# eq DESC WANT GOT
eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: want [$2], got [$3]"; fi; }
# yes DESC CMD...: CMD must succeed; no DESC CMD...: CMD must fail
yes() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
no() { local d=$1; shift; if "$@"; then fail "$d"; else ok "$d"; fi; }

S=$T/sim
mode=$("$SIM/new" "${iso_arg[@]}" "$S" vm1 vm2 2>"$T/new.err") || { cat "$T/new.err" >&2; exit 1; }
echo "isolation: $mode"
export SIM_ROOT=$S
QR=$S/dom0/bin/qvm-run
V=$SIM/vm
lines() { wc -l < "$1" | tr -d ' '; }

# --- layout
eq "remote.conf names the VMs" 'QVM_REMOTE_VMS="vm1 vm2"' "$(grep '^QVM_REMOTE_VMS=' "$S/dom0/etc/qubes/remote.conf")"
eq "exec path is the logged wrappers" "QVM_REMOTE_EXEC_PATH=\"$S/dom0/exec-bin:/usr/bin:/bin\"" \
   "$(grep '^QVM_REMOTE_EXEC_PATH=' "$S/dom0/etc/qubes/remote.conf")"
eq "remote.d is 0700" 700 "$(stat -c %a "$S/dom0/etc/qubes/remote.d")"
eq "remote.conf is 0644" 644 "$(stat -c %a "$S/dom0/etc/qubes/remote.conf")"
for d in etc/qubes/remote-policy.d var/lib/qvm-remote var/log/qubes run/qvm-remote; do
  eq "dom0/$d is 0755" 755 "$(stat -c %a "$S/dom0/$d")"
done
eq "dom0 verb exports QVMR_ROOT" "$S/dom0" "$("$SIM/dom0" bash -c 'echo "$QVMR_ROOT"')"
eq "dom0 verb puts the fakes first" "$S/dom0/bin/qvm-run" "$("$SIM/dom0" bash -c 'command -v qvm-run')"

# --- one stream: the script line, then the data; the script reads only what it asks for
out=$(printf 'fetch\nhello world' | "$QR" --no-gui --pass-io --no-autostart -- vm1 'read op; echo "got:$op"; head -c 5')
eq "script and data share one stream" "got:fetch"$'\n'"hello" "$out"
out=$(printf 'fetch\nhello world' | "$QR" --no-gui --pass-io --no-autostart -- vm1 'read op; head -c 6 >/dev/null; cat')
eq "data the script did not read stays in the stream" "world" "$out"
# Without the appended `; exit`, bash would go on to run the stdin line as a command.
out=$(printf 'echo INJECTED\n' | "$QR" --no-gui -p --no-autostart vm1 'echo one')
eq "; exit is appended" "one" "$out"
out=$(printf 'x\n' | "$QR" --no-gui -p -u user vm1 'echo a' 'b')
eq "-u USER accepted, COMMAND words joined" "a b" "$out"
rc=0; "$QR" --no-gui -p vm1 'exit 7' </dev/null || rc=$?
eq "exit status of the VM's script" 7 "$rc"
out=$("$QR" --no-gui vm1 'echo hidden' </dev/null)
eq "without --pass-io nothing is passed" "" "$out"

# --- the call log
: > "$S/qvm-run.log"
"$QR" --no-gui --pass-io --no-autostart -- vm1 'echo x
echo y' >/dev/null </dev/null
eq "one line per --no-gui call" 1 "$(lines "$S/qvm-run.log")"
yes "logged with VM and escaped script" grep -qE '^[0-9]+\.[0-9]{9} vm1 echo x\\necho y$' "$S/qvm-run.log"
: > "$S/qvm-run.log"
"$QR" --pass-io -- vm1 'true' </dev/null
eq "a call without --no-gui logs two lines" 2 "$(lines "$S/qvm-run.log")"
yes "WaitForSession logged first" grep -qE '^[0-9.]+ vm1 qubes\.WaitForSession$' <(head -n 1 "$S/qvm-run.log")
yes "then the script" grep -qE '^[0-9.]+ vm1 true$' <(tail -n 1 "$S/qvm-run.log")
: > "$S/qvm-run.log"
"$QR" --no-gui -p vm1 "echo $(printf 'x%.0s' $(seq 400))" >/dev/null </dev/null
eq "logged script cut at 300 chars" 300 "$(sed 's/^[^ ]* [^ ]* //' "$S/qvm-run.log" | awk '{ print length($0) }')"

# --- unknown and hostile VM names
rc=0; err=$("$QR" --no-gui -p nosuch 'true' 2>&1 </dev/null) || rc=$?
eq "unknown VM exits 1" 1 "$rc"
yes "unknown VM: Qubes' message" grep -q "qvm-run: error: no such domain: 'nosuch'" <<< "$err"
rc=0; "$QR" --no-gui -p ../sim/vms/vm1 'echo pwned' </dev/null >"$T/bad.out" 2>&1 || rc=$?
eq "a path as VM name is no domain" 1 "$rc"
no "a path as VM name runs nothing" grep -q pwned "$T/bad.out"

# --- halted VMs: --no-autostart runs nothing, prints nothing, exits SIM_NOAUTOSTART_RC
for want in 0 1; do
  : > "$S/vms/vm2/halted"
  rc=0; out=$(SIM_NOAUTOSTART_RC=$want "$QR" --no-gui -p --no-autostart vm2 'touch ~/marker; echo ran' 2>&1 </dev/null) || rc=$?
  eq "halted + --no-autostart exits SIM_NOAUTOSTART_RC=$want" "$want" "$rc"
  eq "halted + --no-autostart prints nothing" "" "$out"
  no "halted + --no-autostart runs nothing" test -e "$S/vms/vm2/home/user/marker"
  yes "halted + --no-autostart leaves it halted" test -e "$S/vms/vm2/halted"
done
out=$("$QR" --no-gui -p vm2 'touch ~/marker; echo ran' </dev/null)
eq "without --no-autostart a halted VM is started and runs" ran "$out"
no "the start removed the halted flag" test -e "$S/vms/vm2/halted"

# --- a paused VM counts as running; the call waits until it is unpaused
: > "$S/vms/vm1/paused"
"$QR" --no-gui -p --no-autostart vm1 'echo resumed' </dev/null >"$T/paused.out" 2>&1 &
pid=$!
sleep 1.5
yes "a call to a paused VM waits" kill -0 "$pid" 2>/dev/null
eq "and prints nothing yet" "" "$(cat "$T/paused.out")"
rm -f "$S/vms/vm1/paused"
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
no "after unpausing the call finished" kill -0 "$pid" 2>/dev/null
wait "$pid" || true
eq "after unpausing the script ran" resumed "$(cat "$T/paused.out")"

# --- SIM_QREXEC_MS: a lower bound only (a busy machine can be slower, never faster)
t0=$(date +%s%N)
SIM_QREXEC_MS=700 "$QR" --pass-io vm1 true </dev/null
t1=$(date +%s%N)
yes "SIM_QREXEC_MS=700 costs >= 1.4 s with WaitForSession" test $(( (t1 - t0) / 1000000 )) -ge 1400
rc=0; SIM_QREXEC_MS=abc "$QR" --no-gui -p vm1 true </dev/null 2>/dev/null || rc=$?
no "a bad SIM_QREXEC_MS is refused" test "$rc" = 0

# --- qvm-ls / qvm-check states (dom0/bin: what the daemon's transport calls)
: > "$S/vms/vm2/halted"; : > "$S/vms/vm1/paused"
eq "qvm-ls raw states" "dom0|Running vm1|Paused vm2|Halted" \
   "$("$S/dom0/bin/qvm-ls" --raw-data --fields NAME,STATE | tr '\n' ' ' | sed 's/ $//')"
eq "qvm-ls one VM" "vm2|Halted" "$("$S/dom0/bin/qvm-ls" --raw-data --fields NAME,STATE vm2)"
yes "qvm-check --running: paused counts" "$S/dom0/bin/qvm-check" --running vm1
yes "qvm-check --paused" "$S/dom0/bin/qvm-check" --paused vm1
no "qvm-check --running on halted" "$S/dom0/bin/qvm-check" --running vm2
yes "qvm-check --halted" "$S/dom0/bin/qvm-check" --halted vm2
rc=0; "$S/dom0/bin/qvm-check" nosuch 2>/dev/null || rc=$?
eq "qvm-check unknown VM" 2 "$rc"
rm -f "$S/vms/vm1/paused"

# --- the policy's programs: logged, stateful, found with a clean environment
: > "$S/dom0-exec.log"
EP="$S/dom0/exec-bin:/usr/bin:/bin"
env -i PATH="$EP" HOME=/root qvm-start vm2
no "qvm-start with env -i starts vm2" test -e "$S/vms/vm2/halted"
yes "qvm-start logged" grep -qE '^[0-9]+\.[0-9]{9} qvm-start vm2$' "$S/dom0-exec.log"
env -i PATH="$EP" qvm-shutdown --wait vm2
yes "qvm-shutdown halts vm2" test -e "$S/vms/vm2/halted"
env -i PATH="$EP" qvm-prefs vm1 memory 800
eq "qvm-prefs keeps a property" 800 "$(env -i PATH="$EP" qvm-prefs vm1 memory)"
env -i PATH="$EP" qvm-tags vm1 add "$(printf 'a\nb')" 2>/dev/null || true
eq "every call one line, even with a newline in an argument" 5 "$(lines "$S/dom0-exec.log")"
yes "xl list shows running VMs only" bash -c "env -i PATH='$EP' xl list | grep -q '^vm1 ' && ! env -i PATH='$EP' xl list | grep -q '^vm2 '"
eq "systemctl is-active" active "$(env -i PATH="$EP" systemctl --no-pager is-active qubesd.service)"
n=$(lines "$S/dom0-exec.log")
"$S/dom0/bin/qvm-ls" >/dev/null
eq "dom0/bin tools are not logged" "$n" "$(lines "$S/dom0-exec.log")"
no "qvm-run is not on the exec path" test -e "$S/dom0/exec-bin/qvm-run"
rm -f "$S/vms/vm2/halted"

# --- the VM side
home=/home/user; case $mode in none*) home=$S/vms/vm1/home/user ;; esac
eq "HOME and cwd" "$home $home" "$("$V" vm1 'echo "$HOME $(pwd)"')"
mkdir -p "$S/vms/vm1/bin"
printf '#!/bin/sh\necho lying ls\n' > "$S/vms/vm1/bin/ls"; chmod 0755 "$S/vms/vm1/bin/ls"
eq "the VM's own bin leads PATH" "lying ls" "$("$V" vm1 ls)"
rm -rf "$S/vms/vm1/bin"
case $mode in
  none*) echo "SKIP: VM isolation tests: isolation is $mode" ;;
  *)
    "$V" vm1 'ln -s /etc results; echo x > /home/user/probe'
    eq "a VM's write lands in its home" x "$(cat "$S/vms/vm1/home/user/probe")"
    eq "a VM's symlink stays as written" /etc "$(readlink "$S/vms/vm1/home/user/results")"
    "$V" vm2 'echo topsecret > /home/user/secret'
    mkdir -m 0755 "$T/dom0dir"
    "$V" vm1 "ln -s ../../vm2/home/user/secret rel; ln -s '$S/vms/vm2/home/user/secret2' abs
      ln -s '$S/dom0/var/lib/qvm-remote/pwn' d0; ln -s '$T/dom0dir/pwn' t0
      for f in rel abs d0 t0 '$S/vms/vm2/home/user/secret3' '$S/dom0/etc/qubes/pwn' '$T/dom0dir/pwn2'; do
        { echo pwned > \"\$f\"; } 2>/dev/null; done
      cat rel abs '$S/vms/vm2/home/user/secret' 2>/dev/null; umount /home 2>/dev/null; umount '$S' 2>/dev/null
      echo end > /home/user/after" > "$T/iso.out" 2>&1 || true
    eq "vm1 cannot read vm2's files" "" "$(cat "$T/iso.out")"
    eq "vm2's secret untouched" topsecret "$(cat "$S/vms/vm2/home/user/secret")"
    no "no file written into vm2's home" compgen -G "$S/vms/vm2/home/user/secret[23]"
    no "nothing written into dom0's state" test -e "$S/dom0/var/lib/qvm-remote/pwn"
    no "nothing written into dom0's config" test -e "$S/dom0/etc/qubes/pwn"
    no "nothing written into a dom0 directory of the test" compgen -G "$T/dom0dir/pwn*"
    eq "the VM's /home held (umount refused)" end "$(cat "$S/vms/vm1/home/user/after")"
    ;;
esac

if [ "$FAILS" -gt 0 ]; then echo "$FAILS failure(s)" >&2; exit 1; fi
echo "all passed ($mode)"
