"""tests/integration/test_node_backup.py — online backup and restore with real processes
on 127.0.0.1. A client posts without pause while `momedo-admin backup` copies the running
node; the backup is restored into a fresh directory, the restored node is started, and
every item acknowledged before the backup began is there (items acknowledged later may
be or not). Restore refuses a running node (the directory's lock), a directory holding a
node unless --force (which moves it aside), and a damaged backup (a file of the wrong
size, a missing manifest); backup refuses an existing destination and leaves no
checkpoint behind in the node directory."""
import json
import os
import shutil
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

POSTS = 4000  # the burst runs on while the backup is taken; it is killed afterwards


class Poster:
    """A momedo-probe burst to its own mailbox; records each acknowledged item's ID with
    the moment this process read it (after the node acknowledged it)."""

    def __init__(self, cluster, probe):
        self.proc = probe.spawn("post", "--self", "--text", "item", "--count", str(POSTS),
                                "--window", "4", timeout_ms=120000)
        self.acked = []  # (monotonic time read, id)
        self.errors = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                o = json.loads(line)
            except ValueError:  # the last line, cut off when the burst is killed
                continue
            if "id" in o:
                self.acked.append((time.monotonic(), o["id"]))
            elif "error" in o:
                self.errors.append(o["error"])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.t.join(timeout=10)
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()


def fetch_ids(probe, node):
    return {x["id"] for x in probe.run("fetch", node=node, timeout_ms=60000) if "id" in x}


class BackupTest(T.ClusterTest, unittest.TestCase):
    def test_backup_while_posting_then_restore(self):
        a = self.cluster.add_node("alpha", start=False)
        a.configure("device_posts_per_minute = 100000")
        a.start()
        p = self.cluster.probe("p1", a)
        p.register()
        poster = Poster(self.cluster, p)
        self.addCleanup(poster.stop)
        self.cluster.wait_for(lambda: len(poster.acked) >= 200, "200 posts acknowledged")
        began = time.monotonic()
        before = {i for t, i in poster.acked if t < began}
        dest = os.path.join(self.cluster.dir, "backup1")
        out = a.admin("backup", dest)
        ended = time.monotonic()
        # The node kept serving: the burst that ran through the backup goes on being
        # acknowledged (a checkpoint may take only milliseconds, so wait for it).
        self.cluster.wait_for(lambda: len(poster.acked) >= len(before) + 100,
                              "100 more posts acknowledged after the backup began")
        during = [i for t, i in poster.acked if began <= t <= ended]
        poster.stop()
        self.assertEqual(poster.errors, [])
        self.assertTrue(out["ok"])
        self.assertEqual(out["fingerprint"], a.fingerprint())
        self.assertGreaterEqual(out["objects"], len(before))
        # The node kept serving while the backup was taken, and left nothing behind.
        self.assertGreater(len(poster.acked), len(before))
        self.assertFalse(os.path.exists(os.path.join(a.dir, "backup.tmp")) and
                         os.listdir(os.path.join(a.dir, "backup.tmp")))
        for f in ("MANIFEST", "node.key", "momedo.conf", "store/CURRENT"):
            self.assertTrue(os.path.exists(os.path.join(dest, f)), f)
        with open(os.path.join(dest, "MANIFEST")) as f:
            self.assertEqual(f.readline(), "momedo-backup 1\n")
        # A second backup into the same place is refused.
        self.assertEqual(a.admin("backup", dest, check=False)["_exit"], 1)
        # Restore into a fresh directory; start it in place of the original.
        self.assertEqual(a.stop(), 0)
        fresh = T.Node(self.cluster, "alpha2", a.port)
        self.cluster.nodes[fresh.name] = fresh
        r = T.run([T.ADMIN, "--dir", fresh.dir, "restore", dest, "--json"])
        self.assertTrue(json.loads(r.stdout)["ok"])
        fresh.start()
        self.assertEqual(fresh.status()["fingerprint"], a.fingerprint())
        got = fetch_ids(p, a)  # the probe's invite names alpha's address and key
        after = len([1 for t, _ in poster.acked if t > ended])
        print("backup took %.2f s: %d items acknowledged before it began, %d while it ran, "
              "%d after; the restored node holds %d" % (ended - began, len(before), len(during),
                                                        after, len(got)))
        missing = before - got
        self.assertEqual(missing, set(), "%d of %d items acknowledged before the backup "
                         "are missing after the restore" % (len(missing), len(before)))
        # Restore refuses the running node, and says why.
        r = T.run([T.ADMIN, "--dir", fresh.dir, "restore", dest], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("is running (PID %d)" % fresh.proc.pid, r.stderr)
        self.assertEqual(fresh.status()["fingerprint"], a.fingerprint())

    def test_restore_refusals(self):
        a = self.cluster.add_node("alpha")
        dest = os.path.join(self.cluster.dir, "b")
        a.admin("backup", dest)
        a.stop()
        # A directory that holds a node: only with --force, which moves it aside.
        other = self.cluster.add_node("other", start=False)
        r = T.run([T.ADMIN, "--dir", other.dir, "restore", dest], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("already holds a node (%s)" % other.fingerprint(), r.stderr)
        r = T.run([T.ADMIN, "--dir", other.dir, "restore", dest, "--force", "--json"])
        aside = json.loads(r.stdout)["replaced"]
        self.assertTrue(os.path.exists(os.path.join(aside, "node.key")))
        fp = T.run([T.ADMIN, "--dir", other.dir, "fingerprint"]).stdout.strip()
        self.assertEqual(fp, a.fingerprint())
        # A damaged backup is refused before anything is touched.
        bad = os.path.join(self.cluster.dir, "bad")
        shutil.copytree(dest, bad)
        sst = [f for f in os.listdir(os.path.join(bad, "store")) if f.endswith(".sst")]
        target = os.path.join(bad, "store", sst[0] if sst else "CURRENT")
        with open(target, "r+b") as f:
            f.truncate(max(0, os.path.getsize(target) - 1))
        fresh = os.path.join(self.cluster.dir, "fresh")
        r = T.run([T.ADMIN, "--dir", fresh, "restore", bad], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("the backup is damaged", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(fresh, "node.key")))
        os.unlink(os.path.join(bad, "MANIFEST"))
        r = T.run([T.ADMIN, "--dir", fresh, "restore", bad], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not a momedo backup, or an unfinished one", r.stderr)
        with open(os.path.join(bad, "MANIFEST"), "w") as f:
            f.write("momedo-backup 1\nfile ../../etc/passwd 10\nend\n")
        r = T.run([T.ADMIN, "--dir", fresh, "restore", bad], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("MANIFEST:2: bad file name", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
