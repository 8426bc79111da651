#!/usr/bin/python3
"""A fake dom0 for qvm-remote's script tests: serves one VM queue exactly as docs/protocol.md §5
and §8 lay it out, without the daemon.

It waits for a request body in HOME/.qvm-remote/queue/pending/ (the client renames it in after
its .auth), checks the v2 MAC independently of our C++ (openssl dgst -sha256 -hmac), claims the
request by renaming body and .auth into running/, and answers: results/<cid>.out, .err, .meta
written under temporary names and renamed, then .exit linked in last without replacing one.

Modes (--mode):
  run         run the body with /bin/bash, answer ok with its output and status (-N for a signal)
  denied      answer denied (126) with a reason on .err
  malformed   answer malformed (255)
  timeout     answer timeout (124)
  silent      never claim, never answer
  claim-only  claim and never answer
A request whose MAC does not match the key is answered auth / bad-mac (255), whatever the mode;
a kind=ping request is answered ok, exit 0, without running anything.

Every request handled is appended as one JSON line to --record (cid, body, auth, mac_ok).
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import time


def percent_escape(value: bytes) -> str:
    return "".join(
        chr(b) if 0x20 <= b < 0x7F and b != 0x25 else "%%%02X" % b for b in value
    )


def parse_auth(text: str):
    words = text.rstrip("\n").split(" ")
    fields = dict(w.split("=", 1) for w in words)
    return fields


def mac_message(cid: str, fields: dict, body: bytes) -> bytes:
    msg = "qvm-remote-v2\ncid=%s\ntimeout=%s\n" % (cid, fields["timeout"])
    for k in sorted(k for k in fields if k not in ("v", "mac", "timeout")):
        msg += "%s=%s\n" % (k, fields[k])
    msg += "body-sha256=%s\n" % hashlib.sha256(body).hexdigest()
    return msg.encode()


def openssl_hmac(key: str, message: bytes) -> str:
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", key],
        input=message, capture_output=True, check=True,
    ).stdout.decode()
    return out.strip().split()[-1]


def put(results: str, name: str, data: bytes):
    tmp = os.path.join(results, ".tmp-" + name)
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(results, name))


def answer(results, cid, out, err, exit_text, meta):
    put(results, cid + ".out", out)
    put(results, cid + ".err", err)
    lines = "".join("%s=%s\n" % (k, percent_escape(str(v).encode() if not isinstance(v, bytes) else v))
                    for k, v in meta)
    put(results, cid + ".meta", lines.encode())
    tmp = os.path.join(results, ".tmp-" + cid + ".exit")
    with open(tmp, "w") as f:
        f.write(exit_text)
    os.link(tmp, os.path.join(results, cid + ".exit"))  # fails rather than replace one
    os.unlink(tmp)


def serve_one(queue, key, mode, record):
    pending = os.path.join(queue, "pending")
    running = os.path.join(queue, "running")
    results = os.path.join(queue, "results")
    cid = None
    while cid is None:
        for name in sorted(os.listdir(pending)) if os.path.isdir(pending) else []:
            if not name.endswith(".auth") and not name.endswith(".cmd"):
                cid = name
                break
        else:
            time.sleep(0.01)
    with open(os.path.join(pending, cid), "rb") as f:
        body = f.read()
    with open(os.path.join(pending, cid + ".auth")) as f:
        auth_text = f.read()
    fields = parse_auth(auth_text)
    mac_ok = openssl_hmac(key, mac_message(cid, fields, body)) == fields.get("mac")
    with open(record, "a") as f:
        f.write(json.dumps({"cid": cid, "body": body.decode("utf-8", "replace"),
                            "auth": auth_text, "mac_ok": mac_ok,
                            "tmp_left": sorted(os.listdir(os.path.join(queue, "tmp")))}) + "\n")
    if mode == "silent":
        time.sleep(3600)
    os.rename(os.path.join(pending, cid + ".auth"), os.path.join(running, cid + ".auth"))
    os.rename(os.path.join(pending, cid), os.path.join(running, cid))
    if mode == "claim-only":
        time.sleep(3600)
    base = [("id", cid), ("started", "2026-11-30T12:00:00.000Z"), ("duration_ms", 5)]
    if not mac_ok:
        answer(results, cid, b"", b"qvm-remote-dom0: refused: the request's MAC does not match this VM's key\n",
               "255", base + [("exit_code", 255), ("outcome", "auth"), ("reason_code", "bad-mac"),
                              ("reason", "bad MAC")])
    elif fields.get("kind") == "ping":
        answer(results, cid, b"", b"", "0", base + [("exit_code", 0), ("outcome", "ok")])
    elif mode == "run":
        p = subprocess.run(["/bin/bash", "-c", body.decode("utf-8", "surrogateescape")],
                           capture_output=True)
        answer(results, cid, p.stdout, p.stderr, str(p.returncode),
               base + [("exit_code", p.returncode), ("outcome", "ok"), ("decision", "allow"),
                       ("level", "manage"), ("rule", "policy.yaml:3"), ("executor", "argv"),
                       ("truncated", "stdout"), ("grant", "")])
    elif mode == "denied":
        answer(results, cid, b"", b"qvm-remote-dom0: denied: qvm-remove needs level full (policy.yaml:7)\n",
               "126", base + [("exit_code", 126), ("outcome", "denied"), ("decision", "deny"),
                              ("level", "manage"), ("rule", "policy.yaml:7"),
                              ("reason_code", "level-too-low"),
                              ("reason", "qvm-remove needs level full \u00e9".encode())])
    elif mode == "malformed":
        answer(results, cid, b"", b"qvm-remote-dom0: refused: body is binary\n", "255",
               base + [("exit_code", 255), ("outcome", "malformed"), ("reason_code", "binary")])
    elif mode == "timeout":
        answer(results, cid, b"partial\n", b"qvm-remote-dom0: killed at the deadline\n", "124",
               base + [("exit_code", 124), ("outcome", "timeout")])
    os.unlink(os.path.join(running, cid))
    os.unlink(os.path.join(running, cid + ".auth"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--mode", default="run")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--record", required=True)
    a = ap.parse_args()
    queue = os.path.join(a.home, ".qvm-remote", "queue")
    for _ in range(a.count):
        serve_one(queue, a.key, a.mode, a.record)


if __name__ == "__main__":
    sys.exit(main())
