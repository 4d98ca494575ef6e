"""tests/integration/test_client_pq.py — hybrid post-quantum sessions (issue 16) with real
momedod processes on 127.0.0.1 and real `momedo` clients in two federated cities: Alice
(west) and Bob (east) each publish an ML-KEM-768 key with their signed prekey; a lookup
through the other city's node returns the bundle with that key; their first messages are
suite 2 (envelope type 3, carrying the 1088-byte KEM ciphertext) and messages flow both
ways; `contact show --json` names the suite of the bundle and of the session. A
malicious node that cuts the KEM part out of Alice's first message (type 3 -> 1) gets it
refused by a copy of Bob's device that never saw the original (restored with `recover`;
docs/crypto.md "Hybrid post-quantum sessions").
"""
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

TOOL = os.path.join(T.BIN, "tests", "momedo-otpk-attack")
EK_LEN, CT_LEN = 1184, 1088
# version, type 3, suite, EK_A, SPK id, OPK id | KEM ciphertext | sealed sender (120)
PQ_PREFIX = 3 + 32 + 4 + 4 + CT_LEN + 120


class HybridSessions(T.ClusterTest, unittest.TestCase):

    def tool(self, c, *args):
        p = T.run([TOOL, "--home", c.home] + list(args), env=c.env, check=False)
        out = T.json_lines(p.stdout)
        if not out or not out[-1].get("ok"):
            raise T.TestFailure("tool %s failed: %s %s" % (args, p.stdout, p.stderr))
        return out[-1]

    def wire_device(self, probe, node, user_id):
        """The single device entry of user_id's bundle as node serves it."""
        found = []
        self.cluster.wait_for(lambda: found.append(probe.lookup(user_id, node=node, check=False))
                              or found[-1][0] == 0, "bundle of %s at %s" % (user_id, node.name))
        devs = found[-1][1][-1]["devices"]
        self.assertEqual(len(devs), 1)
        return devs[0]

    def test_hybrid_across_cities_and_stripped_kem(self):
        west, east = self.cluster.two_cities()
        alice = T.new_client(self.cluster, "alice", west)
        bob = T.new_client(self.cluster, "bob", east)
        # The bundles on the wire, fetched through the *other* city's node.
        probe_w = self.cluster.probe("probe-w", west)
        probe_e = self.cluster.probe("probe-e", east)
        for who in (alice, bob):
            d = [self.wire_device(probe, node, who.user_id)
                 for probe, node in ((probe_w, west), (probe_e, east))]
            for x in d:
                self.assertEqual(x["pq_kem_alg"], 1, "%s announces ML-KEM-768" % who.name)
                self.assertEqual(x["pq_kem_key_len"], EK_LEN)
            self.assertEqual(d[0]["pq_kem_key_sha256"], d[1]["pq_kem_key_sha256"])
        alice.add_contact(bob, "bob")
        bob.add_contact(alice, "alice")
        shown = alice.j("contact", "show", "bob")[0]
        self.assertEqual(shown["suite"], 2)
        self.assertEqual([(x["suite"], x["suite_name"], x["session_suite"])
                          for x in shown["device_list"]], [(2, "X25519+ML-KEM-768", None)])
        bob.sync()  # stocks one-time prekeys at his node, as any first sync does
        # A copy of Bob's device before Alice writes: it will only ever see the stripped
        # message (the copy is what a device that missed the original is).
        clone = T.Client(self.cluster, "bob-clone")
        shutil.copytree(bob.home, clone.home)
        alice.run("send", "bob", "hybrid hello")
        items = self.tool(bob, "capture")["items"]
        self.assertEqual(len(items), 1)
        first = bytes.fromhex(items[0]["ct"])
        self.assertEqual(items[0]["type"], 3)
        self.assertEqual(first[2], 2, "suite 2: X25519 + ML-KEM-768")
        # + ratchet header (72), the padded text (256), the tag
        self.assertEqual(len(first), PQ_PREFIX + 72 + 256 + 16)
        self.assertEqual(len(first), 1595)
        self.assertEqual(bob.texts(), ["hybrid hello"])
        bob.run("send", "alice", "hybrid reply")
        self.assertEqual(alice.texts(), ["hybrid reply"])
        alice.run("send", "bob", "and again")
        self.assertEqual(bob.texts(), ["and again"])
        for me, peer in ((alice, "bob"), (bob, "alice")):
            shown = me.j("contact", "show", peer)[0]
            self.assertEqual([x["session_suite"] for x in shown["device_list"]], [2])
        out = alice.run("contact", "show", "bob").stdout
        self.assertIn("suite 2 X25519+ML-KEM-768", out)
        self.assertIn("session: suite 2", out)
        alice.run("send", "bob", "still fine")
        self.assertEqual(bob.texts(), ["still fine"])
        # A node strips the KEM part of the first message: type 1, no suite byte, no
        # ciphertext (and OPK id 0). The copy of Bob's device (same keys, restored with
        # `recover`, never saw the original, which Bob acknowledged) refuses it: the
        # sealed header and the ratchet authenticate the whole prefix.
        stripped = first[:1] + bytes([1]) + first[3:3 + 40] + first[3 + 40 + CT_LEN:]
        self.assertEqual(len(stripped), len(first) - 1 - CT_LEN)
        self.tool(alice, "inject", "bob", stripped.hex(), "0")
        clone.run("recover")
        lines, err = clone.sync_lines()
        self.assertEqual([m for m in lines if m.get("type") == "message"], [])
        self.assertIn("a first message that does not open: decryption or authentication failed",
                      err)

if __name__ == "__main__":
    unittest.main()
