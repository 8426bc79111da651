#!/bin/bash
# qvm-remote-policy check: exit codes, output forms, load errors, trust.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

P=$T/policy
mkpolicydir "$P"
write_base_policy "$P/10-base.yaml"
D=(--policy-dir "$P" --grants-dir "$T/grants")

# Default output: one line; exit 0 allow, 1 deny.
expect_rc 0 "read-only command" check agent 'qvm-ls --running' "${D[@]}"
[[ $OUT == allow ]] || fail "allow prints exactly 'allow', got '$OUT'"
expect_rc 0 "pipeline with filter" check agent 'qvm-ls --running | grep -i x' "${D[@]}"
expect_rc 1 "filter as the first stage" check agent 'grep -i x' "${D[@]}"
expect_out '^deny: filter-position: ' "filter only after the first stage"
expect_rc 1 "monitor command at read-only" check agent 'xl list' "${D[@]}"
expect_out '^deny: no-rule: .*needs level monitor' "deny line names reason and needed level"
expect_rc 0 "monitor VM runs monitor command" check watcher 'xl list -l' "${D[@]}"
expect_rc 1 "blocked" check watcher 'rm -rf /' "${D[@]}"
expect_out '^deny: blocked: ' "blocked reason code"
expect_rc 1 "shell construct" check agent 'qvm-ls $(id)' "${D[@]}"
expect_out '^deny: command-substitution: ' "shell reason code"
expect_rc 1 "unknown VM is deny-level" check nobody 'qvm-ls' "${D[@]}"
expect_out '^deny: level-deny: ' "level-deny reason"
expect_rc 1 "allow rule <vm> outside targets" check agent 'qvm-start --quiet other' "${D[@]}"
expect_rc 0 "allow rule <vm> in targets" check agent 'qvm-start --quiet sandbox' "${D[@]}"
expect_rc 1 "bad VM name" check '1bad' 'qvm-ls' "${D[@]}"
expect_out '^deny: bad-vm: ' "bad VM name reason"
expect_rc 1 "words after -- are positionals" check "${D[@]}" -- agent '-x'
expect_out '^deny: no-rule: ' "'-x' is a command, not an option"

# --explain names the rule's file:line.
expect_rc 0 "explain allow" check agent 'qvm-ls --running && xl info' --explain "${D[@]}"
expect_out "allowed by: qvm-ls \\[--running\\]" "explain shows the rule text"
expect_out "at: $P/10-base.yaml:19 \\(read-only\\)" "explain shows file:line of rule 1"
expect_out "at: $P/10-base.yaml:21 \\(read-only\\)" "explain shows file:line of rule 2"
expect_rc 1 "explain deny" check agent 'rm -rf /tmp/x' --explain "${D[@]}"
expect_out '^reason: blocked$' "explain deny reason"
expect_out "^at: $P/10-base.yaml:28$" "explain deny names the pattern's file:line"

# --json: the shape other programs rely on.
expect_rc 0 "json allow" check agent 'qvm-ls --running | grep -i x; xl info 2>&1 >/dev/null' \
  --json "${D[@]}"
$PY -c '
import json, sys
d = json.loads(sys.argv[1])
p = sys.argv[2]
assert d["decision"] == "allow", d
assert d["vm"] == "agent" and d["level"] == "read-only" and d["base_level"] == "read-only", d
assert d["executor"] == "argv" and d["reason_code"] == "" and d["grant"] is None, d
assert d["rule"] == p + ":19", d["rule"]
c = d["commands"]
assert [x["command"] for x in c] == ["qvm-ls --running", "grep -i x", "xl info"], c
assert [x["at"] for x in c] == [p + ":19", p + ":22", p + ":21"], c
assert c[1]["rule"] == "grep [-i] <text>" and c[1]["origin"] == "read-only", c
pl = d["plan"]["pipelines"]
assert len(pl) == 2 and d["plan"]["connectors"] == ["seq", "seq"], d["plan"]
assert [s["argv"] for s in pl[0]["stages"]] == [["qvm-ls", "--running"], ["grep", "-i", "x"]]
assert pl[1]["stages"][0]["redirects"] == [{"fd": 2, "target": "&1"}, {"fd": 1, "target": "/dev/null"}], pl[1]
' "$OUT" "$P/10-base.yaml" || fail "json allow shape"
expect_rc 0 "json and-or connectors" check agent 'xl info && qvm-ls || qvm-ls --running' \
  --json "${D[@]}"
