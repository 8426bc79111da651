#!/usr/bin/python3
"""Writes corpus.json for shell_diff.py: hand-written commands plus combinations.

Each entry: {"cmd": text, "expect": "ok" or a reason code, optional "offset" (of the denial),
optional "bash_differs": why shfmt is not a valid oracle for this text}.
Run: /usr/bin/python3 tests/shell_diff/gen_corpus.py > tests/shell_diff/corpus.json
"""

import json
import random
import sys

E = []


def add(cmd, expect=None, offset=None, bash_differs=None, conservative=None):
    entry = {"cmd": cmd}
    if conservative is not None:
        entry["conservative"] = conservative
    if expect is not None:
        entry["expect"] = expect
    if offset is not None:
        entry["offset"] = offset
    if bash_differs is not None:
        entry["bash_differs"] = bash_differs
    E.append(entry)


# --- Accepted: plain commands, quoting, escapes, continuations, comments. ---
for c in ["qvm-ls", "qvm-ls --running", "qvm-prefs work netvm", "xl info", "xl list",
          "qvm-prefs work label red", "journalctl -u qubesd --no-pager -n 50",
          "systemctl status qubesd", "qvm-check --running work", "true", "echo hi"]:
    add(c, "ok")
add("'rm'' -rf /'", "ok")
add('q"v"m-ls', "ok")
add("echo \\;", "ok")
add("echo a\\ b", "ok")
add("echo 'a b'", "ok")
add('echo "a b"', "ok")
add("echo ''", "ok")
add('echo ""', "ok")
add("'' a", "ok")
add("echo '' '' \"\"''", "ok")
add('echo "\\$HOME"', "ok")
add('echo "a\\\\b"', "ok")
add('echo "\\a\\b\\n"', "ok")
add('echo "\\`"', "ok")
add('echo "\\""', "ok")
add("echo 'it'\\''s'", "ok")
add("echo a\\\nb", "ok")
add("echo 'a\\\nb'", "ok")
add('echo "a\\\nb"', "ok")
add("echo a \\\n b", "ok")
add("echo \\\n", "ok")
add("\\\necho a", "ok")
add("ec\\\nho a", "ok")
add('echo "a\nb"', "ok")
add("echo 'a\nb'", "ok")
add('echo "\\\\\n"', "ok")
add("echo \\\\", "ok")
add("echo \\'", "ok")
add('echo \\"', "ok")
add("echo a # comment", "ok")
add("echo a#b", "ok")
add("echo a'#'b", "ok")
add("echo '#' \\#a", "ok")
add("# c\necho a", "ok")
add("echo a;#c", "ok")
add("echo a |# c\n grep a", "ok")
add("echo a && # c\n echo b", "ok")
add("echo a # c \\ d\necho b", "ok")
add("echo \\#", "ok")
add("echo\ta\tb", "ok")
add("echo !", "ok")
add("echo a!b", "ok")
add("echo ] a] %s @ ^ , . : = + -", "ok")
add("echo a=b", "ok")
add("echo --opt=~", "ok")
add("echo a~ a~b", "ok")
add("echo x:~", "ok")
add("echo '~' \\~ \"~\"", "ok")
add("echo a=\\~", "ok")
add("echo \"*\" '*' \\* \\? \\[", "ok")
add("echo '{a,b}' \\{a,b\\}", "ok")
add('"if" a', "ok")
add("\\if a", "ok")
add("i\\f a", "ok")
add("'{' a", "ok")
add("\\! a", "ok")
add("cmd '$x' '`id`' '$(id)'", "ok")
add("echo a\\", "ok")
add("echo \\\\\\", "ok")
add("echo héllo '日本語' \"emoji 😀\" ü\\ ü", "ok")
add("echo ½ → ∞", "ok")
add("qvm-prefs 'wörk' label", "ok")
add("echo " + "a" * 5000, "ok")
add("echo '" + "b c " * 2000 + "'", "ok")
add("echo " + " ".join(["w%d" % i for i in range(255)]), "ok")
add("echo -- -n -e", "ok")
add("printf '%s\\n' a b", "ok")

# --- Accepted: operators and layout. ---
for c in ["a | b", "a|b|c", "a && b", "a || b", "a && b || c", "a || b && c", "a; b", "a;b",
          "a\nb", "a;\nb", "a &&\n b", "a ||\n\n b", "a |\n b", "a;", "a ;", "\n\na\n\n",
          "a | b && c | d || e; f", "a&&b||c", "a |\n\n\n b", "a && \\\n b", "a \\\n&& b",
          "a \\\n| b", "a;\n\n;", "a\n\n\nb", "  a  ", "a\t;\tb", "a ;\n b ;\n"]:
    add(c, "syntax" if c == "a;\n\n;" else "ok")

