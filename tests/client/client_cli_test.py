#!/usr/bin/python3
"""Script tests of the real qvm-remote binary against fake_dom0.py (same directory), each with
HOME = a fresh temporary directory. Usage: client_cli_test.py QVM_REMOTE [unittest args...]

Deadline tests need the +15 s grace shortened: a binary built with -DQVMR_TEST_HOOKS=ON (it says
so in --version) reads QVM_REMOTE_TEST_GRACE_MS; with another build they wait the real 15 s.
"""
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

BIN = None
HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "abcdef0123456789" * 4
OTHER_KEY = "0123456789abcdef" * 4


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.home = self.tmp.name
        self.env = {"HOME": self.home, "PATH": "/usr/bin:/bin",
                    "QVM_REMOTE_TEST_GRACE_MS": "300"}
        self.record = os.path.join(self.home, "record.jsonl")
        self.fake = None

    def tearDown(self):
        if self.fake is not None:
            self.fake.kill()
            self.fake.wait()
        self.tmp.cleanup()

    def data(self, *parts):
        return os.path.join(self.home, ".qvm-remote", *parts)

    def write_key(self, key=KEY):
        os.makedirs(self.data(), mode=0o700, exist_ok=True)
        with open(self.data("auth.key"), "w") as f:
            f.write(key)

    def start_fake(self, mode="run", key=KEY, count=1):
        self.fake = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fake_dom0.py"), "--home", self.home,
             "--key", key, "--mode", mode, "--count", str(count), "--record", self.record])

    def records(self):
        if not os.path.exists(self.record):
            return []
        with open(self.record) as f:
            return [json.loads(line) for line in f]

    def run_client(self, *args, stdin=subprocess.DEVNULL, timeout=30):
        return subprocess.run([BIN, *args], env=self.env, stdin=stdin, capture_output=True,
                              timeout=timeout)

    def queue_files(self):
        found = []
        for d in ("tmp", "pending", "running", "results"):
            p = self.data("queue", d)
            if os.path.isdir(p):
                found += [d + "/" + n for n in os.listdir(p)]
        return sorted(found)

    def wait_for(self, predicate, seconds=10):
        end = time.time() + seconds
        while time.time() < end:
            if predicate():
                return True
            time.sleep(0.02)
        return False


class Answers(ClientTest):
    def test_allowed_command_prints_exact_streams_and_exits_with_the_remote_status(self):
        self.write_key()
        self.start_fake("run")
        r = self.run_client("printf", "'out\\n'", ";", "echo", "err", ">&2")
        self.assertEqual(r.stdout, b"out\n")
        self.assertEqual(r.stderr, b"err\n")
        self.assertEqual(r.returncode, 0)
        rec = self.records()[0]
        self.assertTrue(rec["mac_ok"])
        self.assertEqual(rec["body"], "printf 'out\\n' ; echo err >&2\n")
        self.assertEqual(rec["tmp_left"], [])
        self.assertTrue(rec["auth"].startswith("v=2 timeout=300 mac="))

    def test_remote_status_3_is_the_exit_status(self):
        self.write_key()
        self.start_fake("run")
        self.assertEqual(self.run_client("exit 3").returncode, 3)

    def test_death_by_signal_9_exits_137(self):
        self.write_key()
        self.start_fake("run")
        self.assertEqual(self.run_client("kill -9 $$").returncode, 137)

    def test_denied_exits_126_and_shows_dom0s_line(self):
        self.write_key()
        self.start_fake("denied")
        r = self.run_client("qvm-remove", "work")
        self.assertEqual(r.returncode, 126)
        self.assertIn(b"denied: qvm-remove needs level full", r.stderr)

    def test_a_wrong_key_is_answered_auth_and_exits_255(self):
        self.write_key(OTHER_KEY)
        self.start_fake("run", key=KEY)
        r = self.run_client("true")
        self.assertEqual(r.returncode, 255)
        self.assertIn(b"MAC does not match", r.stderr)

    def test_malformed_exits_255(self):
        self.write_key()
        self.start_fake("malformed")
        self.assertEqual(self.run_client("true").returncode, 255)

    def test_dom0_timeout_exits_124(self):
        self.write_key()
        self.start_fake("timeout")
        r = self.run_client("sleep", "1000")
        self.assertEqual(r.returncode, 124)
        self.assertEqual(r.stdout, b"partial\n")

    def test_script_on_stdin_is_sent_verbatim(self):
        self.write_key()
        self.start_fake("run")
        r = subprocess.run([BIN], env=self.env, input=b"echo a\r\necho b", capture_output=True,
                           timeout=30)
        self.assertEqual(self.records()[0]["body"], "echo a\r\necho b")
        self.assertEqual(r.returncode, 0)

    def test_results_are_archived_and_audited_and_removed_from_the_queue(self):
        self.write_key()
        self.start_fake("run")
        self.run_client("echo", "hi")
        cid = self.records()[0]["cid"]
        self.assertEqual(self.queue_files(), [])
        days = os.listdir(self.data("history"))
        self.assertEqual(sorted(os.listdir(self.data("history", days[0], cid))),
                         ["command", "err", "exit", "meta", "out"])
        with open(self.data("audit.log")) as f:
            log = f.read()
        self.assertIn("SUBMIT id=%s size=8B cmd=echo hi " % cid, log)
        self.assertIn("DONE id=%s exit=0" % cid, log)
        h = self.run_client("history")
        self.assertIn(cid.encode(), h.stdout)
        self.assertIn(b"SUBMIT", self.run_client("log", "5").stdout)

    def test_double_dash_ping_sends_ping_as_a_command(self):
        self.write_key()
        self.start_fake("run")
        self.run_client("--", "ping", "-c", "1", "x")
        rec = self.records()[0]
        self.assertEqual(rec["body"], "ping -c 1 x\n")
        self.assertNotIn("kind=ping", rec["auth"])

    def test_options_stop_at_the_first_word(self):
        self.write_key()
        self.start_fake("run")
        self.run_client("-t5", "ls", "-l", "-t", "3")
        rec = self.records()[0]
        self.assertEqual(rec["body"], "ls -l -t 3\n")
        self.assertIn("timeout=5 ", rec["auth"])


