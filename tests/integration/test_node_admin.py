"""Integration tests of momedo-admin against real momedod processes on 127.0.0.1:
init, fingerprint, status --json, neighbor add/list/remove surviving a restart, the
forms a fingerprint may be typed in, invites (shell-safe codes) and participants (with
their connection state), one warning for a neighbor that stays unreachable, a bad
config line, and the node-not-running error."""
import json
import os
import re
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class AdminTest(T.ClusterTest, unittest.TestCase):
    def test_init_and_fingerprint(self):
        n = self.cluster.add_node("alpha", start=False)
        mode = lambda p: stat.S_IMODE(os.stat(os.path.join(n.dir, p)).st_mode)
        self.assertEqual(stat.S_IMODE(os.stat(n.dir).st_mode), 0o700)
        self.assertEqual(mode("node.key"), 0o600)
        self.assertEqual(mode("momedo.conf"), 0o600)
        self.assertTrue(os.path.isdir(os.path.join(n.dir, "store")))
        conf = read(os.path.join(n.dir, "momedo.conf"))
        self.assertIn("listen = 127.0.0.1:%d" % n.port, conf)
        self.assertIn("# recon_interval_s = 60", conf)  # every option, commented
        # fingerprint works without a running node and matches what init printed.
        fp = T.run([T.ADMIN, "--dir", n.dir, "fingerprint"]).stdout.strip()
        self.assertEqual(fp, n.fingerprint())
        self.assertRegex(fp, r"^([0-9A-Z]{4}-){13}[0-9A-Z*~$=]$")
        js = n.admin("fingerprint")
        self.assertEqual(js["fingerprint"], fp)
        self.assertEqual(len(js["node_key"]), 64)
        # init refuses to overwrite a node.
        p = T.run([T.ADMIN, "init", "--dir", n.dir], check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("refusing to overwrite", p.stderr)
        self.assertEqual(T.run([T.ADMIN, "--dir", n.dir, "fingerprint"]).stdout.strip(), fp)

    def test_not_running(self):
        n = self.cluster.add_node("alpha", start=False)
        p = T.run([T.ADMIN, "--dir", n.dir, "status"], check=False)
        self.assertEqual(p.returncode, 3)
        self.assertIn("not running", p.stderr)
        js = n.admin("status", check=False)
        self.assertEqual(js["_exit"], 3)
        self.assertFalse(js["ok"])
        self.assertFalse(js["node_running"])
        self.assertEqual(n.admin("neighbor", "list", check=False)["_exit"], 3)

    def test_status_json_shape(self):
        n = self.cluster.add_node("alpha")
        s = n.status()
        self.assertTrue(s["ok"])
        self.assertEqual(s["name"], "alpha")
        self.assertEqual(s["fingerprint"], n.fingerprint())
        self.assertEqual(s["listen"], n.address())
        self.assertEqual(s["neighbors"], [])
        self.assertEqual(set(s["objects"]),
                         {"key_bundle", "ozone_item", "tombstone", "chunk", "alias", "total"})
        for k in ("uptime_s", "clients_connected", "participants", "bytes_in", "bytes_out",
                  "objects_invalid", "peers_refused", "invites_active"):
            self.assertIsInstance(s[k], int, k)
        # Human output is a readable page, not JSON.
        p = n.admin("status", as_json=False)
        self.assertIn("Node alpha", p.stdout)
        self.assertIn("No neighbors", p.stdout)

    def test_neighbors_survive_restart(self):
        a = self.cluster.add_node("alpha")
        b = self.cluster.add_node("beta", start=False)
        out = a.admin("neighbor", "add", "beta", b.address(), b.fingerprint())
        self.assertTrue(out["ok"])
        lst = a.admin("neighbor", "list")["neighbors"]
        self.assertEqual([x["name"] for x in lst], ["beta"])
        self.assertEqual(lst[0]["fingerprint"], b.fingerprint())
        self.assertIn(lst[0]["state"], ("connecting", "down"))  # beta is not running
        # Errors are clear and change nothing.
        e = a.admin("neighbor", "add", "beta", b.address(), b.fingerprint(), check=False)
        self.assertEqual(e["_exit"], 1)
        self.assertIn("already a neighbor called 'beta'", e["reason"])
        bad = b.fingerprint()[:-1] + ("0" if b.fingerprint()[-1] != "0" else "1")
        e = a.admin("neighbor", "add", "gamma", "127.0.0.1:1", bad, check=False)
        self.assertEqual(e["_exit"], 1)
        self.assertIn("not a node fingerprint (a character is mistyped", e["reason"])
        e = a.admin("neighbor", "add", "gamma", "127.0.0.1:1", "nonsense-fp", check=False)
        self.assertEqual(e["_exit"], 1)
        self.assertIn("expected the 53 characters", e["reason"])
        self.assertIn("64 hex digits", e["reason"])
        e = a.admin("neighbor", "add", "gamma", "127.0.0.1:99999", b.fingerprint(), check=False)
        self.assertIn("HOST:PORT", e["reason"])
        # Survives a restart; then beta comes up and the link is established.
        self.assertEqual(a.stop(), 0)
        a.start()
        self.assertEqual([x["name"] for x in a.admin("neighbor", "list")["neighbors"]], ["beta"])
        b.start()
        b.admin("neighbor", "add", "alpha", a.address(), a.fingerprint())
        self.cluster.wait_for(lambda: a.neighbor_state("beta") == "up", "alpha-beta up")
        # Remove: the link closes at once, and stays removed after a restart.
        a.admin("neighbor", "remove", "beta")
        self.assertEqual(a.admin("neighbor", "list")["neighbors"], [])
        e = a.admin("neighbor", "remove", "beta", check=False)
        self.assertEqual(e["_exit"], 1)
        a.stop()
        a.start()
        self.assertEqual(a.admin("neighbor", "list")["neighbors"], [])
        self.cluster.wait_for(lambda: b.neighbor_state("alpha") != "up", "beta sees alpha go")

    def test_fingerprint_typed_without_dashes(self):
        # The fingerprint as one token (no dashes, lower case) pins the right node on one
        # side, the node key as 64 hex digits on the other: the link comes up.
        a = self.cluster.add_node("alpha")
        b = self.cluster.add_node("beta")
        flat = b.fingerprint().replace("-", "").lower()
        self.assertEqual(len(flat), 53)
        out = a.admin("neighbor", "add", "beta", b.address(), flat)
        self.assertTrue(out["ok"])
        self.assertEqual(a.admin("neighbor", "list")["neighbors"][0]["fingerprint"],
                         b.fingerprint())
        a_key = a.admin("fingerprint")["node_key"]
        b.admin("neighbor", "add", "alpha", a.address(), a_key)
        self.cluster.wait_for(lambda: a.neighbor_state("beta") == "up" and
                              b.neighbor_state("alpha") == "up", "alpha-beta up")

    def test_unreachable_neighbor_warns_once(self):
        a = self.cluster.add_node("alpha", start=False)
        ghost = self.cluster.add_node("ghost", start=False)  # never runs
        conf = os.path.join(a.dir, "momedo.conf")
        write(conf, read(conf) + "log_level = debug\n")
        a.start()
        a.admin("neighbor", "add", "ghost", "127.0.0.1:%d" % ghost.port, ghost.fingerprint())
        self.cluster.wait_for(lambda: len(re.findall(r"neighbor ghost: attempt \d+ failed",
                                                     a.log())) >= 3, "three failed attempts")
        log = a.log()
        warns = [x for x in log.splitlines() if " warn " in x]
        self.assertEqual(len([x for x in warns if "neighbor ghost unreachable" in x]), 1, log)
        self.assertEqual([x for x in warns if "link out" in x], [], log)
        self.assertEqual(len([x for x in warns if "ghost" in x or " down " in x]),
                         1, log)
        # The link's own lines are still there for debugging.
        self.assertRegex(log, r"debug link out 127\.0\.0\.1:%d down" % ghost.port)

    def test_invite_and_participants(self):
        n = self.cluster.add_node("alpha")
        inv = n.admin("invite", "--uses", "2", "--expires", "1h")
        self.assertRegex(inv["code"], r"^momedo2:[0-9A-Z]+$")
        # Unquoted in a shell, the code stays itself (no $ * ~ = to expand).
        echo = T.run(["sh", "-c", "printf %s " + inv["code"]]).stdout
        self.assertEqual(echo, inv["code"])
        self.assertEqual(inv["uses"], 2)
        self.assertEqual(inv["address"], n.address())
        self.assertEqual(n.status()["invites_active"], 1)
        probes = [self.cluster.probe("p%d" % i, n) for i in range(3)]
        for p in probes:
            self.cluster.codes["alpha"] = inv["code"]
        self.assertTrue(probes[0].register()["ok"])
        self.assertTrue(probes[1].register()["ok"])
        rc, out, err = probes[2].run("register", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("used up", err + json.dumps(out))
        self.assertEqual(n.status()["invites_active"], 0)
        parts = n.admin("participants")["participants"]
        self.assertEqual(sorted(p["user_id"] for p in parts),
                         sorted([probes[0].user_id, probes[1].user_id]))
        self.assertEqual([p["connected"] for p in parts], [False, False])
        # While probe 0 listens, exactly its device shows as connected.
        listen = probes[0].spawn("listen", "--count", "1", invite=inv["code"])

        def connected():
            return {p["user_id"]: p["connected"] for p in n.admin("participants")["participants"]}
        self.cluster.wait_for(lambda: connected()[probes[0].user_id], "probe 0 connected")
        self.assertFalse(connected()[probes[1].user_id])
        probes[1].post_mailbox(probes[0].mailbox, "wake up")
        listen.communicate(timeout=90)
        self.assertEqual(listen.returncode, 0)
        dev = parts[0]["device_key"]
        out = n.admin("participant", "remove", dev[:12])
        self.assertTrue(out["ok"])
        self.assertEqual(len(n.admin("participants")["participants"]), 1)
        e = n.admin("participant", "remove", dev[:12], check=False)
        self.assertEqual(e["_exit"], 1)
        # Bad arguments: usage error (exit 2), one JSON object.
        e = n.admin("invite", "--uses", "0", check=False)
        self.assertEqual(e["_exit"], 2)
        e = n.admin("invite", "--expires", "soon", check=False)
        self.assertEqual(e["_exit"], 2)

    def test_bad_config_line(self):
        n = self.cluster.add_node("alpha", start=False)
        path = os.path.join(n.dir, "momedo.conf")
        lines = read(path).splitlines()
        lines.append("listen_port = 4711")
        write(path, "\n".join(lines) + "\n")
        p = T.run([T.MOMEDOD, "--dir", n.dir], check=False, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("momedo.conf:%d: unknown key 'listen_port'" % len(lines), p.stderr)
        js = n.admin("status", check=False)
        self.assertEqual(js["_exit"], 1)
        self.assertIn("unknown key 'listen_port'", js["reason"])
        lines[-1] = "frame_bytes_max = 12"
        write(path, "\n".join(lines) + "\n")
        p = T.run([T.MOMEDOD, "--dir", n.dir], check=False, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("frame_bytes_max must be a whole number from 1024", p.stderr)

    def test_sigterm_clean_stop(self):
        n = self.cluster.add_node("alpha")
        self.assertEqual(n.stop(), 0)
        self.assertIn("stopped cleanly", n.log())
        self.assertFalse(os.path.exists(os.path.join(n.dir, "admin.sock")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
