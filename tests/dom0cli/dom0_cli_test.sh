#!/bin/bash
# qvm-remote-dom0's command line: the key subcommands (authorize, revoke, keys) against a
# temporary --root, the exit codes (0 ok, 1 runtime refusal, 2 usage), --help and --version.
# Run mode itself is only checked up to its usage errors here (they are refused before the
# daemon starts); the daemon's behaviour is the simulation tests' business.
# Usage: dom0_cli_test.sh /path/to/qvm-remote-dom0
set -euo pipefail
BIN=${1:?usage: $0 /path/to/qvm-remote-dom0}
# Under /tmp whatever TMPDIR says, 0755: the key store checks that no parent is group/world
# writable (except sticky /tmp).
T=$(mktemp -d /tmp/qvmr-dom0cli.XXXXXX)
chmod 0755 "$T"
trap 'rm -rf "$T"' EXIT
FAILS=0
R=$T/root
mkdir -m 0755 "$R"
KD=$R/etc/qubes/remote.d

fail() {
  echo "FAIL: $*" >&2
  FAILS=$((FAILS + 1))
}

# run [STDIN-FILE] -- ARGS...: runs the binary; sets RC, OUT, ERR. Without a file, stdin is
# /dev/null (never the terminal the test runs from).
run() {
  local in=/dev/null
  if [[ $1 != -- ]]; then
    in=$1
    shift
  fi
  shift
  set +e
  "$BIN" "$@" <"$in" >"$T/.out" 2>"$T/.err"
  RC=$?
  set -e
  OUT=$(cat "$T/.out")
  ERR=$(cat "$T/.err")
}
expect_rc() {
  [[ $RC == "$1" ]] || fail "$2: exit $RC, want $1"$'\n'"stdout: $OUT"$'\n'"stderr: $ERR"
}
expect_out() { grep -Eq -- "$1" <<<"$OUT" || fail "$2: stdout does not match /$1/:"$'\n'"$OUT"; }
expect_err() { grep -Eq -- "$1" <<<"$ERR" || fail "$2: stderr does not match /$1/:"$'\n'"$ERR"; }
expect_err_one_line() {
  [[ $(wc -l <"$T/.err") == 1 ]] || fail "$1: stderr is not one line:"$'\n'"$ERR"
  [[ $ERR == "qvm-remote-dom0: "* ]] || fail "$1: stderr does not start 'qvm-remote-dom0: ': $ERR"
}
fingerprint() { printf %s "$1" | sha256sum | cut -c1-16; }
input() { printf "$@" >"$T/.in"; }

K1=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
K2=fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210
K3=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
k3=${K3,,}

# --- help, version, usage errors -------------------------------------------------------------
run -- --help
expect_rc 0 "--help"
expect_out '^EXAMPLES$' "--help has an EXAMPLES section"
expect_out "authorize work -$" "--help shows the pull form of authorize"
run -- --version
expect_rc 0 "--version"
expect_out '^qvm-remote-dom0 [0-9]+\.[0-9]+\.[0-9]+' "--version prints name and version"
run -- --no-such-option
expect_rc 2 "an unknown option is usage"
expect_err_one_line "unknown option"
run -- no-such-command
expect_rc 2 "an unknown subcommand is usage"
run -- --transport local --once --root "$R"
expect_rc 2 "--transport local without --local-dir"
expect_err "--local-dir" "the message names --local-dir"
expect_err_one_line "--transport local without --local-dir"
run -- --transport sideways --root "$R"
expect_rc 2 "an unknown transport"
run -- --local-dir "$T/vms" --root "$R"
expect_rc 2 "--local-dir without --transport local"
for w in 0 257 -1 many; do
  run -- --workers "$w" --root "$R"
  expect_rc 2 "--workers $w"
done
run -- --root relative/dir keys
expect_rc 2 "a relative --root"
run -- --vm ../x --root "$R"
expect_rc 2 "--vm ../x"
run -- --once keys --root "$R"
expect_rc 2 "a run-mode option with a subcommand"
run -- revoke --root "$R"
expect_rc 2 "revoke without a VM"

# --- keys on an empty store ------------------------------------------------------------------
run -- keys --root "$R"
expect_rc 0 "keys with no key directory"
expect_out '^no keys configured: nothing will run' "empty keys says nothing will run"

# --- authorize from stdin --------------------------------------------------------------------
input '%s\n' "$K1"
run "$T/.in" -- authorize work - --root "$R"
expect_rc 0 "authorize work - (key and newline on stdin)"
expect_out "^authorized work \\(fingerprint $(fingerprint "$K1")\\)$" "authorize prints the fingerprint"
[[ -z $ERR ]] || fail "authorize from stdin warns nothing: $ERR"
[[ $(stat -c %a "$KD") == 700 ]] || fail "key dir mode $(stat -c %a "$KD"), want 700"
[[ $(stat -c %a "$KD/work.key") == 600 ]] || fail "key file mode $(stat -c %a "$KD/work.key"), want 600"
[[ $(cat "$KD/work.key") == "$K1" && $(wc -c <"$KD/work.key") == 65 ]] ||
  fail "key file holds the key and one newline"

