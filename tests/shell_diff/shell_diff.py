#!/usr/bin/python3
"""Differential test of qvm-remote's shell analysis against shfmt's bash parser.

For every command of the corpus, plan_dump prints what AnalyzeShell makes of it. For each
command we accept, `shfmt --to-json -ln bash` must parse it, its AST must contain nothing but
simple commands of literal words (no expansion a shell would perform) joined by `;`, newline,
`&&`, `||`, `|`, with only `[n]>/dev/null` and `2>&1` redirections, and the argvs, redirections,
connectors and pipeline stages computed from that AST must be identical to ours. For each command
we deny with `syntax`, shfmt must fail or find a construct; for other construct codes, shfmt must
fail or find that construct. Corpus entries may also pin our own result (`expect`, `offset`).

Every mismatch is reported; the exit status is 1 if there is any.
"""

import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys

# mvdan/sh syntax token values, as shfmt 3.6 prints them in --to-json.
OP_AND, OP_OR, OP_PIPE, OP_PIPE_ALL = 10, 11, 12, 13
REDIR_NAMES = {54: ">", 55: ">>", 56: "<", 57: "<>", 58: "<&", 59: ">&", 60: ">|",
               61: "<<", 62: "<<-", 63: "<<<", 64: "&>", 65: "&>>"}
ASSIGN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\+?=|\[)")

# Codes of ours that name a construct the walker can see in shfmt's AST.
CONSTRUCT_CODES = {
    "command-substitution", "process-substitution", "arithmetic", "variable", "glob", "tilde",
    "brace", "group", "subshell", "function", "here-document", "here-string", "background",
    "pipe-stderr", "assignment", "redirection", "control-flow",
}


class Walk:
    """Turns a shfmt File AST into our plan shape, collecting constructs we would refuse."""

    def __init__(self):
        self.constructs = set()

    def file(self, node):
        pipelines = []
        for stmt in node.get("Stmts") or []:
            pipelines.extend(self.and_or(stmt, "seq"))
        return pipelines

    def and_or(self, stmt, connector):
        cmd = stmt.get("Cmd")
        if cmd and cmd.get("Type") == "BinaryCmd" and cmd["Op"] in (OP_AND, OP_OR):
            self.stmt_flags(stmt)
            left = self.and_or(cmd["X"], connector)
            right = self.and_or(cmd["Y"], "and" if cmd["Op"] == OP_AND else "or")
            return left + right
        return [{"connector": connector, "stages": self.pipeline(stmt)}]

    def pipeline(self, stmt):
        cmd = stmt.get("Cmd")
        if cmd and cmd.get("Type") == "BinaryCmd":
            self.stmt_flags(stmt)
            if cmd["Op"] == OP_PIPE_ALL:
                self.constructs.add("pipe-stderr")
            elif cmd["Op"] != OP_PIPE:
                self.constructs.add("nested-and-or")
            return self.pipeline(cmd["X"]) + self.pipeline(cmd["Y"])
        return [self.simple(stmt)]

    def stmt_flags(self, stmt):
        if stmt.get("Negated") or stmt.get("Coprocess"):
            self.constructs.add("control-flow")
        if stmt.get("Background"):
            self.constructs.add("background")

    def simple(self, stmt):
        self.stmt_flags(stmt)
        argv = []
        cmd = stmt.get("Cmd")
        if cmd is not None:
            kind = cmd.get("Type")
            if kind == "CallExpr":
                if cmd.get("Assigns"):
                    self.constructs.add("assignment")
                argv = [self.word(w) for w in cmd.get("Args") or []]
            else:
                self.constructs.add({
                    "Subshell": "subshell", "Block": "group", "FuncDecl": "function",
                    "ArithmCmd": "arithmetic", "LetClause": "arithmetic",
                    "DeclClause": "declaration",
                }.get(kind, "control-flow"))
        redirects = [self.redirect(r) for r in stmt.get("Redirs") or []]
        if not argv:
            self.constructs.add("redirection" if redirects else "empty-command")
        return {"argv": argv, "redirects": [r for r in redirects if r is not None]}

    def redirect(self, r):
        op = REDIR_NAMES.get(r["Op"], "?")
        fd = (r.get("N") or {}).get("Value")
        word = r.get("Word")
        if op in ("<<", "<<-"):
            self.constructs.add("here-document")
            return None
        if op == "<<<":
            self.constructs.add("here-string")
            return None
        target = self.word(word) if word else None
        plain_one = word and [p.get("Type") for p in word["Parts"]] == ["Lit"] and target == "1"
        if op == ">" and fd in (None, "1", "2") and target == "/dev/null":
            return {"fd": 2 if fd == "2" else 1, "target": "devnull"}
        if op == ">&" and fd == "2" and plain_one:
            return {"fd": 2, "target": "stdout"}
        self.constructs.add("redirection")
        return None

    def word(self, word):
        """Quote removal of a literal word; flags every part a shell would expand."""
        out = []
        raw_prefix = ""  # unquoted source so far, to spot assignment-like words (tilde rule)
        last_unquoted = None
        for index, part in enumerate(word["Parts"]):
            kind = part["Type"]
            if kind == "Lit":
                value = part.get("Value", "")
                i = 0
                while i < len(value):
                    c = value[i]
                    if c == "\\":
                        if i + 1 < len(value):
                            if value[i + 1] != "\n":
                                out.append(value[i + 1])
                            raw_prefix += value[i:i + 2]
                            last_unquoted = None
                            i += 2
                            continue
                        out.append("\\")
                        raw_prefix += c
                        last_unquoted = c
                        i += 1
                        continue
                    if c in "*?[":
                        self.constructs.add("glob")
                    if c in "{}":
                        self.constructs.add("brace")
                    if c == "~" and ((index == 0 and i == 0) or (
                            last_unquoted in ("=", ":") and ASSIGN_RE.match(raw_prefix))):
                        self.constructs.add("tilde")
                    out.append(c)
                    raw_prefix += c
                    last_unquoted = c
                    i += 1
            elif kind == "SglQuoted":
                if part.get("Dollar"):
                    self.constructs.add("variable")
                out.append(part.get("Value", ""))
                raw_prefix += "'"
                last_unquoted = None
            elif kind == "DblQuoted":
                if part.get("Dollar"):
                    self.constructs.add("variable")
                for inner in part.get("Parts") or []:
                    if inner["Type"] != "Lit":
                        self.expansion(inner["Type"])
                        continue
                    value = inner.get("Value", "")
                    i = 0
                    while i < len(value):
                        if value[i] == "\\" and i + 1 < len(value) and value[i + 1] in '$`"\\\n':
                            if value[i + 1] != "\n":
                                out.append(value[i + 1])
                            i += 2
                            continue
                        out.append(value[i])
                        i += 1
                raw_prefix += '"'
                last_unquoted = None
            else:
                self.expansion(kind)
        return "".join(out)

    def expansion(self, kind):
        self.constructs.add({
            "ParamExp": "variable", "CmdSubst": "command-substitution",
            "ArithmExp": "arithmetic", "ProcSubst": "process-substitution",
            "ExtGlob": "glob", "BraceExp": "brace",
        }.get(kind, "unknown-" + kind))


