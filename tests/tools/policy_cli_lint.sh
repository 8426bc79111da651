#!/bin/bash
# qvm-remote-policy lint: errors (exit 1), warnings (exit 0), PATH arguments, usage (exit 2).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

P=$T/policy
mkpolicydir "$P"
write_base_policy "$P/10-base.yaml"

# A clean policy: no warnings, exit 0.
expect_rc 0 "clean policy" lint --policy-dir "$P"
expect_no_out 'warning:|error:' "clean policy has no findings"
expect_out '^lint: 1 file\(s\), 6 class rule\(s\), 0 warning\(s\)$' "summary line"

# Warnings: each kind, at the right file:line:col. Exit stays 0.
L=$T/lint
mkpolicydir "$L"
write_base_policy "$L/10-base.yaml"
write "$L/20-extra.yaml" <<'YAML'
version: 1
classes:
  read-only:
    - 'qvm-ls    [--running]'
    - 'qvm-prefs <any-vm> netvm'
    - 'qvm-prefs <vm> <prop>'
    - 'qvm-prefs sys-net <word>'
  monitor:
    - 'xl info'
  manage:
    - 'qvm-start sandbox'
defaults:
  max_dev_duration: 3h
vms:
  agent:
    level: monitor
    allow: [ 'qvm-start --quiet <vm>', 'qvm-start <vm>' ]
  idle:
    level: deny
    allow: [ 'qvm-ls' ]
  dev:
    level: read-only
    allow: [ 'qvm-start <vm>', 'qvm-start <self>' ]
    max_dev_mode: full
    max_dev_duration: 4h
  ops:
    level: manage
  named:
    level: manage
    targets: [ 'build-*', sys-usb, named, fedora-40, work ]
YAML
F=$L/20-extra.yaml
expect_rc 0 "warnings only" lint --policy-dir "$L"
expect_out "^$F:16:12: warning: vms.agent.level overrides the value set at $L/10-base.yaml:31:12" \
  "scalar override"
expect_out "^$F:4:7: warning: rule 'qvm-ls    \\[--running\\]' .*shadowed by rule 'qvm-ls \\[--running\\]' at $L/10-base.yaml:19" \
  "identical rule modulo whitespace is shadowed"
expect_out "^$F:5:7: warning: rule 'qvm-prefs <any-vm> netvm' .*shadowed by rule 'qvm-prefs <any-vm> <prop>' at $L/10-base.yaml:20" \
  "literal shadowed by a placeholder"
expect_out "^$F:6:7: warning: rule 'qvm-prefs <vm> <prop>' .*shadowed" "<vm> under <any-vm>"
expect_out "^$F:9:7: warning: rule 'xl info' \\(monitor\\) is shadowed by rule 'xl info' at $L/10-base.yaml:21 \\(read-only\\)" \
  "higher class shadowed by lower class"
expect_out "^$F:17:14: warning: rule 'qvm-start --quiet <vm>' \\(vms.agent.allow\\) is shadowed by rule 'qvm-start --quiet <vm>' at $L/10-base.yaml:32 \\(vms.agent.allow\\)" \
  "shadowed allow rule"
expect_no_out "^$F:7:.*shadowed" "'qvm-prefs sys-net <word>': <prop> does not cover <word>"
expect_no_out "^$F:11:.*shadowed" "a manage <vm> does not cover a literal VM"
expect_no_out "^$F:17:40:.*shadowed" "'--quiet' required: does not cover the rule without it"
expect_no_out "^$F:23:.*qvm-start <self>.*shadowed" "targeted <vm> never covers <self>"
expect_out "^$F:13:21: warning: defaults.max_dev_duration 3h is above" "long default dev duration"
expect_out "^$F:24:19: warning: .*grants may raise VM to full" "max_dev_mode full"
expect_out "^$F:25:23: warning: vms.dev.max_dev_duration 4h is above the default 2h" \
  "long VM dev duration"
expect_out "^$F:23:14: warning: rule 'qvm-start <vm>' uses <vm> and vms.dev has no targets: it matches no VM \\(denied: no-targets\\)$" \
  "<vm> without targets"
expect_no_out "warning: rule 'qvm-start --quiet <vm>' uses <vm>" "agent has targets"
expect_out "^$F:26:3: warning: vms.ops may reach level manage and has no targets: <vm> in its manage rules names no VM, so they act on nothing \\(denied: no-targets\\); add targets: \\[names\\] or \\['\\*'\\] \\(every VM except the protected ones\\)" \
  "manage without targets"
expect_out "^$F:21:3: warning: vms.dev may reach level manage and has no targets" \
  "a grant cap of full can grant manage: no targets warned too"
expect_no_out "warning: vms.agent may reach" "monitor without grants never reaches manage"
expect_no_out "warning: vms.named may reach" "a VM with targets"
expect_out "^$F:30:27: warning: vms.named.targets names 'sys-usb' explicitly, a protected VM \\(pattern 'sys-\\*' of the built-in list\\): the name wins, so <vm> may act on it$" \
  "explicit protected name"
expect_out "^$F:30:43: warning: vms.named.targets names 'fedora-40' explicitly, a protected VM \\(pattern 'fedora-\\*'" \
  "explicit protected template"
