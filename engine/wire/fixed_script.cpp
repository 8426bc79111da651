// The fixed script (fixed_script.h). Written one statement group per line for reading; the
// lines are joined with spaces into the one line dom0 sends, so every line ends where a space
// may follow (after `;`, `do`, `then`, `{`, `in`...). docs/protocol.md "What the fixed scripts
// do" describes it step by step; tests/wire/ runs it under bash, dash and busybox sh.
//
// Names: E error marker and exit; K classify a cid (k = 2 v2, 1 v1, p v1 ping, empty: none);
// F regular file, not a symlink; O older than the pairing delay (whole seconds); P print a
// record from running/; T judge readiness and claim a body in pending/; S one pass over
// pending/; R one pass over running/ (recover); D copy exactly N bytes of stdin to stdout.
// Why some lines look as they do:
// - `dd bs=65536 count=N iflag=count_bytes,fullblock` reads exactly N bytes of the pipe in GNU
//   and busybox; busybox `head -c N` reads a whole stdio buffer and would eat the next frames.
// - `read -r` with the default IFS: the lines it reads come from dom0 (parameters, delivery
//   headers), never from the VM; VM names are only ever globbed, quoted and matched by `case`.
// - Globs (`* .[!.]* ..?*`) give names exactly, newlines included, in byte order (LC_ALL=C);
//   `[ -e ] || [ -h ]` skips a pattern that matched nothing. The pass stops after max-scan names.
// - `[ -f ] && [ ! -h ]` never opens the entry, so a FIFO cannot block the script; anything
//   else (directory, FIFO, symlink, bad name) is removed with `rm -rf -- "$q/pending/NAME"`,
//   which removes a symlink itself, never its target.
// - A fetch that claimed something then reads one more line: dom0 either closes stdin (the script
//   exits) or sends a delivery batch, answered exactly as a deliver call, so the answers of quick
//   commands go back in the call that claimed them (fixed_script.h "held fetch").
// - The claim is `mv -fT pending/C running/C` (rename): if the client renamed its body away
//   first, mv fails and nothing of C is touched. `.exit` is placed by `ln -T`, which fails
//   rather than replace an existing one.
#include "engine/wire/fixed_script.h"

#include <algorithm>

