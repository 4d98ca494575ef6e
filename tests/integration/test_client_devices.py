"""Removed devices and revoked identities stay out (issue 11, finding 5), with real
nodes and clients:

- a node keeps a revocation for good: a later, non-revoked bundle of the same identity
  is refused (a thief holding the identity key cannot undo the revocation);
- a device its user removed (`momedo device remove`) is refused by everyone it writes
  to, also through a session that already exists, and also when the node the
  recipient talks to still serves the older key bundle that lists the device (the
  recipient pinned the newer version and refuses older ones);
- someone who saw a link code (a photo of the QR code; before, the code was an argument
  and stayed in the shell history) gets nothing from it (finding 3): `device join` never
  takes the code from argv, and once the new device joined, the code opens no answer and
  links no other device (before, the new device's keys derived from the code, so
  joining with it again gave the thief the same keys)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402


class DevicesTest(T.ClusterTest, unittest.TestCase):
    def test_seen_link_code_gives_nothing(self):
        n = self.cluster.add_node("alpha")
        alice = T.new_client(self.cluster, "alice", n)
        thief = T.Client(self.cluster, "thief")
        out, p = thief.j("device", "join", "momedo-link2:0000", check=False)
        self.assertEqual((p.returncode, out["error"]), (2, "E_INVAL"))  # usage
        self.assertIn("command line", p.stderr)
        tablet = T.link_device(self.cluster, alice, "alice-tablet")
        tab_key = [d["device_key"] for d in alice.j("device", "list")[0]["devices"]
                   if not d["this"]][0]
        # The thief saw the QR code and joins with it after the tablet did.
        out, p = thief.j("device", "join", "--scrypt-log2n", T.CLIENT_SCRYPT_LOG2N,
                         input=tablet.link_code + "\n", check=False)
        self.assertEqual((p.returncode, out["error"]), (1, "E_DENIED"), p.stderr)
        self.assertIn("used already, by another device", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(thief.home, "vault.key")),
                         "a failed join leaves no vault")
        devices = alice.j("device", "list")[0]["devices"]
        self.assertEqual(len(devices), 2)
        self.assertIn(tab_key, [d["device_key"] for d in devices])
        # The tablet still works: its keys are its own.
        self.assertEqual(tablet.ident()["user_id"], alice.user_id)

    def test_revocation_is_final_at_the_node(self):
        n = self.cluster.add_node("alpha")
        p = self.cluster.probe("victim", n)
        p.register()
        self.assertTrue(p.publish()["ok"])
        self.assertTrue(p.run("publish", "--revoked")[-1]["ok"])
        # The thief signs a later, non-revoked bundle with the stolen identity key.
        rc, out, err = p.run("publish", check=False)
        self.assertNotEqual(rc, 0, "a node let a later bundle undo a revocation: %r" % out)
        self.assertIn("E_SUPERSEDED", err)
        self.assertEqual(p.lookup(p.user_id)["revoked"], True)

    def test_removed_device_refused_also_via_a_stale_node(self):
        west, east = self.cluster.two_cities()
        alice = T.new_client(self.cluster, "alice", west)
        bob = T.new_client(self.cluster, "bob", west)
        tablet = T.link_device(self.cluster, bob, "bob-tablet")
        alice.add_contact(bob, "bob")
        tablet.add_contact(alice, "alice")
        tablet.run("send", "alice", "from the tablet")
        self.assertEqual(alice.texts(), ["from the tablet"])
        version = bob.j("device", "list")[0]["version"]
        spy = self.cluster.probe("spy", east)
        self.cluster.wait_for(lambda: spy.lookup(bob.user_id)["version"] >= version,
                              "bob's bundle with the tablet at the east")
        # The tablet is stolen. The east is down while Bob removes it, so the east keeps
        # serving the older bundle that lists it.
        self.assertEqual(east.stop(), 0)
        tab_key = [d["device_key"] for d in bob.j("device", "list")[0]["devices"]
                   if not d["this"]][0]
        out, _ = bob.j("device", "remove", tab_key[:12])
        self.assertEqual(out["devices"], 1)
        alice.run("send", "bob", "hi bob")  # Alice refreshes Bob's bundle: pins the newer one
        # The west goes down, the east comes back alone: the thief's tablet (its home is
        # down) falls back to the east, which still admits it, and writes to Alice.
        self.assertEqual(west.stop(), 0)
        east.start()
        tablet.run("send", "alice", "the thief, through the old session")
        # A first message too (a new session), from the same removed device.
        os.remove(os.path.join(tablet.home, "sessions"))
        tablet.run("send", "alice", "the thief, in a new session")
        lines, err = alice.sync_lines()
        texts = [m.get("text") for m in lines if m.get("type") == "message"]
        self.assertNotIn("the thief, through the old session", texts, err)
        self.assertNotIn("the thief, in a new session", texts, err)
        self.assertIn("older key bundle", err)
        self.assertIn("no longer lists", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
