#!/bin/bash
# qvm-remote-policy dev-mode grant|list|revoke, and grants as `check` sees them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

P=$T/policy
mkpolicydir "$P"
write_base_policy "$P/10-base.yaml"
G=$T/run/grants
D=(--policy-dir "$P" --grants-dir "$G")
mode() { stat -c %a "$1"; }

expect_rc 1 "before the grant" check agent 'xl list' "${D[@]}"
expect_rc 0 "empty list" dev-mode list "${D[@]}"
expect_out '^no grants$' "no grants yet"

# grant: default level = max_dev_mode (monitor); by = SUDO_USER.
SUDO_USER=alice expect_rc 0 "grant" dev-mode grant agent 30m "${D[@]}"
expect_out "^granted agent level monitor until 20[0-9-]+T[0-9:.]+Z \\(30m, by alice\\)" "grant message"
[[ -f $G/agent.yaml ]] || fail "grant file written"
[[ $(mode "$G") == 700 ]] || fail "grants dir mode $(mode "$G"), want 700"
[[ $(mode "$G/agent.yaml") == 600 ]] || fail "grant file mode $(mode "$G/agent.yaml"), want 600"
grep -qx "by: 'alice'" "$G/agent.yaml" || fail "grant records the invoking user"
grep -qx "level: monitor" "$G/agent.yaml" || fail "grant level"
EXPIRES=$(sed -n 's/^expires: //p' "$G/agent.yaml")
CREATED=$(sed -n 's/^created: //p' "$G/agent.yaml")
# expires - created is exactly 30 minutes.
$PY - "$EXPIRES" "$CREATED" <<'PYEOF' || fail "expires = created + 30m"
import sys, datetime
f = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
assert (f(sys.argv[1]) - f(sys.argv[2])).total_seconds() == 1800, sys.argv
PYEOF

expect_rc 0 "list" dev-mode list "${D[@]}"
expect_out "^agent +monitor +$EXPIRES +(29m[0-9]{2}s|30m00s) +alice$" "list row: vm level expires remaining by"

# check sees the grant now, and exactly until 1 ms before it expires.
expect_rc 0 "granted level allows monitor command" check agent 'xl list' --json "${D[@]}"
$PY -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["decision"] == "allow" and d["level"] == "monitor" and d["base_level"] == "read-only", d
g = d["grant"]
assert g["vm"] == "agent" and g["level"] == "monitor" and g["by"] == "alice", g
assert g["expires"] == sys.argv[2], g
' "$OUT" "$EXPIRES" || fail "json names the grant"
expect_rc 0 "explain names the grant" check agent 'xl list' --explain "${D[@]}"
expect_out "raised by a dev-mode grant until $EXPIRES, by alice" "explain grant"
shift_ms() {
  $PY - "$1" "$2" <<'PYEOF'
import sys, datetime
t = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ")
t += datetime.timedelta(milliseconds=int(sys.argv[2]))
print(t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000))
PYEOF
}
BEFORE=$(shift_ms "$EXPIRES" -1)
AFTER=$(shift_ms "$EXPIRES" 1)
expect_rc 0 "1 ms before expiry" check agent 'xl list' --at "$BEFORE" "${D[@]}"
expect_rc 1 "at expiry" check agent 'xl list' --at "$EXPIRES" "${D[@]}"
expect_rc 1 "1 ms after expiry" check agent 'xl list' --at "$AFTER" "${D[@]}"
expect_out '^deny: no-rule: ' "expired grant: back to read-only"
expect_rc 0 "list VM shows the grant" list agent "${D[@]}"
expect_out "^grant: monitor until $EXPIRES by alice .*\\[active" "list VM: active grant"
expect_out "^effective level: monitor$" "list VM: effective level"

# Refusals exit 2 and write nothing.
expect_rc 2 "above the cap" dev-mode grant agent 10m --level manage "${D[@]}"
expect_err "grant refused: .*above .*max_dev_mode monitor" "cap refusal message"
expect_rc 2 "longer than max_dev_duration" dev-mode grant agent 61m "${D[@]}"
expect_err "grant refused: .*max_dev_duration 1h" "duration refusal message"
expect_rc 2 "no max_dev_mode" dev-mode grant watcher 10m "${D[@]}"
expect_rc 2 "level deny" dev-mode grant agent 10m --level deny "${D[@]}"
expect_rc 2 "bad duration" dev-mode grant agent 10x "${D[@]}"
expect_rc 2 "bad level" dev-mode grant agent 10m --level root "${D[@]}"
expect_rc 2 "bad VM name" dev-mode grant 'a/b' 10m "${D[@]}"
expect_rc 2 "missing DURATION" dev-mode grant agent "${D[@]}"
[[ $(sed -n 's/^expires: //p' "$G/agent.yaml") == "$EXPIRES" ]] || fail "refusals keep the grant"
[[ $(ls "$G") == agent.yaml ]] || fail "refusals write no file"

# A grant with an explicit lower level, replacing the first one.
expect_rc 0 "grant --level read-only" dev-mode grant agent 90s --level read-only "${D[@]}"
grep -qx "level: read-only" "$G/agent.yaml" || fail "explicit level"
expect_rc 1 "a grant not above the base level changes nothing" check agent 'xl list' "${D[@]}"

# An expired grant is listed as expired.
(umask 077 && cat >"$G/other.yaml") <<'YAML'
vm: other
level: monitor
expires: 2020-01-01T01:00:00.000Z
created: 2020-01-01T00:00:00.000Z
by: 'bob'
YAML
expect_rc 0 "list with an expired grant" dev-mode list "${D[@]}"
expect_out "^other +monitor +2020-01-01T01:00:00.000Z +expired +bob" "expired marked"
expect_out "^agent +read-only " "live grant listed"

# revoke: 0, then 1 (no grant).
expect_rc 0 "revoke" dev-mode revoke agent "${D[@]}"
[[ ! -e $G/agent.yaml ]] || fail "revoke removes the file"
expect_rc 1 "revoke again" dev-mode revoke agent "${D[@]}"
expect_err "agent has no grant" "revoke without grant message"
expect_rc 2 "revoke bad VM name" dev-mode revoke '../x' "${D[@]}"
expect_rc 0 "list after revoke" dev-mode list "${D[@]}"
expect_no_out "^agent " "revoked grant gone"

# --root: the default grants directory is ROOT/run/qvm-remote/grants.
R=$T/root
mkdir -p "$R"
chmod 0755 "$R"
expect_rc 0 "grant under --root" dev-mode grant agent 10m --root "$R" --policy-dir "$P"
[[ -f $R/run/qvm-remote/grants/agent.yaml ]] || fail "grant under ROOT/run/qvm-remote/grants"
expect_rc 0 "check under --root" check agent 'xl list' --root "$R" --policy-dir "$P"

# A broken policy: grant is refused with exit 2.
B=$T/broken
mkpolicydir "$B"
write "$B/10.yaml" <<<'version: 3'
expect_rc 2 "grant with a broken policy" dev-mode grant agent 10m --policy-dir "$B" --grants-dir "$G"
expect_err "^$B/10.yaml:1:[0-9]+: error: " "the load error"
expect_rc 2 "dev-mode without subcommand" dev-mode
finish
