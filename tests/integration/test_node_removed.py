"""Integration tests of node-local state that must survive a restart: a device the
node's admin removed stays refused (AuthBegin/AuthProve and a new registration), even
though its user's key bundle still lists it and names the node as a home node; and
the partners a node names at registration (RegisterResp.partners) are right at once
after a restart, before any neighbor link is up again."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

MOMEDO = os.path.join(T.BIN, "client", "momedo")
PASS = "correct horse battery staple"
REMOVED = "device was removed by the node's admin"


class Client:
    """One device of the `momedo` command line, with its own home directory."""

    def __init__(self, cluster, name):
        self.cluster = cluster
        self.home = os.path.join(cluster.dir, "c-" + name)
        self.env = dict(os.environ, MOMEDO_PASSPHRASE=PASS)
        self.env.pop("MOMEDO_HOME", None)

    def run(self, *args, check=True):
        cmd = [MOMEDO] + list(args) + ["--home", self.home, "--json"]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=self.env, timeout=120)
        if check and p.returncode != 0:
            raise T.TestFailure("%s exited %d\nstdout: %s\nstderr: %s\n%s" % (
                " ".join(cmd), p.returncode, p.stdout, p.stderr, self.cluster.logs()))
        lines = T.json_lines(p.stdout)
        return (lines[-1] if lines else None), p


class NodeStateTest(T.ClusterTest, unittest.TestCase):
    def assert_removed_refused(self, c):
        out, p = c.run("sync", check=False)
        self.assertEqual((p.returncode, out and out.get("error")), (1, "E_AUTH"),
                         p.stdout + p.stderr)
        self.assertIn(REMOVED, p.stderr)

    def test_removed_device_stays_out(self):
        n = self.cluster.add_node("alpha")
        alice = Client(self.cluster, "alice")
        ident, _ = alice.run("init", "--scrypt-log2n", "10")
        alice.run("join", n.invite(uses=5))  # registers and publishes her bundle
        alice.run("sync")
        parts = n.admin("participants")["participants"]
        self.assertEqual([p["user_id"] for p in parts], [ident["user_id"]])
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