$PY -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["plan"]["connectors"] == ["seq", "and", "or"], d["plan"]
' "$OUT" || fail "json connectors"
expect_rc 1 "json deny" check agent 'xl list' --json "${D[@]}"
$PY -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["decision"] == "deny" and d["reason_code"] == "no-rule", d
assert d["commands"] == [] and d["plan"] is None and d["grant"] is None, d
assert "monitor" in d["message"] and d["executor"] == "none", d
' "$OUT" || fail "json deny shape"
# Bytes that are not UTF-8 never crash the JSON output.
expect_rc 1 "json with invalid utf-8" check agent $'qvm-ls \xff\xfe' --json "${D[@]}"
$PY -c 'import json,sys; json.loads(sys.argv[1])' "$OUT" || fail "json with invalid utf-8 parses"

# --at: a bad time is usage (2).
expect_rc 2 "bad --at" check agent 'qvm-ls' --at 'yesterday' "${D[@]}"
expect_rc 2 "local time --at" check agent 'qvm-ls' --at '2026-11-23T10:00:00+01:00' "${D[@]}"
expect_rc 0 "good --at" check agent 'qvm-ls' --at '2026-11-23T10:00:00Z' "${D[@]}"

# Usage errors map to 2; --help is 0.
expect_rc 2 "missing CMD" check agent "${D[@]}"
expect_rc 2 "unknown option" check agent 'qvm-ls' --bogus "${D[@]}"
expect_rc 2 "no subcommand"
expect_rc 2 "unknown subcommand" frobnicate
expect_rc 0 "--help" --help
expect_out 'check' "--help lists subcommands"
expect_rc 0 "check --help" check --help
expect_out '--explain' "check --help lists options"
for sub in list lint test dump; do
  expect_rc 0 "$sub --help" "$sub" --help
  expect_out '--policy-dir' "$sub --help lists --policy-dir"
done
for sub in grant list revoke; do
  expect_rc 0 "dev-mode $sub --help" dev-mode "$sub" --help
  expect_out '--grants-dir' "dev-mode $sub --help lists --grants-dir"
done

# A broken policy: file:line:col: error on stderr, exit 2 (fail closed: never a decision).
B=$T/broken
mkpolicydir "$B"
write_base_policy "$B/10-base.yaml"
write "$B/20-bad.yaml" <<'YAML'
version: 1
vms:
  agent:
    levle: full
YAML
expect_rc 2 "broken policy" check agent 'qvm-ls' --policy-dir "$B"
expect_err "^$B/20-bad.yaml:4:5: error: " "broken policy error names file:line:col"
[[ -z $OUT ]] || fail "broken policy prints no decision, got '$OUT'"
write "$B/20-bad.yaml" <<'YAML'
version: 1
classes:
  read-only: [ 'qvm-ls --nonexistent' ]
YAML
expect_rc 2 "rule that does not compile" check agent 'qvm-ls' --policy-dir "$B"
expect_err "^$B/20-bad.yaml:3:[0-9]+: error: " "bad rule error names file:line:col"

# An untrusted (group-writable) file is refused, and fixing the mode fixes it.
U=$T/untrusted
mkpolicydir "$U"
write_base_policy "$U/10-base.yaml"
expect_rc 0 "trusted copy" check agent 'qvm-ls' --policy-dir "$U"
chmod g+w "$U/10-base.yaml"
expect_rc 2 "group-writable policy file" check agent 'qvm-ls' --policy-dir "$U"
expect_err "$U/10-base.yaml.*0664" "untrusted error names file and mode"
chmod g-w "$U/10-base.yaml"
chmod o+w "$U"
expect_rc 2 "other-writable policy directory" check agent 'qvm-ls' --policy-dir "$U"
chmod o-w "$U"

# --root prefixes the default policy directories.
R=$T/root
mkpolicydir "$R/etc/qubes/remote-policy.d"
chmod 0755 "$R" "$R/etc" "$R/etc/qubes"
write_base_policy "$R/etc/qubes/remote-policy.d/10-base.yaml"
expect_rc 0 "--root finds the policy" check agent 'qvm-ls' --root "$R"
expect_rc 1 "--root with no policy: deny-level" check agent 'qvm-ls' --root "$T/empty-root"
expect_out '^deny: level-deny: ' "empty root denies"
# --policy-dir replaces the defaults (and is repeatable; later files mask earlier ones).
M=$T/mask
mkpolicydir "$M"
write "$M/10-base.yaml" <<'YAML'
version: 1
commands:
  qvm-ls:
    options: ['--running']
classes:
  read-only: [ 'qvm-ls' ]
vms:
  agent: { level: read-only }
YAML
expect_rc 1 "masked file: its rules are gone" check agent 'qvm-ls --running' \
  --policy-dir "$P" --policy-dir "$M"
expect_rc 0 "masked file: the later one applies" check agent 'qvm-ls' \
  --policy-dir "$P" --policy-dir "$M"
expect_rc 0 "--policy-dir replaces --root's defaults" check agent 'qvm-ls --running' \
  --root "$T/empty-root" --policy-dir "$P"

finish
