"""Integration tests of node-local state that must survive a restart: a device the
node's admin removed stays refused (AuthBegin/AuthProve and a new registration), even
though its user's key bundle still lists it and names the node as a home node; and
the partners a node names at registration (RegisterResp.partners) are right at once
after a restart, before any neighbor link is up again."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

REMOVED = "device was removed by the node's admin"


class NodeStateTest(T.ClusterTest, unittest.TestCase):
    def assert_removed_refused(self, c):
        out, p = c.j("sync", check=False)
        self.assertEqual((p.returncode, out and out.get("error")), (1, "E_AUTH"),
                         p.stdout + p.stderr)
        self.assertIn(REMOVED, p.stderr)

    def test_removed_device_stays_out(self):
        n = self.cluster.add_node("alpha")
        alice = T.Client(self.cluster, "alice").init()
        alice.join(n)  # registers and publishes her bundle
        alice.j("sync")
        parts = n.admin("participants")["participants"]
        self.assertEqual([p["user_id"] for p in parts], [alice.user_id])
        self.assertTrue(n.admin("participant", "remove", parts[0]["device_key"])["ok"])
        self.assertEqual(n.admin("participants")["participants"], [])
        # Her bundle (held here) still lists the device and names this node: refused.
        self.assert_removed_refused(alice)
        self.assertIn(REMOVED, n.log())
        self.assertEqual(n.stop(), 0)
        n.start()
        self.assert_removed_refused(alice)
        self.assertEqual(n.status()["participants"], 0)

    def test_removed_device_cannot_register_again(self):
        n = self.cluster.add_node("alpha")
        p = self.cluster.probe("p0", n)
        self.assertTrue(p.register()["ok"])
        dev = n.admin("participants")["participants"][0]["device_key"]
        self.assertTrue(n.admin("participant", "remove", dev)["ok"])
        self.assertEqual(n.stop(), 0)
        n.start()
        rc, out, err = p.run("register", check=False)  # the invite has uses left
        self.assertNotEqual(rc, 0)
        self.assertIn(REMOVED, err)
        self.assertEqual(n.status()["participants"], 0)

    def test_partners_right_after_restart(self):
        a = self.cluster.add_node("alpha")
        b = self.cluster.add_node("bravo")
        self.cluster.connect(a, b)
        self.assertEqual(b.stop(), 0)
        self.assertEqual(a.stop(), 0)
        a.start()  # bravo stays down: its key cannot come from a TLS handshake now
        got = self.cluster.probe("p0", a).register()
        self.assertEqual([(x["address"], x["node_key"]) for x in got["partners"]],
                         [(b.address(), b.admin("fingerprint")["node_key"])])
        self.assertEqual(a.neighbor_state("bravo") == "up", False)


if __name__ == "__main__":
    unittest.main(verbosity=2)