# --- Accepted: redirections. ---
for c in ["a >/dev/null", "a > /dev/null", "a 1>/dev/null", "a 2>/dev/null", "a 2> /dev/null",
          "a 2>&1", "a 2>& 1", "a 2>&1 >/dev/null", "a >/dev/null 2>&1", ">/dev/null a",
          "2>/dev/null a b", "a >'/dev/null'", 'a >"/dev/null"', "a >/dev/nu\\ll",
          "a >/dev/'null'", "a 2>&1>/dev/null", "a2>/dev/null", '"a"2>/dev/null',
          "a '2'>/dev/null", "a \\2>/dev/null", "echo 2\\\n>/dev/null", "a 2>&1 | b",
          "a >/dev/null | b 2>/dev/null", "a 2>/dev/null>/dev/null", "a x>/dev/null",
          "a >/dev/null;b", "a>/dev/null&&b", "a 1>/dev/null 2>/dev/null 2>&1",
          "a >/dev/null b c", "a>/dev/null"]:
    add(c, "ok")

# --- Denied, with offsets. ---
D = [
    ("echo $(id)", "command-substitution", 5), ("echo `id`", "command-substitution", 5),
    ('echo "$(id)"', "command-substitution", 6), ('echo "`id`"', "command-substitution", 6),
    ("echo a$(id)b", "command-substitution", 6), ("$(id)", "command-substitution", 0),
    ("echo $((1+2))", "arithmetic", 5), ("((a=1))", "arithmetic", 0),
    ("echo $[1]", "arithmetic", 5),
    ("echo $HOME", "variable", 5), ("echo ${HOME}", "variable", 5), ("echo $'a'", "variable", 5),
    ('echo $"a"', "variable", 5), ('echo "$x"', "variable", 6), 
("echo $1", "variable", 5), ("echo $?", "variable", 5),
    ("$x", "variable", 0),
    ("diff <(a) <(b)", "process-substitution", 5), ("tee >(a)", "process-substitution", 4),
    ("echo a>(b)", "process-substitution", 6), ("echo 2>(b)", "process-substitution", 6),
    ("ls *", "glob", 3), ("ls a?", "glob", 4), ("ls [ab]", "glob", 3), ("ls a*b", "glob", 4),
    ("ls '*'*", "glob", 6), ("echo @(a)", "glob", 5), ("echo +(a)", "glob", 5),
    ("echo !(a)", "glob", 5), ("echo ?(a)", "glob", 5), ("[ -f x ]", "glob", 0),
    ("ls ~", "tilde", 3), ("ls ~root", "tilde", 3), ("echo a=~", "tilde", 7),
    ("echo b=x:~", "tilde", 9), ("echo a=~/x", "tilde", 7), ("~/bin/x", "tilde", 0),
    ("echo {a,b}", "brace", 5), ("echo a{1..3}", "brace", 6), ("echo }", "brace", 5),
    ("echo {", "brace", 5), ("echo \\{a,b}", "brace", 10),
    ("{ a; }", "group", 0), ("a; { b; }", "group", 3), ("}", "group", 0),
    ("(a)", "subshell", 0), ("a && (b)", "subshell", 5), ("( a )", "subshell", 0),
    ("f() { a; }", "function", 0), ("f () { a; }", "function", 0),
    ("function f { a; }", "function", 0),
    ("cat <<EOF\nx\nEOF", "here-document", 4), ("cat <<-EOF\nx\nEOF", "here-document", 4),
    ("cat 0<<EOF\nx\nEOF", "here-document", 4),
    ("cat <<<x", "here-string", 4),
    ("a &", "background", 2), ("a & b", "background", 2), ("a&", "background", 1),
    ("a && b &", "background", 7), ("a | b & c", "background", 6),
    ("a |& b", "pipe-stderr", 2), ("a|&b", "pipe-stderr", 1),
    ("A=1 cmd", "assignment", 0), ("A=1", "assignment", 0), ("a[0]=1 cmd", "assignment", 0),
    ("A+=1 cmd", "assignment", 0), (">/dev/null A=1 cmd", "assignment", 11),
    ("A=$(id) cmd", "assignment", 0), ("a; B=2 c", "assignment", 3),
    ("a >x", "redirection", 2), ("a >>/dev/null", "redirection", 2),
    ("a </dev/null", "redirection", 2), ("a 3>/dev/null", "redirection", 2),
    ("a &>/dev/null", "redirection", 2), ("a >&/dev/null", "redirection", 2),
    ("a 1>&2", "redirection", 2), ("a >&2", "redirection", 2), ("a 2>&-", "redirection", 2),
    ("a >|/dev/null", "redirection", 2), ("a <>/dev/null", "redirection", 2),
    ("a 2>/dev/null2", "redirection", 2), (">/dev/null", "redirection", 0),
    ("a 01>/dev/null", "redirection", 2), ("a 2>&1-", "redirection", 2),
    ("a 2>&01", "redirection", 2), ("a 2>&\"1\"", "redirection", 2),
    ("a &>>/dev/null", "redirection", 2), ("a <&0", "redirection", 2),
    ("a 2>/dev/null 1>&2", "redirection", 14), ("a >/dev//null", "redirection", 2),
    ("a >> /dev/null", "redirection", 2), ("echo >2>/dev/null a", "redirection", 5),
    ("if true; then a; fi", "control-flow", 0), ("while true; do a; done", "control-flow", 0),
    ("until a; do b; done", "control-flow", 0), ("for a in b; do c; done", "control-flow", 0),
    ("! a", "control-flow", 0), ("[[ a ]]", "control-flow", 0),
    ("case a in b) c;; esac", "control-flow", 0), ("time a", "control-flow", 0),
    ("coproc a", "control-flow", 0), ("select a in b; do c; done", "control-flow", 0),
    ("a && ! b", "control-flow", 5), ("a; then", "control-flow", 3),
    ("i\\\nf true; then a; fi", "control-flow", 0),
    ("env a", "wrapper", 0), ("/usr/bin/env a", "wrapper", 0), ("sudo a", "wrapper", 0),
    ("bash -c 'a'", "wrapper", 0), ("a | xargs rm", "wrapper", 4), ("exec a", "wrapper", 0),
    ("find / -exec rm '{}' \\;", "wrapper", 7), ("find . -execdir x ';'", "wrapper", 7),
    ("eval a", "wrapper", 0), ("nohup a", "wrapper", 0), ("timeout 5 a", "wrapper", 0),
    ("python3 -c x", "wrapper", 0), ("python3.11 -c x", "wrapper", 0),
    ("command ls", "wrapper", 0), (". x", "wrapper", 0), ("source x", "wrapper", 0),
    ("'env' a", "wrapper", 0), ("e\\nv a", "wrapper", 0), ("/bin/sh -c a", "wrapper", 0),
    (">/dev/null env a", "wrapper", 11), ("\\time a", "wrapper", 0), ("nice a", "wrapper", 0),
    ("setsid a", "wrapper", 0), ("chroot / a", "wrapper", 0), ("stdbuf -o0 a", "wrapper", 0),
    ("su -c a", "wrapper", 0), ("doas a", "wrapper", 0), ("busybox sh", "wrapper", 0),
    ("export A=1", "wrapper", 0), ("declare -i x", "wrapper", 0),
    ("a |", "syntax", 2), ("| a", "syntax", 0), ("a ;; b", "syntax", 2), ("a && ", "syntax", 2),
    ("a || ", "syntax", 2), ("; a", "syntax", 0), ("a; ;", "syntax", 3),
    ("echo 'abc", "syntax", 5), ('echo "abc', "syntax", 5), ("echo a)", "syntax", 6),
    ("echo (a)", "function", 0), ("a > ", "syntax", 2), ("a >#x", "syntax", 2),
    ("a 2>&", "syntax", 2), ("a\n| b", "syntax", 2), ("a\n&& b", "syntax", 2),
    ("a ;& b", "syntax", 2), ("a && && b", "syntax", 5), ("a | | b", "syntax", 4),
    ("a && ; b", "syntax", 5), ("& a", "syntax", 0), ("a >|", "redirection", 2),
    ('echo "a\\', "syntax", 5), ("a >", "syntax", 2), ("a 2>& ;", "syntax", 2),
    ("", "empty", 0), ("   ", "empty", 0), ("# only a comment", "empty", 0),
    ("\n\n", "empty", 0), ("\\\n", "empty", 0), (" # a\n # b\n", "empty", 0),
    ("a" + ";a" * 64, "limit", 128), ("echo " + " ".join(["w"] * 256), "limit", 515),
    ("a" + " >/dev/null" * 17, "limit", 178), ("echo " + "x" * 65537, "limit", 5),
]
for cmd, code, off in D:
    add(cmd, code, off)