class Json(ClientTest):
    def test_json_answer_carries_streams_decision_and_truncation(self):
        self.write_key()
        self.start_fake("run")
        r = self.run_client("--json", "echo hi; exit 4")
        j = json.loads(r.stdout)
        self.assertEqual(r.returncode, 4)
        self.assertEqual(j["exit"], 4)
        self.assertEqual(j["outcome"], "ok")
        self.assertEqual(j["stdout"], "hi\n")
        self.assertEqual(j["truncated"], ["stdout"])
        self.assertEqual(j["decision"]["rule"], "policy.yaml:3")
        self.assertNotIn("signal", j)

    def test_json_sends_non_utf8_output_as_base64(self):
        self.write_key()
        self.start_fake("run")
        r = self.run_client("--json", "printf '\\xff\\xfe'; kill -9 $$")
        j = json.loads(r.stdout)
        self.assertEqual(base64.b64decode(j["stdout_b64"]), b"\xff\xfe")
        self.assertNotIn("stdout", j)
        self.assertEqual(j["signal"], 9)
        self.assertEqual(j["exit"], 137)

    def test_json_denied_carries_the_decision(self):
        self.write_key()
        self.start_fake("denied")
        j = json.loads(self.run_client("--json", "qvm-remove x").stdout)
        self.assertEqual(j["outcome"], "denied")
        self.assertEqual(j["exit"], 126)
        self.assertEqual(j["decision"]["reason_code"], "level-too-low")
        self.assertEqual(j["decision"]["reason"], "qvm-remove needs level full \u00e9")

    def test_json_with_no_answer_is_the_no_answer_form(self):
        self.write_key()
        r = self.run_client("--json", "-t", "1", "true")
        j = json.loads(r.stdout)
        self.assertEqual(r.returncode, 255)
        self.assertEqual(j, {"exit": 255, "outcome": "no-answer", "stdout": "", "stderr": "",
                             "truncated": [], "decision": None})


class Deadlines(ClientTest):
    def test_nothing_claims_it_so_it_is_withdrawn_and_exits_255(self):
        self.write_key()
        r = self.run_client("-t", "1", "true")
        self.assertEqual(r.returncode, 255)
        self.assertIn(b"dom0 is not answering", r.stderr)
        self.assertIn(b"qvm-remote status", r.stderr)
        self.assertEqual(self.queue_files(), [])

    def test_claimed_without_an_answer_exits_124(self):
        self.write_key()
        self.start_fake("claim-only")
        r = self.run_client("-t", "1", "true")
        self.assertEqual(r.returncode, 124)
        self.assertIn(b"timed out after 1s", r.stderr)

    def test_ctrl_c_before_the_claim_withdraws_the_request(self):
        self.write_key()
        p = subprocess.Popen([BIN, "true"], env=self.env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertTrue(self.wait_for(lambda: any(
            f.startswith("pending/") and not f.endswith(".auth") for f in self.queue_files())))
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 130)
        self.assertIn(b"withdrawn", err)
        self.assertEqual(self.queue_files(), [])

    def test_ctrl_c_after_the_claim_says_it_runs_on(self):
        self.write_key()
        self.start_fake("claim-only")
        p = subprocess.Popen([BIN, "true"], env=self.env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertTrue(self.wait_for(lambda: any(
            f.startswith("running/") for f in self.queue_files())))
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 130)
        self.assertIn(b"runs on there", err)
        self.assertIn(b"results/", err)