expect_out "^$F:30:36: warning: vms.named.targets lists named itself: <vm> never names the requesting VM \\(rules use <self>\\)$" \
  "targets naming the VM itself"
expect_no_out "targets names '(build-\\*|work)'" "patterns and unprotected names are not warned"
expect_out "^$F:20:14: warning: vms.idle.allow is never used: the VM's level is deny" \
  "allow rules of a deny VM"
expect_no_out "error:" "warnings are not errors"
expect_out "^lint: 2 file\\(s\\), 12 class rule\\(s\\), 16 warning\\(s\\)$" "summary counts warnings"

# A load error: file:line:col: error:, exit 1.
write "$L/30-bad.yaml" <<'YAML'
version: 1
blocked:
  - { pattern: 'a(b', reason: 'bad RE2' }
YAML
expect_rc 1 "bad RE2" lint --policy-dir "$L"
expect_out "^$L/30-bad.yaml:3:[0-9]+: error: " "error names file:line:col"
write "$L/30-bad.yaml" <<'YAML'
version: 1
vms: [ not, a, map
YAML
expect_rc 1 "YAML syntax" lint --policy-dir "$L"
expect_out "^$L/30-bad.yaml:[0-9]+:[0-9]+: error: " "syntax error names file:line:col"
rm "$L/30-bad.yaml"

# Untrusted file: an error.
chmod g+w "$L/20-extra.yaml"
expect_rc 1 "group-writable file" lint --policy-dir "$L"
expect_out "error: .*0664" "trust error names the mode"
chmod g-w "$L/20-extra.yaml"

# PATHs: directories and files, instead of the policy dirs.
X=$T/extra.yaml
write "$X" <<'YAML'
version: 1
vms:
  agent: { level: deny }
YAML
expect_rc 0 "PATH dir + file" lint "$P" "$X"
expect_out "^$X:3:19: warning: vms.agent.level overrides" "extra file is loaded after the dir"
expect_rc 1 "PATH file alone: no option tables" lint "$L/20-extra.yaml"
expect_out "error: .*no option table" "a lone file has no commands"
expect_rc 0 "--policy-dir + PATH file" lint --policy-dir "$P" "$L/20-extra.yaml"
expect_out "shadowed" "drop-in linted against the --policy-dir"
expect_rc 1 "missing PATH" lint "$T/nope.yaml"
# PATHs replace the default dirs: a broken --root policy is not read.
R=$T/root/etc/qubes/remote-policy.d
mkdir -p "$R"
chmod -R 0755 "$T/root"
write "$R/10-bad.yaml" <<<'version: 2'
expect_rc 1 "--root policy is linted by default" lint --root "$T/root"
expect_rc 0 "PATH replaces the default dirs" lint --root "$T/root" "$P"

# A filter rule never shadows a rule that is not one (the filter is skipped at stage 0); the
# other way round it does.
S=$T/filters
mkpolicydir "$S"
write_base_policy "$S/10-base.yaml"
write "$S/20.yaml" <<'YAML'
version: 1
classes:
  read-only:
    - 'grep [-i] <text>'
    - { argv: 'grep -i <word>', filter: true }
YAML
expect_rc 0 "filter shadowing" lint --policy-dir "$S"
expect_no_out "^$S/20.yaml:4:.*shadowed" "a filter does not shadow a non-filter"
expect_out "^$S/20.yaml:5:.*'grep -i <word>' .*shadowed by rule 'grep \\[-i\\] <text>' at $S/10-base.yaml:22 " \
  "a filter is shadowed by a broader filter"

# The issue-17 patterns: <unit> covers <word>, not the reverse; a list set {A,B}+ covers smaller
# list sets and plain sets of its members; <word> never covers <net> ('/'), <net> never <word> ('=').
U=$T/unit
mkpolicydir "$U"
write_base_policy "$U/10-base.yaml"
write "$U/20.yaml" <<'YAML'
version: 1
commands:
  systemctl:
    options: ['-p|--property=']
    verbs:
      is-active: { options: [] }
      show: { options: [] }
classes:
  read-only:
    - 'systemctl is-active <unit>...'
    - 'systemctl is-active <word>...'
    - 'systemctl --property {Id,Type}+ show'
    - 'systemctl --property {Id} show'
    - 'systemctl --property {Id,Type,Environment}+ show'
    - 'qvm-prefs <any-vm> <net>'
YAML
expect_rc 0 "new pattern kinds" lint --policy-dir "$U"
expect_out "^$U/20.yaml:11:.*'systemctl is-active <word>...' .*shadowed by rule 'systemctl is-active <unit>...'" \
  "<unit> covers <word>"
expect_no_out "^$U/20.yaml:10:.*shadowed" "<word> does not cover <unit>"
expect_out "^$U/20.yaml:13:.*'systemctl --property \\{Id\\} show' .*shadowed" "a list set covers a set of its members"
expect_no_out "^$U/20.yaml:14:.*shadowed" "a list set with a member more is not covered"
expect_no_out "^$U/20.yaml:15:.*shadowed" "<prop> does not cover <net>"

expect_rc 2 "usage" lint --bogus
finish