def shfmt_parse(shfmt, text):
    proc = subprocess.run([shfmt, "--to-json", "-ln", "bash"], input=text.encode("utf-8"),
                          capture_output=True, check=False)
    if proc.returncode != 0:
        return None, proc.stderr.decode("utf-8", "replace").strip()
    return json.loads(proc.stdout), None


def ours_shape(result):
    return [{"connector": p["connector"],
             "stages": [{"argv": s["argv"], "redirects": s["redirects"]} for s in p["stages"]]}
            for p in result["pipelines"]]


def check(entry, ours, parsed, error):
    """Returns a list of mismatch descriptions for one corpus entry."""
    problems = []
    cmd = entry["cmd"]
    expect = entry.get("expect")
    got = "ok" if ours["ok"] else ours["code"]
    if expect is not None and expect != got:
        problems.append(f"expected {expect}, AnalyzeShell gave {got}: {ours.get('message', '')}")
    if "offset" in entry and not ours["ok"] and entry["offset"] != ours["offset"]:
        problems.append(f"expected offset {entry['offset']}, got {ours['offset']}")
    if not ours["ok"] and not 0 <= ours["offset"] <= len(cmd.encode("utf-8")):
        problems.append(f"offset {ours['offset']} outside the text")
    if "bash_differs" in entry:
        return problems  # shfmt is known to disagree with bash here; we follow (or refuse) bash.
    if ours["ok"]:
        if parsed is None:
            problems.append(f"accepted, but shfmt fails: {error}")
            return problems
        walk = Walk()
        theirs = walk.file(parsed)
        if walk.constructs:
            problems.append(f"accepted, but shfmt's AST has {sorted(walk.constructs)}")
        if theirs != ours_shape(ours):
            problems.append("plans differ:\n      ours:  " + json.dumps(ours_shape(ours)) +
                            "\n      shfmt: " + json.dumps(theirs))
        return problems
    if parsed is None:
        return problems  # Both refuse.
    walk = Walk()
    theirs = walk.file(parsed)
    code = ours["code"]
    if "conservative" in entry:
        return problems  # A deliberate over-approximation: shfmt may see nothing special.
    if code == "syntax" and not walk.constructs:
        problems.append("denied as syntax, but shfmt parses it as plain commands: " +
                        json.dumps(theirs))
    elif code == "empty" and theirs:
        problems.append("denied as empty, but shfmt finds commands: " + json.dumps(theirs))
    elif code in CONSTRUCT_CODES and code not in walk.constructs:
        problems.append(f"denied as {code}, but shfmt's AST has only {sorted(walk.constructs)}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan-dump", required=True)
    parser.add_argument("--shfmt", default="shfmt")
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--jobs", type=int, default=max(2, (os.cpu_count() or 2) * 2))
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()

    with open(args.corpus, encoding="utf-8") as f:
        corpus = json.load(f)
    commands = [e["cmd"] for e in corpus]
    dump = subprocess.run([args.plan_dump], input=json.dumps(commands).encode("utf-8"),
                          capture_output=True, check=True)
    results = json.loads(dump.stdout)
    assert len(results) == len(commands)

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        parses = list(pool.map(lambda c: shfmt_parse(args.shfmt, c), commands))

    mismatches = 0
    accepted = 0
    for entry, ours, (parsed, error) in zip(corpus, results, parses):
        accepted += ours["ok"]
        problems = check(entry, ours, parsed, error)
        if problems:
            mismatches += 1
            print(f"MISMATCH {json.dumps(entry['cmd'])}")
            for p in problems:
                print("    " + p)
        elif args.verbose:
            print(f"ok {json.dumps(entry['cmd'])}: {'accepted' if ours['ok'] else ours['code']}")
    print(f"{len(corpus)} commands, {accepted} accepted, {len(corpus) - accepted} denied, "
          f"{mismatches} mismatches")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