# A '$' that bash would keep literal: refused anyway (any '$' is).
for cmd, off in [("echo $", 5), ("echo a$", 6), ('echo "a$"', 7), ("echo $/", 5), ("echo $ a", 5)]:
    add(cmd, "variable", off, conservative="bash keeps a lone '$'; we refuse every '$'")

# shfmt disagrees with bash on these; bash is the truth and we refuse them.
add("a |\\\n| b", "syntax", 3, bash_differs="bash reads '|\\<newline>|' as '||'")
add("a &\\\n& b", "syntax", 3, bash_differs="bash reads '&\\<newline>&' as '&&'")
add("a 2>\\\n&1", "syntax", 4, bash_differs="bash reads '>\\<newline>&' as '>&'")
add("a #c\\\nb", "syntax", 4,
    bash_differs="bash ends a comment at the newline; shfmt continues it")

for cmd, off in [("printf 'a b'#c", 12), ('x ""#d', 4), ('x a"b"#e', 6), ("x ''\\\n#f", 6)]:
    add(cmd, "syntax", off, bash_differs="bash keeps a '#' after a closing quote; shfmt starts a "
        "comment")
add('x a\\"#b \\\'#c', "ok")

# --- Combinations: word forms in argument and command position. ---
WORDS_OK = ["plain", "'sq'", '"dq"', "a\\ b", "'a'b\"c\"", "\\x\\y", "'a\"b'", '"a\'b"',
            "--flag=value", "-abc", "a,b", "a:b", "a@b", "x=y", "'$HOME'", "\\$HOME",
            '"\\$x"', "\\`x\\`", "'*'", "\\*", '"?"', "'['", "\\{", "\\}", "'~'", "\\~x",
            "''", '""', "'\\'", '"\\\\"', "'a\nb'", "\\\\n", "ü", "'é'", "a\\\nb", "%",
            "+x", "a]", "!x", "a'#'", "\\#x", '"a\\tb"']