input '%s' "$K2"
run "$T/.in" -- authorize --root "$R" dev
expect_rc 0 "authorize dev with no KEY and stdin a file (no trailing newline)"
expect_out "^authorized dev \\(fingerprint $(fingerprint "$K2")\\)$" "dev's fingerprint"

set +e
printf '%s\n' "$K2" | "$BIN" authorize work - --root "$R" >"$T/.out" 2>"$T/.err"
RC=$?
set -e
OUT=$(cat "$T/.out")
ERR=$(cat "$T/.err")
expect_rc 0 "authorize from a pipe replaces the key"
[[ $(cat "$KD/work.key") == "$K2" ]] || fail "re-authorize replaced work's key"
set +e
printf '%s' "$K1" | "$BIN" authorize work --root "$R" >"$T/.out" 2>"$T/.err"
RC=$?
set -e
expect_rc 0 "authorize from a pipe without a newline, no KEY word"
[[ $(cat "$KD/work.key") == "$K1" ]] || fail "pipe without newline stored the key"

# At a terminal: a prompt, the key not echoed, the terminal's echo back on afterwards. The key is
# written only once the prompt is seen, so echo is already off: no timing involved.
/usr/bin/python3 - "$BIN" "$R" "$K2" <<'PYEOF' || fail "authorize at a terminal"
import os, pty, sys, termios
binary, root, key = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(binary, [binary, "authorize", "atty", "--root", root])
def read_until(marker):
    out = b""
    while marker not in out:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out
prompt = read_until(b"press Enter: ")
assert b"Paste the key of atty" in prompt, prompt
assert not termios.tcgetattr(fd)[3] & termios.ECHO, "echo is off while the key is read"
os.write(fd, key.encode() + b"\n")
rest = read_until(b"\x00never")
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, (status, rest)
assert key[:16].encode() not in prompt + rest, "the key was echoed: %r" % rest
assert b"authorized atty (fingerprint " in rest, rest
PYEOF
[[ $(cat "$KD/atty.key" 2>/dev/null) == "$K2" ]] || fail "the key typed at a terminal is stored"
rm -f "$KD/atty.key"

# --- authorize from the argument: works, warns -----------------------------------------------
run -- authorize --root "$R" upper "$K3"
expect_rc 0 "authorize with the key as an argument"
expect_err "warning: a key on the command line is visible" "a key argument is warned about"
expect_err "qvm-run --pass-io upper 'cat ~/.qvm-remote/auth.key' \\| sudo qvm-remote-dom0 authorize upper -" \
  "the warning suggests the pull form"
expect_out "^authorized upper \\(fingerprint $(fingerprint "$k3")\\)$" "an upper-case key is stored lower-case"
[[ $(cat "$KD/upper.key") == "$k3" ]] || fail "upper-case key stored lower-case"

# --- bad keys: a runtime refusal (1), nothing written, never echoed --------------------------
bad_keys=("$K1$K1" "${K1:0:63}" "${K1:0:63}g" "$K1 " "")
for i in "${!bad_keys[@]}"; do
  input '%s\n' "${bad_keys[$i]}"
  run "$T/.in" -- authorize --root "$R" badkey -
  expect_rc 1 "bad key #$i"
  expect_err_one_line "bad key #$i"
  [[ ! -e $KD/badkey.key ]] || fail "bad key #$i wrote a key file"
  if [[ -n ${bad_keys[$i]} ]] && grep -qF -- "${bad_keys[$i]:0:20}" "$T/.err"; then
    fail "bad key #$i is echoed in the error"
  fi
done
input '%s\r\n' "$K1"
run "$T/.in" -- authorize --root "$R" badkey -
expect_rc 1 "a CRLF key"
expect_err 'r\\n' "a CRLF key is named as such"
input '%s\n\n' "$K1"
run "$T/.in" -- authorize --root "$R" badkey -
expect_rc 1 "a key and two newlines"
head -c 100000 /dev/zero | tr '\0' a >"$T/.in"
run "$T/.in" -- authorize --root "$R" badkey -
expect_rc 1 "100 kB on stdin"
expect_err "more than 4096 bytes" "a large stdin is refused by size"
run -- authorize --root "$R" badkey -
expect_rc 1 "an empty stdin"
expect_err "no key on stdin" "an empty stdin is named"
run -- authorize --root "$R" badkey nothex
expect_rc 1 "a bad key argument"
[[ ! -e $KD/badkey.key ]] || fail "no key file for badkey"