namespace qvmr {

namespace {

constexpr std::string_view kScriptLines = R"SH(umask 077; LC_ALL=C; export LC_ALL;
E() { printf "error %s\n" "$1"; exit 0; };
read -r o m p wm s x || E bad-params; [ -z "$x" ] || E bad-params;
case $o in fetch|recover|deliver) ;; *) E bad-params;; esac;
for v in "$m" "$p" "$wm" "$s"; do case $v in ""|*[!0-9]*|0?*) E bad-params;; esac; [ ${#v} -le 9 ] || E bad-params; done;
[ -n "$HOME" ] || E no-home; h=$HOME/.qvm-remote; q=$h/queue;
for d in "$h" "$q" "$q/tmp" "$q/pending" "$q/running" "$q/results"; do [ -h "$d" ] && E symlinked-queue; [ -d "$d" ] || mkdir -m 700 "$d" 2>/dev/null || E no-queue; done;
K() { k=; case $1 in
 ping-*-*) kr=${1#ping-}; ka=${kr%%-*}; kb=${kr#*-}; case $ka$kb in ""|*[!0-9]*) return;; esac; [ -n "$ka" ] && [ -n "$kb" ] && [ ${#ka} -le 20 ] && [ ${#kb} -le 20 ] && k=p;;
 [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9][0-9][0-9]-?*-?*) kr=${1#????????-??????-}; ka=${kr%%-*}; kb=${kr#*-}; case $ka in ""|*[!0-9]*) return;; esac; case $kb in *[!0-9a-f]*) return;; esac; [ ${#ka} -le 10 ] || return; case ${#kb} in 16) k=2;; 8) k=1;; esac;;
 esac; };
F() { [ -f "$1" ] && [ ! -h "$1" ]; };
O() { [ "$dl" -eq 0 ] || [ $((n0 - $1)) -gt "$dl" ]; };
P() { rb=$q/running/$1; ra=$rb.auth; bz=$(stat -c %s "$rb" 2>/dev/null) || return;
 if F "$ra" && az=$(stat -c %s "$ra" 2>/dev/null); then printf "request %s paired %s %s\n" "$1" "$az" "$bz"; [ "$az" -gt 4096 ] || head -c "$az" "$ra"; [ "$bz" -gt 1048576 ] || head -c "$bz" "$rb";
 else printf "request %s no-token %s\n" "$1" "$bz"; fi; c=$((c + 1)); };
T() { b=$q/pending/$1; a=$b.auth; st=$(stat -c "%s %Y" "$b" 2>/dev/null) || return;
 if F "$a"; then if [ "$k" != 2 ]; then st=$(stat -c "%s %Y" "$a" 2>/dev/null) || return; [ "${st% *}" -ge 64 ] || O "${st#* }" || { w=$((w + 1)); return; }; fi;
 else if [ -e "$a" ] || [ -h "$a" ]; then rm -rf -- "$a"; nr=$((nr + 1)); fi; O "${st#* }" || { w=$((w + 1)); return; }; fi;
 [ "$c" -lt "$m" ] || { w=$((w + 1)); return; };
 [ -e "$q/running/$1" ] || [ -h "$q/running/$1" ] && { w=$((w + 1)); return; };
 mv -fT -- "$b" "$q/running/$1" 2>/dev/null || return;
 F "$a" && mv -fT -- "$a" "$q/running/$1.auth" 2>/dev/null; P "$1"; };
S() { n0=$(date +%s); i=0;
 for f in "$q"/pending/* "$q"/pending/.[!.]* "$q"/pending/..?*; do
 [ -e "$f" ] || [ -h "$f" ] || continue; i=$((i + 1)); [ "$i" -le "$s" ] || break;
 n=${f##*/}; K "$n";
 if [ -n "$k" ]; then if F "$f"; then T "$n"; else rm -rf -- "$f"; nr=$((nr + 1)); fi; continue; fi;
 case $n in *.auth) K "${n%.auth}";; *.cmd) K "${n%.cmd}"; [ "$k" = 2 ] && k=;; esac;
 if [ -z "$k" ] || ! F "$f"; then rm -rf -- "$f"; nr=$((nr + 1)); fi;
 done; };
R() { i=0;
 for f in "$q"/running/* "$q"/running/.[!.]* "$q"/running/..?*; do
 [ -e "$f" ] || [ -h "$f" ] || continue; i=$((i + 1)); [ "$i" -le "$s" ] || break;
 n=${f##*/}; K "$n"; [ -n "$k" ] && F "$f" || continue;
 [ "$c" -lt "$m" ] || { v=$((v + 1)); continue; };
 F "$q/running/$n.auth" || ! F "$q/pending/$n.auth" || mv -fT -- "$q/pending/$n.auth" "$q/running/$n.auth" 2>/dev/null; P "$n";
 done; };
D() { if [ "$1" -gt 0 ]; then dd bs=65536 count="$1" iflag=count_bytes,fullblock 2>/dev/null; fi; };
if [ "$o" != deliver ]; then
 printf "qvm-remote-fetch 1\n"; c=0; nr=0; v=0; w=0; dl=$(((p + 999) / 1000)); [ "$o" = recover ] && R;
 t=0; while :; do w=0; S; [ "$c" -gt 0 ] || [ "$c" -ge "$m" ] || [ "$t" -ge "$wm" ] && break; sleep 0.1; t=$((t + 100)); done;
 printf "end %s %s\n" "$nr" "$((w + v))"; [ "$c" -gt 0 ] && read -r l || exit 0;