class Refusals(ClientTest):
    def test_empty_script_is_refused_before_anything_is_written(self):
        self.write_key()
        r = subprocess.run([BIN], env=self.env, input=b"", capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 255)
        self.assertIn(b"empty command", r.stderr)
        self.assertEqual(self.queue_files(), [])

    def test_over_one_mib_is_refused_before_anything_is_written(self):
        self.write_key()
        r = subprocess.run([BIN], env=self.env, input=b"x" * (1048576 + 1), capture_output=True,
                           timeout=10)
        self.assertEqual(r.returncode, 255)
        self.assertIn(b"command too large", r.stderr)
        self.assertEqual(self.queue_files(), [])

    def test_no_key_names_key_gen_and_the_pull_form(self):
        r = self.run_client("true")
        self.assertEqual(r.returncode, 255)
        self.assertIn(b"qvm-remote key gen", r.stderr)
        self.assertIn(b"| sudo qvm-remote-dom0 authorize", r.stderr)

    def test_usage_errors_exit_255(self):
        self.assertEqual(self.run_client("-x").returncode, 255)
        self.assertIn(b"unknown option: -x", self.run_client("-x").stderr)
        self.assertEqual(self.run_client("-t", "abc", "true").returncode, 255)
        self.assertEqual(self.run_client("--timeout=0", "true").returncode, 255)


class Keys(ClientTest):
    def test_key_gen_writes_0600_prints_it_and_the_pull_hint(self):
        r = self.run_client("key", "gen")
        self.assertEqual(r.returncode, 0)
        key = r.stdout.decode().strip()
        self.assertRegex(key, "^[0-9a-f]{64}$")
        st = os.stat(self.data("auth.key"))
        self.assertEqual(st.st_mode & 0o777, 0o600)
        with open(self.data("auth.key")) as f:
            self.assertEqual(f.read(), key)
        self.assertIn(b"qvm-run --pass-io ", r.stderr)
        self.assertIn(b"'cat ~/.qvm-remote/auth.key' | sudo qvm-remote-dom0 authorize ", r.stderr)
        self.assertTrue(r.stderr.rstrip().endswith(b" -"))

    def test_key_gen_refuses_to_overwrite_without_force(self):
        self.write_key()
        r = self.run_client("key", "gen")
        self.assertEqual(r.returncode, 255)
        with open(self.data("auth.key")) as f:
            self.assertEqual(f.read(), KEY)
        r = self.run_client("key", "gen", "--force")
        self.assertEqual(r.returncode, 0)
        with open(self.data("auth.key")) as f:
            self.assertNotEqual(f.read(), KEY)

    def test_key_show_prints_the_fingerprint_unless_asked_for_the_key(self):
        self.write_key()
        import hashlib
        fp = hashlib.sha256(KEY.encode()).hexdigest()[:16]
        self.assertEqual(self.run_client("key", "show").stdout.decode().strip(), fp)
        self.assertEqual(self.run_client("key", "show", "--key").stdout.decode().strip(), KEY)

    def test_key_import_lowercases_and_reads_stdin(self):
        r = subprocess.run([BIN, "key", "import"], env=self.env, input=KEY.upper().encode() + b"\n",
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 0)
        with open(self.data("auth.key")) as f:
            self.assertEqual(f.read(), KEY)
        self.assertEqual(self.run_client("key", "import", "xyz").returncode, 255)


class PingStatus(ClientTest):
    def test_ping_is_a_v2_ping_answered_within_seconds(self):
        self.write_key()
        self.start_fake("run")
        r = self.run_client("ping")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, b"qvm-remote-dom0 is responding.\n")
        rec = self.records()[0]
        self.assertEqual(rec["body"], "")
        self.assertIn(" kind=ping ", rec["auth"])
        self.assertTrue(rec["mac_ok"])
        self.assertEqual(self.queue_files(), [])

    def test_status_reports_fingerprint_counts_and_responding(self):
        self.write_key()
        self.start_fake("run")
        r = self.run_client("status")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"pending:", r.stdout)
        self.assertIn(b"responding", r.stdout)


def main():
    global BIN
    BIN = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)


if __name__ == "__main__":
    main()
