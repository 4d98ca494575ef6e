"""tests/integration/test_client_otpk_remote.py — one-time prekeys claimed across nodes
(issue 11): two real momedod nodes on 127.0.0.1 in scoped delivery, westcity (Alice and
the other senders) and eastcity (Bob's home), real `momedo` clients and
momedo-otpk-attack (tests/integration/otpk_attack.c), which claims through its own node.

* Alice's first message to Bob names a one-time prekey that westcity claimed from
  eastcity over the federation; Bob's count at eastcity drops by one and he reads it.
* No prekey goes out twice: every id handed out (to sends and to the tool, before and
  after a kill -9 of eastcity) is different and eastcity holds 100 minus their number.
* Limits at the home node: two per requesting device and claimed device an hour, eight
  per asking node and claimed device an hour — a draining node gets no more, and a
  sender then falls back to the signed prekey alone, saying so (`send --json`, stderr).
* eastcity down: the sender falls back, reports it, and Bob reads the message later.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

TOOL = os.path.join(T.BIN, "tests", "momedo-otpk-attack")
HELD = 100                # OTPKS_NODE_TARGET
PER_REQUESTER = 2         # NODE_OTPK_REMOTE_PER_REQUESTER_HOUR
PER_NODE_DEVICE = 8       # NODE_OTPK_REMOTE_PER_DEVICE_HOUR
FAST = "\n".join([
    "record_min_interval_ms = 200ms",
    "route_holddown_ms = 0",
    "custody_retry_ms = 1s",
    "recon_interval_ms = 2s",
    "lookup_timeout_ms = 3s",
])


class RemotePrekeyTest(T.ClusterTest, unittest.TestCase):

    def tool(self, c, *args, ok=True):
        p = T.run([TOOL, "--home", c.home] + list(args), env=c.env, check=False)
        out = T.json_lines(p.stdout)
        if not out or (ok and not out[-1].get("ok")):
            raise T.TestFailure("otpk tool %s failed: %s %s" % (args, p.stdout, p.stderr))
        return out[-1]

    def node(self, name):
        n = self.cluster.add_node(name, start=False)
        n.configure(FAST)
        n.start()
        return n

    def routed(self, frm, to):
        return any(k["name"] == to.name and k["route"] for k in frm.admin("nodes")["nodes"])

    def send(self, c, to, text):
        """`send --json`: (its JSON line, stderr)."""
        out, p = c.j("send", to, text)
        return out, p.stderr

    def test_claims_across_nodes(self):
        cl = self.cluster
        west, east = self.node("westcity"), self.node("eastcity")
        cl.connect(west, east, partner=False)
        cl.wait_for(lambda: self.routed(west, east) and self.routed(east, west), "routes")
        bob = T.new_client(cl, "bob", east)
        bob.sync()
        self.assertEqual(self.tool(bob, "held")["held"], HELD)
        names = ("alice", "carol", "dave", "erin", "frank", "grace")
        alice, carol, dave, erin, frank, grace = (T.new_client(cl, n, west) for n in names)
        for c in (alice, carol, dave, erin, frank, grace):
            c.add_contact(bob, "bob")
        handed = []

        # Alice's first message: a one-time prekey from eastcity, through westcity.
        out, err = self.send(alice, "bob", "hello across nodes")
        self.assertEqual((out["one_time_prekeys"], out["signed_prekey_only"]), (1, 0), err)
        items = self.tool(bob, "capture")["items"]
        self.assertEqual([i["type"] for i in items], [3])  # a suite-2 (hybrid) first message
        self.assertNotEqual(items[0]["opk_id"], 0, "the first message names a one-time prekey")
        handed.append(items[0]["opk_id"])
        self.assertEqual(self.tool(bob, "held")["held"], HELD - 1)
        self.assertEqual(bob.texts(), ["hello across nodes"])

        # The tool claims through westcity too; its second claim is the requester's last.
        r = self.tool(alice, "claim", "bob", "5")
        self.assertEqual(len(r["ids"]), PER_REQUESTER - 1, r)
        self.assertEqual(r["stopped"], "E_RATE")
        self.assertIn("refused the claim", r["reason"])
        handed += r["ids"]
        us = [r["us_per_claim"]]
        self.assertIn("limit per requesting device", east.log())
        r = self.tool(carol, "claim", "bob", "1")
        self.assertEqual(len(r["ids"]), 1, r)
        handed += r["ids"]
        self.assertEqual(len(set(handed)), len(handed), "a prekey handed out twice")

        # eastcity is killed: grace's first message goes without a one-time prekey and
        # says why; bob reads it once eastcity is back.
        east.kill9()
        cl.wait_for(lambda: not self.routed(west, east), "westcity's route to eastcity gone")
        out, err = self.send(grace, "bob", "while eastcity was down")
        self.assertEqual((out["one_time_prekeys"], out["signed_prekey_only"]), (0, 1), err)
        self.assertIn("no one-time prekey", err)
        self.assertIn("signed prekey alone", err)
        east.start()
        cl.wait_for(lambda: self.routed(west, east), "route to eastcity again")
        seen = []
        cl.wait_for(lambda: seen.extend(bob.texts()) or "while eastcity was down" in seen,
                    "grace's message at bob")

        # After the restart (the limits are in memory: they start again) westcity drains
        # Bob's device: 8 claims an hour for the node, whoever asks.
        self.assertEqual(self.tool(bob, "held")["held"], HELD - len(handed))
        got = 0
        for c in (alice, carol, dave, erin):
            r = self.tool(c, "claim", "bob", str(PER_REQUESTER))
            self.assertEqual(len(r["ids"]), PER_REQUESTER, r)
            handed += r["ids"]
            got += len(r["ids"])
            us.append(r["us_per_claim"])
        self.assertEqual(got, PER_NODE_DEVICE)
        print("one-time prekey claim across two nodes (claim, route, synced delete, two "
              "signatures, answer), per claim in 5 runs: %s us" % sorted(us), file=sys.stderr)
        self.assertEqual(len(set(handed)), len(handed), "a prekey handed out twice")
        self.assertEqual(self.tool(bob, "held")["held"], HELD - len(handed))
        out, err = self.send(frank, "bob", "after the drain")
        self.assertEqual((out["one_time_prekeys"], out["signed_prekey_only"]), (0, 1), err)
        self.assertIn("E_RATE", err)
        self.assertIn("limit per asking node and device claimed", east.log())
        self.assertEqual(self.tool(bob, "held")["held"], HELD - len(handed))
        seen = []
        cl.wait_for(lambda: seen.extend(bob.texts()) or "after the drain" in seen,
                    "frank's message at bob")


if __name__ == "__main__":
    unittest.main()
