"""tests/integration/test_client_engine.py — the client core's message engine driven
through its session API alone (momedo_client.h: eng_session_*), with no command line
in between: tests/tools/engine_drive.c (momedo-engine) opens a home, sends or syncs,
and prints each event the engine hands to its callback as one JSON line. A real momedod
on 127.0.0.1; the `momedo` command line only sets the accounts up and checks what the
engine stored. Two users exchange a text and a file, each message and each delivery
receipt arrives as an event, and a wrong passphrase changes nothing on disk.
"""
import hashlib
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

ENGINE = os.path.join(T.BIN, "tests", "momedo-engine")
TL_TEXT, TL_FILE = 1, 2


def tree_digest(home):
    """Every file under home with its size and SHA-256 (what 'nothing changed' means)."""
    out = {}
    for root, _, files in os.walk(home):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, home)] = hashlib.sha256(fh.read()).hexdigest()
    return out


class EngineTest(T.ClusterTest, unittest.TestCase):

    def engine(self, client, *args, passphrase=None, ok=True):
        """(events, result) of one momedo-engine run on client's home."""
        env = dict(client.env)
        if passphrase is not None:
            env["MOMEDO_PASSPHRASE"] = passphrase
        p = subprocess.run([ENGINE, client.home] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env, timeout=120)
        lines = T.json_lines(p.stdout)
        self.assertTrue(lines, "momedo-engine printed nothing: %s" % p.stderr)
        res = lines[-1]
        self.assertEqual(res["ok"], ok, "%s\n%s\n%s" % (p.stdout, p.stderr, self.cluster.logs()))
        self.assertEqual(p.returncode, 0 if ok else 1)
        self.assertEqual(res["events"], len(lines) - 1, "one line per event")
        return lines[:-1], res

    def pair(self):
        return T.new_pair(self.cluster)[1:]

    def test_text_file_and_receipts_as_events(self):
        alice, bob = self.pair()
        _, sent = self.engine(alice, "send", "bob", "hello through the engine")
        events, res = self.engine(bob, "sync")
        msgs = [e for e in events if e["event"] == "message"]
        self.assertEqual(len(msgs), 1, events)
        self.assertEqual((msgs[0]["kind"], msgs[0]["text"], msgs[0]["id"], msgs[0]["from"]),
                         (TL_TEXT, "hello through the engine", sent["id"], alice.user_id))
        self.assertEqual((msgs[0]["receipt"], res["new"]), (0, 1))
        # What the engine stored is bob's history, as the command line shows it.
        hist = [m for m in bob.history("alice") if m.get("type") == "entry"]
        self.assertEqual([m["body"]["text"] for m in hist], ["hello through the engine"])

        data = os.urandom(70000) + b"engine file"
        path = os.path.join(self.cluster.dir, "plan.bin")
        with open(path, "wb") as f:
            f.write(data)
        _, fsent = self.engine(alice, "send-file", "bob", path)
        events, res = self.engine(bob, "sync")
        msgs = [e for e in events if e["event"] == "message"]
        self.assertEqual(len(msgs), 1, events)
        self.assertEqual((msgs[0]["kind"], msgs[0]["text"], msgs[0]["size"], msgs[0]["id"]),
                         (TL_FILE, "plan.bin", len(data), fsent["id"]))
        out = os.path.join(self.cluster.dir, "plan.out")
        bob.run("save", fsent["id"][:12], out)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), data, "the attachment the engine stored")

        # bob's syncs sent delivery receipts: alice's engine reports them as events
        # naming both messages, and counts no new message.
        got = []

        def receipts():
            events, res = self.engine(alice, "sync")
            for e in events:
                if e["event"] == "message":
                    self.assertEqual((e["receipt"], e["from"]), (1, bob.user_id), e)
                    got.append(e["receipt_ids"])
            self.assertEqual(res["new"], 0)
            return sum(got) >= 2
        self.cluster.wait_for(receipts, "bob's delivery receipts at alice")
        self.assertEqual(self.engine(alice, "sync")[0], [], "nothing twice")

        # And the other way: bob answers through the engine, alice's CLI reads it.
        self.engine(bob, "send", "alice", "got it")
        self.assertEqual(alice.texts(), ["got it"])

    def test_wrong_passphrase_changes_nothing(self):
        alice, bob = self.pair()
        alice.run("send", "bob", "waiting for bob")
        before = tree_digest(bob.home)
        events, res = self.engine(bob, "sync", passphrase="not bob's passphrase", ok=False)
        self.assertEqual(res["error"], "E_AUTH")
        self.assertIn("wrong passphrase", res["why"])
        self.assertEqual(events, [])
        self.assertEqual(tree_digest(bob.home), before, "a wrong passphrase wrote something")
        _, res = self.engine(alice, "send", "bob", "x", passphrase="wrong", ok=False)
        self.assertEqual(res["error"], "E_AUTH")
        # The message is still there for the right passphrase.
        events, res = self.engine(bob, "sync")
        self.assertEqual([e["text"] for e in events if e["event"] == "message"],
                         ["waiting for bob"])


if __name__ == "__main__":
    unittest.main()