WORDS_BAD = [("$HOME", "variable"), ("${a}", "variable"), ("$(x)", "command-substitution"),
             ("`x`", "command-substitution"), ("$((1))", "arithmetic"), ("*", "glob"),
             ("a?", "glob"), ("[x]", "glob"), ("~", "tilde"), ("{a,b}", "brace"),
             ('"$x"', "variable"), ("$'x'", "variable"), ('"`x`"', "command-substitution"),
             ("<(x)", "process-substitution"), ("'unterminated", "syntax"),
             ('"unterminated', "syntax")]
for w in WORDS_OK:
    add("cmd " + w, "ok")
    add("cmd a " + w + " b", "ok")
    add(w + " arg", "assignment" if w == "x=y" else "ok")
    add("cmd " + w + w, "ok")
    add("cmd " + w + " | f " + w, "ok")
for w, code in WORDS_BAD:
    add("cmd " + w, code)
    add("cmd x" + w, code if code not in ("tilde",) else "ok")
    add("a && cmd " + w, code)

# --- Combinations: separators and redirections. ---
SEPS = [";", " ; ", "&&", " && ", "||", " || ", "|", " | ", "\n", " \n ", ";\n", "&&\n",
        "||\n", "|\n", " |\n\n ", "; # c\n", "&& # c\n"]
REDIRS = ["", " >/dev/null", " 2>/dev/null", " 2>&1", " 1>/dev/null 2>&1", " 2>&1 >/dev/null",
          " > /dev/null", ">/dev/null"]
for s in SEPS:
    for r in REDIRS:
        add("a x" + r + s + "b y" + r, "ok")
for s in SEPS:
    add("a" + s, "ok" if s.strip(" ") in (";", "\n", ";\n", "; # c\n") else "syntax")
    add(s + "a", "ok" if s.strip(" ") == "\n" else "syntax")

# --- Random texts over the bytes that matter to the lexer (fixed seed: the corpus is stable). ---
rng = random.Random(20261123)
ALPHABET = ["a", "b", "2", "1", " ", " ", "'", '"', "\\", "\n", ";", "|", "&", ">", "<", "#",
            "=", "~", "/dev/null", "\\\n", "2>&1", ">/dev/null", "ü", "\t", "!", "-"]
seen = set(e["cmd"] for e in E)
while len(E) < 1100:
    text = "x " + "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 10)))
    if text not in seen:
        seen.add(text)
        add(text)

json.dump(E, sys.stdout, ensure_ascii=False, indent=0)
sys.stdout.write("\n")
