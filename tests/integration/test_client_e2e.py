"""tests/integration/test_client_e2e.py — the `momedo` client against real momedod
processes on 127.0.0.1 (two federated "cities"): messages both ways, a recipient that
is offline and later fetches through its home or through the other city's node, a
5 MB file byte for byte, a location with its numbers, tasks, two devices of one user,
a changed key refused until verified, a garbage item dropped without losing the rest,
and no plaintext, sender ID or private key in any node's data directory. A partner node
serves a device without any invite of its own (the user's key bundle names the node),
and refuses devices no bundle admits there, with the reason.
"""
import hashlib
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

def node_bytes(node):
    blobs = []
    for root, _, files in os.walk(node.dir):
        for f in files:
            if not os.path.isfile(os.path.join(root, f)):
                continue  # the admin socket
            with open(os.path.join(root, f), "rb") as fh:
                blobs.append((os.path.join(root, f), fh.read()))
    return blobs


class ClientE2E(T.ClusterTest, unittest.TestCase):

    def alice_and_bob(self, both_ways=False):
        """Two cities; Alice at the west has Bob (east) as a contact, and he her if
        both_ways."""
        a, b = self.cluster.two_cities()
        alice = T.new_client(self.cluster, "alice", a)
        bob = T.new_client(self.cluster, "bob", b)
        alice.add_contact(bob, "bob")
        if both_ways:
            bob.add_contact(alice, "alice")
        return a, b, alice, bob

    def test_two_cities_offline_and_failover(self):
        a, b = self.cluster.two_cities()
        alice = T.new_client(self.cluster, "alice", a)
        bob = T.Client(self.cluster, "bob").init()
        joined = bob.join(b)
        # The east node named the west as its partner; Bob's bundle lists both.
        self.assertEqual([(n["address"], n["role"]) for n in joined["nodes"]],
                         [(b.address(), "home"), (a.address(), "partner")])
        alice.add_contact(bob, "bob")
        bob.add_contact(alice, "alice")
        # Bob is offline (no process of his runs) while Alice sends.
        alice.run("send", "bob", "hello from the west")
        alice.run("send", "bob", "second message")
        self.cluster.wait_for(lambda: b.count("ozone_item") >= 2, "items replicated to east")
        self.assertEqual(bob.texts(), ["hello from the west", "second message"])
        self.assertEqual(bob.texts(), [])  # acknowledged: nothing new
        bob.run("send", "alice", "hello from the east")
        got = alice.sync()
        self.assertIn("hello from the east", [m.get("text") for m in got])
        # Delivery receipts came back for both of Alice's messages.
        receipts = [i for m in got if m["kind"] == "receipt" for i in m["ids"]]
        self.assertEqual(len(receipts), 2)
        hist = alice.history("bob")
        self.assertEqual([(e["direction"], e["status"]) for e in hist[:2]],
                         [("out", "delivered"), ("out", "delivered")])
        # With his home (east) down, Bob is served by the west node without any step of
        # his: no invite, no registration there. The west admits his device because his
        # key bundle (signed by his identity key, replicated) lists it and names the west.
        self.assertEqual(a.status()["participants"], 1)  # Alice only
        self.assertEqual(b.stop(), 0)
        alice.run("send", "bob", "while the east is down")
        p = bob.run("sync", "--json")
        self.assertIn("while the east is down",
                      [m.get("text") for m in T.json_lines(p.stdout)])
        p = bob.run("send", "alice", "reply via the west")
        self.assertIn("using partner %s" % a.address(), p.stderr)
        self.assertIn("reply via the west", alice.texts())
        self.assertEqual(a.status()["participants"], 1)  # still nobody registered for Bob
        b.start()

    def test_sync_sums_up_receipts_in_one_line(self):
        a, b, alice, bob = self.alice_and_bob(both_ways=True)
        # Three messages, each read by a sync of its own: three receipts come back.
        for i in range(3):
            alice.run("send", "bob", "round %d" % i)
            self.cluster.wait_for(lambda: bob.texts() == ["round %d" % i], "bob reads %d" % i)
        # Bob's client posted the receipts and the reply at the east, and Alice's sync
        # reads her home (west) and her partner (east): all of it is there at once.
        bob.run("send", "alice", "and a reply")
        out = alice.run("sync").stdout.splitlines()
        self.assertEqual(len(out), 2, out)
        self.assertIn("bob: and a reply", out[0])
        self.assertEqual(out[1], "1 new message(s), 3 of yours received (bob 3)")
        # --json keeps every receipt with its message IDs.
        for i in range(2):
            alice.run("send", "bob", "json round %d" % i)
            self.cluster.wait_for(lambda: bob.texts() == ["json round %d" % i], "bob reads")
        receipts = [m for m in alice.sync() if m["kind"] == "receipt"]
        self.assertEqual([(m["receipt"], len(m["ids"])) for m in receipts],
                         [("delivered", 1), ("delivered", 1)])
        hist = [e for e in alice.history("bob") if e["direction"] == "out"]
        self.assertEqual([e["status"] for e in hist], ["delivered"] * 5)

    def test_file_location_task(self):
        a, b, alice, bob = self.alice_and_bob()
        data = os.urandom(5 * 1024 * 1024)
        src = os.path.join(self.cluster.dir, "photo.jpg")
        with open(src, "wb") as f:
            f.write(data)
        alice.run("send", "bob", "--file", src)
        alice.run("send", "bob", "--location", "52.520008,13.404954,12.5")
        out, _ = alice.j("send", "bob", "--task", "replace the lamp in building 4", "--due",
                         "2030-06-01")
        task_id = out["id"]
        save = os.path.join(self.cluster.dir, "inbox")
        self.cluster.wait_for(lambda: b.count("ozone_item") >= 3, "items at east")
        msgs = bob.sync("--save-dir", save)
        kinds = {m["kind"]: m for m in msgs}
        self.assertEqual(set(kinds), {"file", "location", "task"})
        f = kinds["file"]["file"]
        self.assertEqual(f["size"], len(data))
        self.assertEqual(f["mime"], "image/jpeg")
        with open(f["path"], "rb") as fh:
            self.assertEqual(hashlib.sha256(fh.read()).hexdigest(), hashlib.sha256(data).hexdigest())
        loc = kinds["location"]["location"]
        self.assertEqual((loc["lat"], loc["lon"], loc["accuracy"]), (52.520008, 13.404954, 12.5))
        self.assertEqual(kinds["task"]["text"], "replace the lamp in building 4")
        # `save` gets the same bytes back out of the vault.
        again = os.path.join(self.cluster.dir, "again.bin")
        bob.run("save", kinds["file"]["id"][:12], again)
        with open(again, "rb") as fh:
            self.assertEqual(fh.read(), data)
        # Accept and finish the task; the sender sees both replies and the task done.
        bob.run("task", "accept", task_id[:10])
        bob.run("task", "done", task_id[:10])
        replies = [m for m in alice.sync() if m["kind"] == "task_reply"]
        self.assertEqual([(r["task_id"], r["action"]) for r in replies],
                         [(task_id, "accept"), (task_id, "done")])
        tasks = [e for e in alice.history("bob") if e["body"]["kind"] == "task"]
        self.assertEqual(tasks[0]["task_state"], "done")

    def test_two_devices_same_conversation(self):
        a, b, alice, bob = self.alice_and_bob(both_ways=True)
        # No invite: the node admits the tablet because Alice's new bundle lists it.
        tablet = T.link_device(self.cluster, alice, "alice-tablet")
        self.assertEqual(tablet.ident()["user_id"], alice.user_id)
        self.assertEqual(len(alice.j("device", "list")[0]["devices"]), 2)
        self.cluster.wait_for(lambda: bob.j("send", "alice", "to every device",
                                            check=False)[0].get("envelopes") == 2,
                              "bob sees alice's second device")
        alice.run("send", "bob", "from the phone")
        tablet.run("send", "bob", "from the tablet")
        self.assertIn("to every device", alice.texts())
        self.assertIn("to every device", tablet.texts())
        got = bob.texts()
        self.assertIn("from the phone", got)
        self.assertIn("from the tablet", got)
        alice.sync()
        tablet.sync()

        def convo(c):
            return sorted((e["direction"], e["body"].get("text")) for e in c.history("bob")
                          if e["body"]["kind"] == "text")
        self.assertEqual(convo(alice), convo(tablet))
        self.assertEqual(len(convo(alice)), 3)

    def test_partner_refuses_devices_no_bundle_admits(self):
        # Flood mode: a node that is no home of Alice's holds her bundle all the same
        # (with scoped delivery it never gets it, so there is nothing to refuse by).
        self.cluster.conf += "scope = flood\n"
        a, b = self.cluster.two_cities()
        alice = T.new_client(self.cluster, "alice", a)
        # The north joins the federation after Alice: it holds her bundle, which does
        # not name it as a home node.
        c = self.cluster.add_node("northcity")
        self.cluster.connect(b, c)
        # A device whose bundle names the west only, at the north.
        p = self.cluster.probe("p", a)
        p.register()
        p.publish()
        reason = "does not name this node as a home node"
        self.cluster.wait_for(
            lambda: reason in p.run("fetch", node=c, check=False)[2],
            "the north refuses the probe: " + reason)
        # A device no bundle lists, naming Alice's identity, at her home node.
        thief = self.cluster.probe("thief", a)
        alice_ik = thief.lookup(alice.user_id)["identity_key"]
        rc, out, err = thief.run("--as-user", alice_ik, "fetch", check=False)
        self.assertEqual((rc, out[-1]["error"]), (1, "E_AUTH"))
        self.assertIn("its user's key bundle does not list it", err)
        # A user of whom the node knows no bundle at all.
        rc, out, err = thief.run("fetch", check=False)
        self.assertEqual((rc, out[-1]["error"]), (1, "E_AUTH"))
        self.assertIn("no key bundle of its user is known here", err)
        self.assertIn("refused as device", a.log())
        # A linked tablet at its home node works, and is registered nowhere.
        tablet = T.link_device(self.cluster, alice, "alice-tablet")
        self.assertEqual(tablet.ident()["user_id"], alice.user_id)
        self.assertEqual(a.status()["participants"], 2)  # alice and the probe

    def test_key_change_refused_until_verified(self):
        a, b, alice, bob = self.alice_and_bob()
        alice.run("send", "bob", "before")
        self.assertEqual(bob.texts(), ["before"])
        # Bob loses his phone and starts over: a new identity.
        bob2 = T.new_client(self.cluster, "bob-new", b)
        p = self.cluster.wait_for(
            lambda: (lambda q: q if "HAS CHANGED" in q.stderr else None)(
                alice.run("contact", "add", bob2.user_id, "--name", "bob", check=False)),
            "the changed key detected")
        self.assertEqual(p.returncode, 1)
        self.assertIn(bob2.user_id, p.stderr)
        out, p = alice.j("send", "bob", "must not go out", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(out["error"], "E_KEYCHANGED")
        listed = alice.j("contacts")[0]["contacts"]
        self.assertEqual([(c["name"], c["key_changed"]) for c in listed], [("bob", True)])
        p = alice.run("contact", "verify", bob2.user_id, check=False)
        self.assertNotEqual(p.returncode, 0)  # no terminal and no --yes: not verified
        alice.run("contact", "verify", bob2.user_id, "--yes")
        alice.run("send", "bob", "after verifying")
        self.assertEqual(bob2.texts(), ["after verifying"])
        self.assertEqual(bob.texts(), [])

    def test_listen_and_bot(self):
        a, b, alice, bob = self.alice_and_bob(both_ways=True)
        listen = bob.spawn("listen", "--count", "1", "--json")
        self.cluster.wait_for(lambda: b.status()["clients_connected"] >= 1, "listener connected")
        alice.run("send", "bob", "live message")
        out, err = listen.communicate(timeout=90)
        self.assertEqual(listen.returncode, 0, err)
        self.assertEqual([m["text"] for m in T.json_lines(out) if m["kind"] == "text"],
                         ["live message"])
        # Bot mode: JSON lines in, JSON lines out (the parking office's software).
        photo = os.path.join(self.cluster.dir, "car.jpg")
        with open(photo, "wb") as f:
            f.write(os.urandom(300000))
        inbox = os.path.join(self.cluster.dir, "bot-inbox")
        bot = bob.spawn("bot", "--save-dir", inbox, stdin=True)
        self.cluster.wait_for(lambda: b.status()["clients_connected"] >= 1, "bot connected")
        alice.run("send", "bob", "--file", photo)
        alice.run("send", "bob", "--location", "48.137154,11.576124")
        bot.stdin.write(json.dumps({"to": "alice", "text": "ticket 4711 opened"}) + "\n")
        bot.stdin.write('{"to": "alice", "bogus": 1}\n')
        bot.stdin.flush()
        lines = T.JsonReader(bot, self.cluster).until(
            lambda ls: len([x for x in ls if x["type"] == "message" and x["kind"] != "receipt"]) >= 2
            and len([x for x in ls if x["type"] == "sent"]) >= 2, "bot output")
        bot.stdin.close()
        self.assertEqual(bot.wait(timeout=60), 0)
        bot.stdout.close()
        bot.stderr.close()
        sent = [x for x in lines if x["type"] == "sent"]
        self.assertEqual([x["ok"] for x in sent], [True, False])
        msgs = {x["kind"]: x for x in lines if x["type"] == "message"}
        self.assertEqual(msgs["location"]["location"]["lat"], 48.137154)
        self.assertEqual(msgs["file"]["from"], alice.user_id)
        with open(msgs["file"]["file"]["path"], "rb") as fh, open(photo, "rb") as orig:
            self.assertEqual(fh.read(), orig.read())
        self.assertIn("ticket 4711 opened", alice.texts())

    def test_garbage_item_dropped_rest_kept(self):
        a, b, alice, bob = self.alice_and_bob()
        mailbox = bob.ident()["mailbox"]
        probe = self.cluster.probe("mallory", a)
        probe.register()
        alice.run("send", "bob", "one")
        probe.post_mailbox(mailbox, "not an envelope at all")
        alice.run("send", "bob", "two")
        self.cluster.wait_for(lambda: b.count("ozone_item") >= 3, "three items at east")
        p = bob.run("sync", "--json")
        self.assertEqual([m["text"] for m in T.json_lines(p.stdout) if m.get("kind") == "text"],
                         ["one", "two"])
        self.assertIn("dropped an item: not a momedo envelope", p.stderr)
        alice.sync()  # takes (and acknowledges) bob's delivery receipt
        for n in (a, b):
            self.cluster.wait_for(lambda n=n: n.count("ozone_item") == 0,
                                  "every item acknowledged at " + n.name)

    def test_nodes_hold_no_plaintext_or_sender_id(self):
        a, b, alice, bob = self.alice_and_bob()
        marker = "PLAINTEXT-MARKER-7f3a91c2e4b65d08"
        alice.run("send", "bob", marker)
        alice.run("send", "bob", "--task", marker + "-task")
        self.cluster.wait_for(lambda: b.count("ozone_item") >= 2, "items at east")
        sender_ids = [alice.user_id, alice.user_id.replace("-", "")]
        for n in (a, b):
            for path, blob in node_bytes(n):
                self.assertNotIn(marker.encode(), blob, "plaintext in " + path)
                for s in sender_ids:
                    self.assertNotIn(s.encode(), blob, "sender ID in " + path)
        self.assertEqual(bob.texts(), [marker])


if __name__ == "__main__":
    unittest.main(verbosity=2)