else read -r l || E cut-short; fi;
[ "$l" = "qvm-remote-deliver 1" ] || E bad-frame; printf "qvm-remote-ack 1\n"; y=$q/tmp/.qvmr-deliver;
while :; do read -r x1 x2 x3 x4 x5 x6 x7 || E cut-short;
 case $x1 in
 result) K "$x2"; [ -n "$k" ] && [ -z "$x7" ] || E bad-frame; for e in "$x3" "$x4" "$x5" "$x6"; do case $e in ""|*[!0-9]*) E bad-frame;; esac; done;
 r=$q/results/$x2; set -- "$x3" "$x4" "$x5" "$x6";
 if [ -e "$r.exit" ] || [ -h "$r.exit" ]; then for e in "$@"; do [ $(($(D "$e" | wc -c))) -eq "$e" ] || E cut-short; done; printf "exists %s\n" "$x2";
 else for e in out err meta exit; do rm -rf -- "$y.$e"; D "$1" >"$y.$e" || E short-blob; [ $(($(stat -c %s "$y.$e"))) -eq "$1" ] || E short-blob; shift; done;
 g=ok; for e in out err meta; do [ -d "$r.$e" ] && [ ! -h "$r.$e" ] && rm -rf -- "$r.$e"; mv -fT -- "$y.$e" "$r.$e" 2>/dev/null || g=failed; done;
 [ "$g" = ok ] && ln -T -- "$y.exit" "$r.exit" 2>/dev/null || g=failed; printf "%s %s\n" "$g" "$x2";
 [ "$g" = ok ] && rm -f -- "$q/running/$x2" "$q/running/$x2.auth"; rm -f -- "$y.out" "$y.err" "$y.meta" "$y.exit"; fi;;
 remove) case $x2 in pending|running) ;; *) E bad-frame;; esac; case $x3 in *.auth) K "${x3%.auth}";; *) K "$x3";; esac; [ -n "$k" ] && [ -z "$x4" ] || E bad-frame; rm -rf -- "$q/$x2/$x3";;
 audit) case $x2 in ""|*[!0-9]*) E bad-frame;; esac; rm -rf -- "$y.a"; D "$x2" >"$y.a" || E short-blob; [ $(($(stat -c %s "$y.a"))) -eq "$x2" ] || E short-blob;
 [ -h "$h/audit.log" ] || { head -c "$x2" "$y.a"; printf "\n"; } >>"$h/audit.log" 2>/dev/null; rm -f -- "$y.a";;
 end) printf "end\n"; exit 0;;
 *) E bad-frame;;
 esac; done)SH";

std::string JoinLines(std::string_view text) {
  std::string line(text);
  std::replace(line.begin(), line.end(), '\n', ' ');
  return line;
}

}  // namespace

std::string_view FixedScript() {
  static const std::string* const script = new std::string(JoinLines(kScriptLines));
  return *script;
}

std::string FixedScriptCommand() {
  return std::string(FixedScript()) + "; exit";
}

Result<std::string> ScriptParamsLine(const ScriptParams& params) {
  if (params.max_claims > limits::kMaxClaimsPerCall) {
    return MakeError("script-params", "max_claims above kMaxClaimsPerCall");
  }
  if (params.pairing_delay_ms < 0 || params.pairing_delay_ms > 86400000) {
    return MakeError("script-params", "pairing delay outside 0..1 day");
  }
  if (params.wait_ms < 0 || params.wait_ms > limits::kMaxFetchWaitMs) {
    return MakeError("script-params", "wait outside 0..kMaxFetchWaitMs");
  }
  if (params.max_scan < 1 || params.max_scan > limits::kMaxScanNamesPerPass) {
    return MakeError("script-params", "max_scan outside 1..kMaxScanNamesPerPass");
  }
  const char* op = params.op == ScriptOp::kFetch     ? "fetch"
                   : params.op == ScriptOp::kRecover ? "recover"
                                                     : "deliver";
  return std::string(op) + " " + std::to_string(params.max_claims) + " " +
         std::to_string(params.pairing_delay_ms) + " " + std::to_string(params.wait_ms) + " " +
         std::to_string(params.max_scan) + "\n";
}

}  // namespace qvmr
