#!/bin/bash
# qvm-remote-policy test: cases of the policy and of FILEs, failures, --coverage.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

P=$T/policy
mkpolicydir "$P"
write_base_policy "$P/10-base.yaml"
write "$P/50-tests.yaml" <<'YAML'
version: 1
tests:
  - { vm: agent, cmd: 'qvm-ls --running', expect: allow, rule: 'qvm-ls   [--running]' }
  - { vm: agent, cmd: 'xl list', expect: deny, reason: no-rule, level: read-only }
  - { vm: watcher, cmd: 'xl list -l | grep -i x', expect: allow, rule: 'xl list [-l]', level: monitor }
  - { vm: agent, cmd: 'rm -rf /', expect: deny, reason: blocked }
YAML
D=(--policy-dir "$P" --grants-dir "$T/grants")

expect_rc 0 "all pass" test --policy-dir "$P"
[[ $OUT == "4 passed, 0 failed" ]] || fail "summary, got '$OUT'"

# FILEs add cases (and may define VMs); a failing case exits 1 with a FAIL line.
F=$T/more.yaml
write "$F" <<'YAML'
version: 1
vms:
  extra: { level: monitor }
tests:
  - { vm: extra, cmd: 'xl list', expect: allow }
  - { vm: agent, cmd: 'xl info', expect: deny }
  - { vm: agent, cmd: 'qvm-ls', expect: allow, rule: 'qvm-prefs <any-vm> <prop>' }
  - { vm: agent, cmd: 'xl list', expect: deny, reason: blocked }
  - { vm: agent, cmd: 'xl info', expect: allow, level: monitor }
YAML
expect_rc 1 "failing cases" test "$F" --policy-dir "$P"
expect_out "^5 passed, 4 failed$" "summary counts"
expect_out "^FAIL $F:6: agent 'xl info': expected deny, got allow \\(by 'xl info' at $P/10-base.yaml:21\\)$" \
  "wrong decision"
expect_out "^FAIL $F:7: agent 'qvm-ls': expected rule 'qvm-prefs <any-vm> <prop>', got rule 'qvm-ls \\[--running\\]'" \
  "wrong rule"
expect_out "^FAIL $F:8: agent 'xl list': expected reason blocked, got reason no-rule \\(no-rule: .*needs level monitor" \
  "wrong reason, with the decision's message"
expect_out "^FAIL $F:9: agent 'xl info': expected level monitor, got level read-only" "wrong level"
expect_no_out "^FAIL $F:5:" "a VM defined in FILE is known"
expect_no_out "^FAIL $P/" "policy cases still pass"

# `at`: the default instant is fixed (2026-11-23T12:00:00Z), so grants in --grants-dir that
# expire around it decide the cases; without --grants-dir no grants are used.
G=$T/grants
mkdir -m 0700 "$G"
(umask 077 && cat >"$G/agent.yaml") <<'YAML'
vm: agent
level: monitor
expires: 2026-11-23T12:30:00.000Z
created: 2026-11-23T11:45:00.000Z
by: 'tester'
YAML
A=$T/at.yaml
write "$A" <<'YAML'
version: 1
tests:
  - { vm: agent, cmd: 'xl list', expect: allow, level: monitor }
  - { vm: agent, cmd: 'xl list', expect: deny, at: '2026-11-23T12:30:00Z' }
  - { vm: agent, cmd: 'xl list', expect: allow, at: '2026-11-23T12:29:59.999Z' }
YAML
expect_rc 1 "grants at the fixed instant" test "$A" --policy-dir "$P" --grants-dir "$G"
expect_out "^6 passed, 1 failed$" "the at cases pass with the grant"
expect_no_out "^FAIL $A" "the at cases pass with the grant"
expect_out "^FAIL $P/50-tests.yaml:4: agent 'xl list': expected deny and reason no-rule and level read-only, got allow and no reason and level monitor" \
  "the grant raised agent at the fixed instant"
expect_rc 1 "no grants without --grants-dir" test "$A" --policy-dir "$P"
expect_out "^FAIL $A:3: agent 'xl list': expected allow and level monitor, got deny and level read-only" \
  "the grant is not used"

# --coverage: rules no passing allow case used; 100% exits 0, less exits 1.
expect_rc 1 "coverage below 100%" test --coverage --policy-dir "$P"
expect_out "^4 passed, 0 failed$" "cases pass"
expect_out "^uncovered: $P/10-base.yaml:20: read-only: qvm-prefs <any-vm> <prop>$" "uncovered rule"
expect_out "^uncovered: $P/10-base.yaml:32: vms.agent.allow: qvm-start --quiet <vm>$" \
  "uncovered allow rule"
expect_no_out "^uncovered: .*:22: .*grep" "grep, used by a later pipeline stage, is covered"
expect_no_out "^uncovered: .*:19: " "qvm-ls is covered"
expect_out "^coverage: 3/7 rules \\(42%\\)$" "coverage figure"
C=$T/cover.yaml
write "$C" <<'YAML'
version: 1
tests:
  - { vm: agent, cmd: 'qvm-prefs work netvm; xl info', expect: allow }
  - { vm: agent, cmd: 'qvm-start --quiet sandbox', expect: allow }
  - { vm: watcher, cmd: 'qvm-start sandbox', expect: deny }
YAML
expect_rc 1 "deny cases cover nothing" test --coverage "$C" --policy-dir "$P"
expect_out "^uncovered: $P/10-base.yaml:26: manage: qvm-start <vm>$" "manage rule uncovered"
expect_out "^coverage: 6/7 rules \\(85%\\)$" "coverage figure"
write "$T/mgr.yaml" <<'YAML'
version: 1
vms:
  mgr: { level: manage, targets: [ '*' ] }
tests:
  - { vm: mgr, cmd: 'qvm-start sandbox', expect: allow }
YAML
expect_rc 0 "full coverage" test --coverage "$C" "$T/mgr.yaml" --policy-dir "$P"
expect_out "^coverage: 7/7 rules \\(100%\\)$" "100%"
expect_rc 1 "a failing case fails --coverage at 100% too" test --coverage "$C" "$T/mgr.yaml" "$F" \
  --policy-dir "$P"

# Load and usage errors: 2.
write "$T/bad.yaml" <<'YAML'
version: 1
tests:
  - { vm: agent, cmd: 'qvm-ls', expect: maybe }
YAML
expect_rc 2 "bad test case" test "$T/bad.yaml" --policy-dir "$P"
expect_err "^$T/bad.yaml:3:[0-9]+: error: " "error names file:line:col"
expect_rc 2 "missing FILE" test "$T/nope.yaml" --policy-dir "$P"
expect_rc 2 "usage" test --bogus
finish
