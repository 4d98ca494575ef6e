"""tests/integration/test_client_engine.py — the client core's message engine driven
through its session API alone (momedo_client.h: eng_session_*), with no command line
in between: tests/tools/engine_drive.c (momedo-engine) opens a home, sends or syncs,
and prints each event the engine hands to its callback as one JSON line. A real momedod
on 127.0.0.1; the `momedo` command line only sets the accounts up and checks what the
engine stored. Two users exchange a text and a file, each message and each delivery
receipt arrives as an event, and a wrong passphrase changes nothing on disk. Contacts,
group administration and approval decisions go through the session API too: a contact
is added, a group created, a member added and removed, a post received by the members'
engines, a member's leave asks the admins, and an approval task is decided — each
checked afterwards through the command line's view of the same home.
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
        if ok is None:  # either: the caller looks
            ok = res["ok"]
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

    def engine_sync_until(self, client, pred, what):
        """Every event of momedo-engine syncs on client until pred(events) holds."""
        seen = []

        def once():
            seen.extend(self.engine(client, "sync")[0])
            return pred(seen)
        self.cluster.wait_for(once, what)
        return seen

    def test_contact_and_group_through_the_session(self):
        node, alice, bob = T.new_pair(self.cluster)
        carol = T.new_client(self.cluster, "carol", node)
        self.assertNotIn(carol.user_id, [c["user_id"] for c in alice.j("contacts")[0]["contacts"]])

        # A contact added through the session is alice's contact for the command line.
        def add_carol():
            _, res = self.engine(alice, "contact-add", carol.user_id, "carol",
                                 ok=None)
            return res if res["ok"] else None
        res = self.cluster.wait_for(add_carol, "carol's bundle at alice's engine")
        self.assertEqual((res["user_id"], res["name"], res["devices"]),
                         (carol.user_id, "carol", 1))
        listed = {c["user_id"]: c["name"] for c in alice.j("contacts")[0]["contacts"]}
        self.assertEqual(listed.get(carol.user_id), "carol")
        _, res = self.engine(alice, "contact-add", alice.user_id, "me", ok=False)
        self.assertEqual(res["error"], "E_INVAL")

        # A group made by the session: bob's engine is told it joined.
        _, res = self.engine(alice, "group-create", "staff", "bob")
        self.assertEqual((res["group"], res["members"], res["keys_sent"], res["owed"]),
                         ("staff", 2, 1, 0))
        self.assertGreaterEqual(res["records_sent"], 1)
        gid = res["group_id"]
        ev = self.engine_sync_until(
            bob, lambda es: any(e.get("group_event") == "joined" for e in es), "bob joins")
        self.assertIn(("joined", "staff"), [(e["group_event"], e["group"]) for e in ev
                                            if e["event"] == "group"])
        # Only an admin adds; only the first device signs.
        _, res = self.engine(bob, "group-add", "staff", "carol", ok=False)
        self.assertEqual(res["error"], "E_DENIED")

        # carol (alice's contact now) is added by the session; the command line agrees.
        _, res = self.engine(alice, "group-add", gid[:12], "carol")
        self.assertEqual((res["group"], res["members"]), ("staff", 3))
        members = alice.j("group", "members", "staff")[0]["members"]
        self.assertEqual(sorted(m["user_id"] for m in members),
                         sorted([alice.user_id, bob.user_id, carol.user_id]))

        # A post through the session reaches both members' engines.
        _, sent = self.engine(alice, "send", "staff", "Dienstplan steht")
        for c in (bob, carol):
            ev = self.engine_sync_until(
                c, lambda es: any(e.get("text") == "Dienstplan steht" for e in es),
                "the group post at " + c.name)
            msgs = [e for e in ev if e["event"] == "message" and e["text"] == "Dienstplan steht"]
            self.assertEqual([(m["group"], m["id"], m["from"]) for m in msgs],
                             [("staff", sent["id"], alice.user_id)])
        # bob answers in the group through his engine; alice's command line reads it.
        self.engine(bob, "send", "staff", "danke")
        self.cluster.wait_for(
            lambda: "danke" in [m["text"] for m in alice.sync() if m.get("group") == "staff"],
            "bob's answer at alice")

        # Removed through the session: the command line lists two, and a post after it
        # reaches bob's engine but not carol's.
        _, res = self.engine(alice, "group-remove", "staff", "carol")
        self.assertEqual(res["members"], 2)
        members = alice.j("group", "members", "staff")[0]["members"]
        self.assertNotIn(carol.user_id, [m["user_id"] for m in members])
        self.engine(alice, "send", "staff", "ohne carol")
        self.engine_sync_until(bob, lambda es: any(e.get("text") == "ohne carol" for e in es),
                               "the post after the removal at bob")
        ev, _ = self.engine(carol, "sync")
        self.assertNotIn("ohne carol", [e.get("text") for e in ev])
        # A member leaves by asking the admins.
        _, res = self.engine(bob, "group-leave", "staff")
        self.assertEqual((res["by_request"], res["group"]), (True, "staff"))

    def test_task_decision_through_the_session(self):
        alice, bob = self.pair()
        out, _ = alice.j("send", "bob", "--task", "Heizung freigeben", "--approval")
        tid = out["id"]
        self.engine_sync_until(bob, lambda es: any(e.get("text") == "Heizung freigeben"
                                                   for e in es), "the task at bob")
        _, res = self.engine(bob, "decide", tid[:12], "approve", "Angebot 2")
        self.assertTrue(res["id"])
        _, res = self.engine(bob, "decide", tid[:12], "decline", ok=False)
        self.assertEqual(res["error"], "E_DENIED")
        # alice's command line shows bob's decision on her task.
        def decided():
            alice.sync()
            t = [h["body"] for h in alice.history("bob") if h["body"].get("id") == tid]
            return t and t[0].get("decisions")
        dec = self.cluster.wait_for(decided, "bob's decision at alice")
        self.assertEqual([(d["by"], d["decision"], d["comment"]) for d in dec],
                         [(bob.user_id, "approved", "Angebot 2")])

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
