"""tests/integration/test_node_ops.py — what an operator's tools rely on, with real
processes on 127.0.0.1: every binary says its version (the one CMakeLists.txt names);
momedo-admin creates a node and prints its fingerprint with no momedod anywhere near it
(it links the node-directory library instead of running `momedod --init`); the first
start of a packaged node (--init-if-empty) makes a node of a directory holding only the
package's momedo.conf and keeps that file, but refuses a store whose key is missing;
momedo-admin finds its node through MOMEDO_DIR without --dir. SIGHUP (and the admin's
reload) applies what can change live at once — proved by the rate limit biting — names
what waits for a restart, reloads neighbors.conf edited by hand, keeps running on a
broken file and reopens log_file after logrotate moved it. Under the journal (its
$JOURNAL_STREAM) lines carry syslog priorities; a service manager ($NOTIFY_SOCKET) hears
READY, RELOADING and STOPPING."""
import os
import re
import shutil
import signal
import socket
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def set_key(node, key, value):
    """Set key in the node's momedo.conf (None: remove it)."""
    path = os.path.join(node.dir, "momedo.conf")
    with open(path) as f:
        lines = [x for x in f.read().splitlines() if not x.startswith(key + " =")]
    if value is not None:
        lines.append("%s = %s" % (key, value))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


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

    def test_disk_use(self):
        """status reports the node directory's real size: a fresh node's table files are
        still empty (its data is in the log and memtable), its directory is not."""
        n = self.cluster.add_node("du")
        s = n.status()
        walked = 0
        for root, dirs, files in os.walk(n.dir):
            for name in files + dirs:
                walked += os.lstat(os.path.join(root, name)).st_blocks * 512
        self.assertGreater(s["disk_bytes"], s["store_bytes"])
        self.assertGreater(s["disk_bytes"], 0)
        # du's count, within what the node writes between the two walks
        self.assertLess(abs(s["disk_bytes"] - walked), walked // 2 + 1, (s["disk_bytes"], walked))
        human = T.run([T.ADMIN, "status", "--dir", n.dir]).stdout
        self.assertRegex(human, r"; disk use [0-9.,]+ [KMG]?B\n")

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


    def test_invites_list_and_revoke(self):
        a = self.cluster.add_node("alpha")
        self.assertEqual(a.admin("invites")["invites"], [])
        one = a.admin("invite", "--uses", "3", "--expires", "2d")
        two = a.admin("invite", "--uses", "1")
        listed = {x["id"]: x for x in a.admin("invites")["invites"]}
        self.assertEqual(set(listed), {one["id"], two["id"]})
        self.assertEqual(listed[one["id"]]["uses_left"], 3)
        self.assertEqual(listed[one["id"]]["expires_ms"], one["expires_ms"])
        self.assertNotIn(one["token"], str(listed))  # only hashes are kept
        # Revoke by a prefix; the code stops working at once.
        r = a.admin("invite", "revoke", one["id"][:6])
        self.assertIn("Revoked invite %s" % one["id"], r["message"])
        self.assertEqual([x["id"] for x in a.admin("invites")["invites"]], [two["id"]])
        keys = os.path.join(self.cluster.dir, "p2.keys")
        T.run([T.PROBE, "keygen", "--keys", keys])
        r = T.run([T.PROBE, "--keys", keys, "--json", "--invite", one["code"], "register"],
                  check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("unknown invite token", r.stdout + r.stderr)
        e = a.admin("invite", "revoke", "zz", check=False)
        self.assertEqual(e["_exit"], 1)
        self.assertEqual(a.admin("invite", "revoke", one["id"], check=False)["_exit"], 1)

    def hup(self, node, after):
        """SIGHUP node; wait until its log has a reload line newer than `after` lines."""
        node.proc.send_signal(signal.SIGHUP)
        self.cluster.wait_for(lambda: len([x for x in node.log().splitlines()
                                           if "reload:" in x]) > after, "a reload")

    def reloads(self, node):
        return len([x for x in node.log().splitlines() if "reload:" in x])

    def test_sighup_reload(self):
        a = self.cluster.add_node("alpha")
        b = self.cluster.add_node("beta")
        p = self.cluster.probe("p1", a)
        p.register()
        # Live: the rate limit and the log level; later: the listen address.
        set_key(a, "device_posts_per_minute", "2")
        set_key(a, "log_level", "debug")
        set_key(a, "listen", "127.0.0.1:%d" % T.free_port())
        self.hup(a, self.reloads(a))
        log = a.log()
        self.assertIn("reload: changed now: log_level, device_posts_per_minute", log)
        self.assertRegex(log, r"warn reload: changed in .*momedo.conf but not while running: "
                              r"listen; restart momedod")
        self.assertEqual(a.status()["listen"], a.address())  # still the old one
        results = [p.run("post", "--self", "--text", "r%d" % i, check=False)[0]
                   for i in range(3)]
        self.assertEqual(results[:2], [0, 0])
        self.assertNotEqual(results[2], 0)  # the third in a minute: refused (E_RATE)
        self.assertIn("E_RATE", str(p.run("post", "--self", "--text", "x", check=False)[1]))
        set_key(a, "listen", a.address())
        # neighbors.conf edited by hand: the new line is dialed, a removed one dropped.
        b.admin("neighbor", "add", "alpha", a.address(), a.fingerprint())
        with open(os.path.join(a.dir, "neighbors.conf"), "a") as f:
            f.write("beta %s %s\n" % (b.address(), b.fingerprint()))
        self.hup(a, self.reloads(a))
        self.cluster.wait_for(lambda: a.neighbor_state("beta") == "up", "beta up after reload")
        self.assertIn("neighbors.conf: 1 neighbor link added, 0 removed", a.log())
        with open(os.path.join(a.dir, "neighbors.conf"), "w") as f:
            f.write("# none\n")
        # The admin's reload is the same as SIGHUP, and says what it did.
        r = a.admin("reload")
        self.assertIn("neighbors.conf: 0 added, 1 removed", r["message"])
        self.assertEqual(a.status()["neighbors"], [])
        # A broken file changes nothing and the node keeps running; the admin's reload
        # reaches it all the same (on the default socket) and says what is wrong.
        set_key(a, "bogus", "1")
        self.hup(a, self.reloads(a))
        self.assertRegex(a.log(), r"error reload: .*momedo.conf:\d+: unknown key 'bogus'; "
                                  r"still running with the settings read before")
        r = a.admin("reload", check=False)
        self.assertEqual(r["_exit"], 1)
        self.assertIn("unknown key 'bogus'; nothing changed", r["reason"])
        self.assertTrue(a.is_running())
        self.assertEqual(a.status()["name"], "alpha")
        set_key(a, "bogus", None)
        # log_file, and logrotate's rename + reload.
        logf = os.path.join(a.dir, "momedod.log")
        set_key(a, "log_file", "momedod.log")
        self.hup(a, self.reloads(a))
        self.cluster.wait_for(lambda: os.path.exists(logf), "the log file")
        a.status()
        os.rename(logf, logf + ".1")
        a.proc.send_signal(signal.SIGHUP)
        self.cluster.wait_for(lambda: os.path.exists(logf), "the log file reopened")
        self.cluster.wait_for(lambda: "reload: log reopened" in open(logf).read(),
                              "the reload line in the new file")
        with open(logf + ".1") as f:
            self.assertNotIn("reload: log reopened", f.read().split("log_file")[-1])
        self.assertTrue(a.is_running())

    def test_journal_priorities(self):
        n = self.cluster.add_node("alpha", start=False)
        n.configure("recon_interval_s = 60")  # a deprecated key: one warning at start
        with open(n.log_path, "ab"):
            pass
        st = os.stat(n.log_path)
        env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
        n.start(env=env)
        lines = n.log().splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^<[3467]>", line)  # priority, no timestamp
        self.assertTrue(any(x.startswith("<4>") and "deprecated" in x for x in lines))
        self.assertTrue(any(x.startswith("<6>") and " started: node " in x for x in lines))
        self.assertEqual(n.stop(), 0)
        # Another stream than the journal's: timestamps as usual.
        env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino + 1)
        n.start(env=env)
        self.assertRegex(n.log().splitlines()[-1], r"^\d{4}-\d\d-\d\dT")

    def test_sd_notify(self):
        n = self.cluster.add_node("alpha", start=False)
        path = os.path.join(self.cluster.dir, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(T.WAIT_S)
        self.addCleanup(sock.close)
        n.start(env=dict(os.environ, NOTIFY_SOCKET=path), wait=False)

        def next_msg():
            return sock.recv(4096).decode()
        ready = next_msg()
        self.assertTrue(ready.startswith("READY=1\nSTATUS=node \"alpha\""), ready)
        self.assertIsNotNone(n.running_status())  # ready means it answers
        n.proc.send_signal(signal.SIGHUP)
        self.assertRegex(next_msg(), r"^RELOADING=1\nMONOTONIC_USEC=\d+$")
        self.assertEqual(next_msg(), "READY=1")
        n.proc.send_signal(signal.SIGTERM)
        self.assertEqual(next_msg(), "STOPPING=1")
        self.assertEqual(n.proc.wait(timeout=30), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
