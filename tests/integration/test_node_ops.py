"""tests/integration/test_node_ops.py — what an operator's tools rely on, with real
processes on 127.0.0.1: every binary says its version (the one CMakeLists.txt names);
momedo-admin creates a node and prints its fingerprint with no momedod anywhere near it
(it links the node-directory library instead of running `momedod --init`); the first
start of a packaged node (--init-if-empty) makes a node of a directory holding only the
package's momedo.conf and keeps that file, but refuses a store whose key is missing;
momedo-admin finds its node through MOMEDO_DIR without --dir."""
import os
import re
import shutil
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        return re.search(r"project\(momedo VERSION ([0-9.]+)", f.read()).group(1)


class OpsTest(T.ClusterTest, unittest.TestCase):
    def test_version_everywhere(self):
        v = project_version()
        for path, name in ((T.MOMEDOD, "momedod"), (T.ADMIN, "momedo-admin"),
                           (T.MOMEDO, "momedo"), (T.PROBE, "momedo-probe"),
                           (os.path.join(T.BIN, "simulations", "momedo-sim"), "momedo-sim")):
            p = T.run([path, "--version"])
            self.assertEqual(p.stdout, "%s %s\n" % (name, v), path)
        # The node says the same to its peers and in status.
        n = self.cluster.add_node("alpha")
        self.assertEqual(n.status()["version"], "momedo/" + v)

    def test_admin_init_without_momedod(self):
        # momedo-admin alone in a directory, no momedod on PATH or next to it.
        lone = os.path.join(self.cluster.dir, "lone")
        os.mkdir(lone)
        admin = os.path.join(lone, "momedo-admin")
        shutil.copy(T.ADMIN, admin)
        env = {"PATH": lone}
        d = os.path.join(self.cluster.dir, "alpha")
        port = T.free_port()
        p = T.run([admin, "init", "--dir", d, "--listen", "127.0.0.1:%d" % port, "--name",
                   "alpha", "--json"], env=env)
        made = T.json_lines(p.stdout)[0]
        self.assertTrue(made["ok"])
        self.assertEqual(made["listen"], "127.0.0.1:%d" % port)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(d, "node.key")).st_mode), 0o600)
        fp = T.run([admin, "--dir", d, "fingerprint"], env=env).stdout.strip()
        self.assertEqual(fp, made["fingerprint"])
        # A bad --listen is a usage error, and leaves no node behind.
        bad = os.path.join(self.cluster.dir, "beta")
        p = T.run([admin, "init", "--dir", bad, "--listen", "nowhere"], check=False, env=env)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("HOST:PORT", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(bad, "node.key")))
        # The real momedod runs the node it made, with that fingerprint, and writes node.crt.
        n = T.Node(self.cluster, "alpha", port)
        self.cluster.nodes["alpha"] = n
        n.start()
        self.assertEqual(n.status()["fingerprint"], fp)
        with open(os.path.join(d, "node.crt")) as f:
            self.assertTrue(f.read().startswith("-----BEGIN CERTIFICATE-----"))

    def test_first_start_init_if_empty(self):
        n = T.Node(self.cluster, "packaged", T.free_port())
        self.cluster.nodes[n.name] = n
        os.mkdir(n.dir, 0o700)
        conf = "name = packaged\nlisten = %s\n" % n.address()
        with open(os.path.join(n.dir, "momedo.conf"), "w") as f:
            f.write(conf)
        n.start(args=["--init-if-empty"])
        s = n.status()
        self.assertEqual(s["name"], "packaged")
        with open(os.path.join(n.dir, "momedo.conf")) as f:
            self.assertEqual(f.read(), conf)  # the package's file is kept as it was
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(n.dir, "node.key")).st_mode), 0o600)
        self.assertIn("initialised a new node in %s: fingerprint %s" % (n.dir, s["fingerprint"]),
                      n.log())
        # Started again, it is the same node (no second key).
        self.assertEqual(n.stop(), 0)
        n.start(args=["--init-if-empty"])
        self.assertEqual(n.status()["fingerprint"], s["fingerprint"])
        self.assertEqual(n.log().count("initialised a new node"), 1)
        self.assertEqual(n.stop(), 0)
        # A store whose key is gone is not silently given a new identity.
        os.rename(os.path.join(n.dir, "node.key"), os.path.join(n.dir, "node.key.away"))
        p = T.run([T.MOMEDOD, "--dir", n.dir, "--init-if-empty"], check=False, timeout=30)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("has a store but no node.key", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(n.dir, "node.key")))

    def test_admin_finds_node_through_env(self):
        n = self.cluster.add_node("alpha")
        env = dict(os.environ, MOMEDO_DIR=n.dir)
        p = T.run([T.ADMIN, "status", "--json"], env=env)
        self.assertEqual(T.json_lines(p.stdout)[0]["name"], "alpha")
        # Options after the command, options before it, and a bad option as JSON.
        p = T.run([T.ADMIN, "--json", "status", "--dir", n.dir])
        self.assertEqual(T.json_lines(p.stdout)[0]["name"], "alpha")
        p = T.run([T.ADMIN, "status", "--bogus", "--json", "--dir", n.dir], check=False)
        self.assertEqual(p.returncode, 2)
        err = T.json_lines(p.stdout)[0]
        self.assertFalse(err["ok"])
        self.assertIn("unknown option '--bogus'", err["reason"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