# --- hostile VM names: usage (2), no file anywhere -------------------------------------------
input '%s\n' "$K1"
before=$(find "$T" | sort)
for vm in '../x' 'a/b' '-rf' "$(printf 'a%.0s' {1..40})" '' '.hidden' '1abc' 'a b' $'a\nb'; do
  run "$T/.in" -- authorize --root "$R" -- "$vm" -
  expect_rc 2 "authorize hostile VM name [$vm]"
  run -- revoke --root "$R" -- "$vm"
  expect_rc 2 "revoke hostile VM name [$vm]"
done
run "$T/.in" -- authorize --root "$R" -rf -
expect_rc 2 "-rf as an option word"
after=$(find "$T" -path "$T/.out" -prune -o -path "$T/.err" -prune -o -path "$T/.in" -prune -o -print | sort)
before=$(grep -vxF -e "$T/.out" -e "$T/.err" -e "$T/.in" <<<"$before")
[[ $before == "$after" ]] || fail "hostile names created files:"$'\n'"$(diff <(echo "$before") <(echo "$after"))"

# --- keys --------------------------------------------------------------------------------------
run -- keys --root "$R"
expect_rc 0 "keys"
want="dev    $(fingerprint "$K2")
upper  $(fingerprint "$k3")
work   $(fingerprint "$K1")"
[[ $OUT == "$want" ]] || fail "keys lists VM and fingerprint, sorted:"$'\n'"$OUT"$'\n'"want:"$'\n'"$want"
for k in "$K1" "$K2" "$k3"; do
  if grep -qF "${k:0:16}" <<<"$OUT"; then fail "keys prints a key prefix"; fi
done
run -- --root "$R" keys
expect_rc 0 "--root before the subcommand"
[[ $OUT == "$want" ]] || fail "--root before keys lists the same"

# Problems are shown per line, and the other keys still listed.
chmod 0644 "$KD/upper.key" || fail "upper.key exists"
printf 'junk\n' >"$KD/junk.key"
chmod 0600 "$KD/junk.key"
run -- keys --root "$R"
expect_rc 0 "keys with problems"
expect_out "^upper +untrusted: .*0644" "a readable key is shown untrusted"
expect_out "^junk +invalid: " "a non-key is shown invalid"
expect_out "^work +$(fingerprint "$K1")$" "a good key is still listed"
rm -f "$KD/junk.key"

# --- revoke ------------------------------------------------------------------------------------
run -- revoke --root "$R" work
expect_rc 0 "revoke work"
expect_out "^revoked work \\(fingerprint $(fingerprint "$K1")\\)$" "revoke names the fingerprint"
[[ ! -e $KD/work.key ]] || fail "revoke removed work.key"
run -- revoke --root "$R" upper
expect_rc 0 "revoke a VM whose key file is untrusted"
[[ ! -e $KD/upper.key ]] || fail "revoke removed upper.key"
run -- keys --root "$R"
[[ $OUT == "dev    $(fingerprint "$K2")" || $OUT == "dev  $(fingerprint "$K2")" ]] ||
  fail "keys after revoke lists dev only:"$'\n'"$OUT"
run -- revoke --root "$R" work
expect_rc 1 "revoke twice"
expect_err "no key for VM work" "revoke twice says there is no key"
expect_err_one_line "revoke twice"
run -- revoke --root "$R" dev
run -- keys --root "$R"
expect_out '^no keys configured: nothing will run' "keys after revoking all"

# An untrusted key directory: authorize refuses (1) rather than store a key that would be refused.
chmod 0777 "$KD" || fail "key dir exists"
input '%s\n' "$K1"
run "$T/.in" -- authorize --root "$R" work -
expect_rc 1 "authorize into a world-writable key directory"
expect_err_one_line "untrusted key directory"
chmod 0700 "$KD"

# --- run mode on a simulated dom0 ----------------------------------------------------------------
# One sweep of an empty simulated dom0 with the VM named on the command line: it starts, says
# nothing will run (no keys), and exits 0 under the daemon's own --root state.
S=$T/sim
mkdir -m 0755 "$S" "$S/dom0" "$S/vms" "$S/vms/work"
run -- --root "$S/dom0" --transport local --local-dir "$S/vms" --once --vm work
expect_rc 0 "--once on an empty simulated dom0"
[[ -e $S/dom0/var/lib/qvm-remote/journal.db ]] || fail "--once kept its state under --root"
run -- --root "$S/dom0/" --transport local --local-dir "$S/vms" --once --dry-run --vm work --workers 1
expect_rc 0 "--once --dry-run, --root with a trailing slash"

if ((FAILS > 0)); then
  echo "$FAILS failure(s)" >&2
  exit 1
fi
echo "dom0_cli: all passed"
