"""tests/integration/test_scoped_delivery.py — scoped delivery (issue 10) with real
momedod processes on 127.0.0.1: four nodes in a line n1-n2-n3-n4, Alice homed on n1,
Bob on n4 with n3 as his partner. Alice adds Bob by his user ID alone (a routed lookup)
and Bob adds Alice by her QR payload (a contact card naming her home node); messages and
a 5 MB file arrive both ways; afterwards n2, which only relayed, holds none of their
items (`transit` back to 0). With n3 stopped Bob still reads everything from n4; with n2
stopped and a second path n1-n5-n4, delivery routes around. A lookup for an unknown ID
answers "not found" in bounded time without asking any other node. A neighbor that runs
another delivery mode is refused with the reason in both nodes' status.
"""
import hashlib
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

# Short engine timers so that routes, summaries and custody retries settle in seconds.
FAST = "\n".join([
    "record_min_interval_ms = 200ms",
    "route_holddown_ms = 0",
    "custody_retry_ms = 1s",
    "recon_interval_ms = 2s",
    "recon_jitter_ms = 500ms",
    "lookup_timeout_ms = 3s",
])
FILE_BYTES = 5 * 1024 * 1024


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class ScopedDelivery(T.ClusterTest, unittest.TestCase):

    def node(self, name, extra=""):
        n = self.cluster.add_node(name, start=False)
        n.configure(FAST + "\n" + extra)
        n.start()
        return n

    def route(self, frm, to):
        """(hops, next hop name) of frm's route to node to, or None."""
        for k in frm.admin("nodes")["nodes"]:
            if k["name"] == to.name and k["route"]:
                return k["hops"], k["next_hop"]
        return None

    def delivery(self, n):
        return n.status()["delivery"]

    def line(self):
        n1, n2, n3, n4 = (self.node("n%d" % i) for i in range(1, 5))
        # Only n3-n4 are partners: Bob (at n4) gets n3 as a second home; n2 only relays.
        self.cluster.connect(n1, n2, partner=False)
        self.cluster.connect(n2, n3, partner=False)
        self.cluster.connect(n3, n4, partner=True)
        self.cluster.wait_for(lambda: self.route(n1, n4) == (3, "n2") and
                              self.route(n4, n1) == (3, "n3"), "routes along the line")
        return n1, n2, n3, n4

    def send_file(self, frm, to_name, to, data_name):
        data = os.urandom(FILE_BYTES)
        src = os.path.join(self.cluster.dir, data_name)
        with open(src, "wb") as f:
            f.write(data)
        frm.run("send", to_name, "--file", src)
        save = os.path.join(self.cluster.dir, "inbox-" + to.name)
        got = []
        self.cluster.wait_for(lambda: got.extend(
            m for m in to.sync("--save-dir", save) if m["kind"] == "file") or got,
            "%s's file at %s" % (frm.name, to.name))
        self.assertEqual(got[0]["file"]["size"], FILE_BYTES)
        self.assertEqual(sha(got[0]["file"]["path"]), hashlib.sha256(data).hexdigest())

    def wait_texts(self, c, want):
        seen = []
        self.cluster.wait_for(lambda: seen.extend(c.texts()) or set(want) <= set(seen),
                              "%s reads %s" % (c.name, want))
        return seen

    def test_line_lookup_card_custody_failover_detour(self):
        n1, n2, n3, n4 = self.line()
        alice = T.new_client(self.cluster, "alice", n1)
        bob = T.new_client(self.cluster, "bob", n4)
        # Contact cards name the home nodes: Alice's n1 alone, Bob's n4 and his partner n3.
        a_id, b_id = alice.ident(), bob.ident()
        self.assertEqual([h["fingerprint"] for h in a_id["home_nodes"]], [n1.fingerprint()])
        self.assertEqual(sorted(h["fingerprint"] for h in b_id["home_nodes"]),
                         sorted([n4.fingerprint(), n3.fingerprint()]))
        self.assertEqual(a_id["qr_payload"].count(":"), 4)  # momedo:1:ID:KEY:HINTS
        # Bob's bundle lives at his homes only; n1 and n2 never got it.
        self.cluster.wait_for(lambda: n3.count("key_bundle") >= 1, "Bob's bundle at n3")
        self.assertEqual(n2.count("key_bundle"), 0)
        # Alice adds Bob by ID alone: n1 asks the node whose summary matches (a lookup).
        alice.add_contact(bob, "bob")
        self.assertGreaterEqual(self.delivery(n1)["lookups_found"], 1)
        self.assertEqual(n2.count("key_bundle"), 0)  # answers are cached by the asker only
        # Bob adds Alice by her QR payload: the card's hint sends his lookup to n1.
        out, _ = bob.j("contact", "add", a_id["qr_payload"], "--name", "alice")
        self.assertEqual(out["home_hints"], 1)
        # Messages and a 5 MB file, both ways.
        alice.run("send", "bob", "hello along the line")
        self.wait_texts(bob, ["hello along the line"])
        bob.run("send", "alice", "hello back")
        self.wait_texts(alice, ["hello back"])
        self.send_file(alice, "bob", bob, "a-to-b.bin")
        self.send_file(bob, "alice", alice, "b-to-a.bin")
        # n2 only passed things on: nothing of theirs is left there once custody moved on.
        self.cluster.wait_for(lambda: n2.status()["transit"] == 0, "n2 transit back to 0")
        st = n2.status()
        self.assertEqual((st["objects"]["ozone_item"], st["objects"]["chunk"]), (0, 0))
        self.assertGreater(st["delivery"]["transit_done"], 0)
        # Alice's items reached both of Bob's homes; with n3 stopped he reads them at n4.
        for i in range(3):
            alice.run("send", "bob", "kept twice %d" % i)
        self.cluster.wait_for(
            lambda: n3.count("ozone_item") >= 3 and n4.count("ozone_item") >= 3,
            "items at both of Bob's homes")
        self.assertEqual(n3.stop(), 0)
        self.wait_texts(bob, ["kept twice %d" % i for i in range(3)])
        n3.start()
        # A second path n1-n5-n4; with n2 stopped, delivery routes around it.
        n5 = self.node("n5")
        self.cluster.connect(n1, n5, partner=False)
        self.cluster.connect(n5, n4, partner=False)
        self.cluster.wait_for(lambda: (self.route(n1, n4) or (0, ""))[0] == 2,
                              "a 2-hop route n1-n5-n4")
        self.assertEqual(n2.stop(), 0)
        self.cluster.wait_for(lambda: self.route(n1, n4) == (2, "n5"), "n1 routes via n5")
        alice.run("send", "bob", "around n2")
        self.wait_texts(bob, ["around n2"])
        bob.run("send", "alice", "back around n2")
        self.wait_texts(alice, ["back around n2"])
        self.assertGreater(self.delivery(n5)["transit_done"], 0)
        self.cluster.wait_for(lambda: n5.status()["transit"] == 0, "n5 transit back to 0")

    def test_unknown_id_not_found_in_bounded_time(self):
        n1, n2, n3, n4 = self.line()
        alice = T.new_client(self.cluster, "alice", n1)
        T.new_client(self.cluster, "bob", n4)
        nobody = T.Client(self.cluster, "nobody").init()  # a valid ID no node is home to
        before = [self.delivery(n)["lookup_queries_answered"] for n in (n2, n3, n4)]
        t0 = time.monotonic()
        out, p = alice.j("contact", "add", nobody.user_id, check=False)
        elapsed = time.monotonic() - t0
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(out["error"], "E_NOTFOUND", out)
        self.assertLess(elapsed, 10.0)  # bounded by lookup_timeout_ms (3 s) and more
        self.assertGreaterEqual(self.delivery(n1)["lookups_notfound"], 1)
        # No node's summary matched: nobody else was asked.
        self.assertEqual([self.delivery(n)["lookup_queries_answered"] for n in (n2, n3, n4)],
                         before)

    def test_delivery_mode_mismatch_refused(self):
        a = self.node("scoped1")
        b = self.node("flood1", "scope = flood")
        self.assertEqual(self.delivery(b)["mode"], "flood")
        self.cluster.connect(a, b, wait=False)

        def refused(n, other):
            nb = [x for x in n.status()["neighbors"] if x["name"] == other.name][0]
            return nb["state"] == "refused" and "delivers by" in nb["last_error"]
        self.cluster.wait_for(lambda: refused(a, b) and refused(b, a),
                              "both refuse the other's delivery mode")
        self.assertIn("a federation runs one mode", a.log() + b.log())


if __name__ == "__main__":
    unittest.main()
