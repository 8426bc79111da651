#!/bin/bash
# qvm-remote-policy list VM and dump [--json].
set -euo pipefail
source "$(dirname "$0")/lib.sh"

P=$T/policy
mkpolicydir "$P"
write_base_policy "$P/10-base.yaml"
F=$P/10-base.yaml
D=(--policy-dir "$P" --grants-dir "$T/grants")

# list: level, allow rules and the class rules the level may use, each with file:line.
expect_rc 0 "list agent" list agent "${D[@]}"
expect_out "^vm: agent \\($F:30\\)$" "VM position"
expect_out "^base level: read-only \\($F:31\\)$" "base level position"
expect_out "^effective level: read-only$" "effective level"
expect_out "^grant: none$" "no grant"
expect_out "^targets: sandbox \\($F:33\\)$" "targets"
expect_out "^effective targets: <vm> in manage and allow rules names sandbox; never agent itself$" \
  "effective targets"
expect_out "^protected: dom0, sys-\\*, disp-mgmt-\\*, default-mgmt-dvm, \\*-dvm, vault, anon-whonix, whonix-\\*, fedora-\\*, debian-\\* \\(built-in\\)$" \
  "protected"
expect_out "^  $F:32: qvm-start --quiet <vm>$" "allow rule"
expect_out "^  $F:19: qvm-ls \\[--running\\]$" "read-only rule"
expect_out "^  $F:22: grep \\[-i\\] <text>  \\(filter: later pipeline stages only\\)$" "read-only rule 4"
expect_no_out "xl list \\[-l\\]" "monitor rules are not listed for read-only"
expect_no_out "^class monitor" "no monitor class"
expect_rc 0 "list watcher" list watcher "${D[@]}"
expect_out "^class monitor:$" "monitor class listed"
expect_out "^  $F:24: xl list \\[-l\\]$" "monitor rule listed"
expect_no_out "qvm-start <vm>" "manage rules not listed for monitor"
expect_out "^targets: none set: <vm> in manage and allow rules names no VM \\(denied: no-targets\\); add targets to vms.watcher in $F$" \
  "no targets: names no VM, and where to add them"
mkpolicydir "$T/s"
write_base_policy "$T/s/10-base.yaml"
write "$T/s/20-star.yaml" <<'YAML'
version: 1
vms:
  star:
    level: manage
    targets: [ '*', sys-usb, 'build-*' ]
YAML
expect_rc 0 "list star" list star --policy-dir "$T/s" --grants-dir "$T/grants"
expect_out "^targets: \\*, sys-usb, build-\\* \\($T/s/20-star.yaml:5\\)$" "targets as written"
expect_out "^effective targets: <vm> in manage and allow rules names sys-usb, and any VM matching '\\*', 'build-\\*' that is not protected \\(dom0, sys-\\*, .*debian-\\*\\); never star itself$" \
  "effective targets of patterns"
expect_rc 0 "list unknown VM" list stranger "${D[@]}"
expect_out "^effective level: deny$" "unknown VM is deny"
expect_no_out "^class " "deny uses no class"
expect_rc 2 "list bad VM name" list '1x' "${D[@]}"
expect_rc 2 "list without VM" list "${D[@]}"
write "$T/broken.yaml" <<<'version: 1
vms: {agent: {level: sideways}}'
mkpolicydir "$T/b"
mv "$T/broken.yaml" "$T/b/"
expect_rc 2 "list with broken policy" list agent --policy-dir "$T/b"
expect_err "^$T/b/broken.yaml:2:[0-9]+: error: " "list load error"

# dump: text.
expect_rc 0 "dump" dump "${D[@]}"
expect_out "^  $F$" "files"
expect_out "^  qvm-ls \\($F:3\\)$" "command table"
expect_out "^    options: --running --halted -O\\|--fields=$" "options"
expect_out "^    verb list:$" "verbs"
expect_out "^class manage:$" "classes"
expect_out "^  $F:26: qvm-start <vm>$" "class rule with file:line"
expect_out "^  $F:28: /rm\\\\s\\+-rf/ — recursive removal$" "blocked with reason and position"
expect_out "^  level: deny \\(built-in\\)$" "defaults"
expect_out "^  agent \\($F:30\\):$" "vms"
expect_rc 2 "dump with broken policy" dump --policy-dir "$T/b"

# dump --json.
expect_rc 0 "dump --json" dump --json "${D[@]}"
$PY -c '
import json, sys
d = json.loads(sys.argv[1]); f = sys.argv[2]
assert d["files"] == [f], d["files"]
assert d["commands"]["xl"]["permute"] is False, d["commands"]["xl"]
assert d["commands"]["xl"]["verbs"]["list"]["options"] == ["-l|--long"], d["commands"]["xl"]
assert d["commands"]["qvm-ls"]["options"] == ["--running", "--halted", "-O|--fields="]
ro = d["classes"]["read-only"]
assert [r["text"] for r in ro] == ["qvm-ls [--running]", "qvm-prefs <any-vm> <prop>", "xl info", "grep [-i] <text>"], ro
assert ro[3]["filter"] is True and ro[0]["filter"] is False, ro
assert ro[0]["at"] == f + ":19" and ro[0]["pos"]["line"] == 19, ro[0]
assert [r["text"] for r in d["classes"]["manage"]] == ["qvm-start <vm>"]
b = d["blocked"][0]
assert b["pattern"] == r"rm\s+-rf" and b["reason"] == "recursive removal" and b["pos"]["line"] == 28, b
assert d["defaults"]["level"]["value"] == "deny" and d["defaults"]["level"]["pos"] is None
assert d["defaults"]["max_dev_duration"]["value"] == "2h"
a = d["vms"]["agent"]
assert a["level"]["value"] == "read-only" and a["targets"]["value"] == ["sandbox"], a
assert a["max_dev_mode"]["value"] == "monitor" and a["max_dev_duration"]["value"] == "1h", a
assert [r["text"] for r in a["allow"]] == ["qvm-start --quiet <vm>"], a
assert d["vms"]["watcher"]["effective_base_level"] == "monitor"
' "$OUT" "$F" || fail "dump --json shape"
finish
