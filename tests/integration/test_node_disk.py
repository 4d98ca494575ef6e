"""A node whose disk fills up (its directory on a small tmpfs of its own, filled by
another file as a full disk usually is): posts are refused with E_DISKFULL and a reason
naming the free space and what is needed, fetches keep working, objects from a
neighbor are not stored yet but the neighbor is not cut off, a kill -9 while full loses
nothing acknowledged, and once the file is removed posting and replication resume by
themselves, without a restart. Needs root (mount); skipped with the reason otherwise."""
import base64
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

TMPFS_MIB = 128
RESERVE = 32 * 1024 * 1024   # STORE_ROCKS_DISK_RESERVE_BYTES_DEFAULT
ITEM = 150 * 1024            # bytes of text per post


def can_mount():
    """None when a tmpfs can be mounted here, else why not (root, and a probe mount: a
    container may give root without CAP_SYS_ADMIN)."""
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs"
    d = tempfile.mkdtemp(prefix="momedo-mnt-probe-")
    try:
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", d],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            return "cannot mount a tmpfs here (%s)" % (p.stderr.strip() or p.returncode)
        subprocess.run(["umount", d])
        return None
    finally:
        os.rmdir(d)


WHY_NOT = can_mount()


def free_bytes(path):
    v = os.statvfs(path)
    return v.f_bavail * v.f_frsize


@unittest.skipIf(WHY_NOT, WHY_NOT or "")
class DiskFullTest(T.ClusterTest, unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.mnt = os.path.join(self.cluster.dir, "mnt")
        os.makedirs(self.mnt)
        T.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700" % TMPFS_MIB, "tmpfs", self.mnt])
        self.addCleanup(lambda: subprocess.run(["umount", "-l", self.mnt]))
        self.filler = os.path.join(self.mnt, "filler")

    def fill_to(self, left):
        """Grow the filler file until `left` bytes remain free."""
        with open(self.filler, "ab") as f:
            while free_bytes(self.mnt) > left:
                f.write(b"\0" * min(1 << 20, max(4096, free_bytes(self.mnt) - left)))
                f.flush()
                os.fsync(f.fileno())

    def node_on_tmpfs(self, name):
        n = T.Node(self.cluster, name, T.free_port())
        n.dir = os.path.join(self.mnt, name)
        n.log_path = os.path.join(self.cluster.dir, name + ".log")
        n.init()
        n.configure("scope = flood\ndevice_posts_per_minute = 100000\nrecon_interval_ms = 1000\n"
                    "recon_jitter_ms = 200")
        self.cluster.nodes[name] = n
        return n.start()

    def texts(self, probe, node):
        got = probe.run("fetch", "--raw-text", node=node)
        return sorted(x["text"] for x in got if x.get("kind") == "item")

    def test_full_disk(self):
        a = self.node_on_tmpfs("a")
        b = self.cluster.add_node("b")
        b.configure("scope = flood\nrecon_interval_ms = 1000\nrecon_jitter_ms = 200")
        b.stop()
        b.start()
        self.cluster.connect(a, b)
        pa = self.cluster.probe("pa", a)
        pb = self.cluster.probe("pb", b)
        for p in (pa, pb):
            p.register()
            p.publish()
        self.cluster.wait_for(lambda: a.count("key_bundle") == 2 and b.count("key_bundle") == 2,
                              "bundles at both nodes")
        acked = []
        for i in range(3):
            t = "before %d " % i + "x" * 100
            pa.post_mailbox(pa.mailbox, t)
            acked.append(t)
        # The disk fills: a few MiB above the reserve.
        self.fill_to(RESERVE + 3 * 1024 * 1024)
        refused = None
        payload = os.path.join(self.cluster.dir, "payload")
        for i in range(100):
            t = "filling %d " % i + base64.b64encode(os.urandom(ITEM * 3 // 4)).decode()
            with open(payload, "w") as f:
                f.write(t)
            rc, out, err = pa.run("post", "--mailbox", pa.mailbox, "--file", payload,
                                  check=False)
            if rc != 0:
                refused = err
                break
            acked.append(t)
        self.assertIsNotNone(refused, "the node never refused a post on a full disk")
        self.assertIn("E_DISKFULL", refused)
        self.assertIn("the node's disk is full", refused)
        self.assertRegex(refused, r"\d+ bytes free, this needs \d+")
        self.assertIn("resumes by itself", refused)
        self.assertIn("disk full:", a.log())
        # Fetching works, and serves everything acknowledged.
        self.assertEqual(self.texts(pa, a), sorted(acked))
        # Objects from the neighbor are not stored yet; the neighbor is not cut off.
        from_b = ["from b %d" % i for i in range(3)]
        for t in from_b:
            pb.post_mailbox(pa.mailbox, t, node=b)
        self.cluster.wait_for(lambda: "disk full" in a.log() and b.neighbor_state("a") == "up",
                              "a refuses b's objects quietly")
        self.assertNotIn("cut off", a.log() + b.log())
        # kill -9 while full: everything acknowledged is still there after a restart.
        a.kill9()
        a.start()
        got = self.texts(pa, a)  # b's items may fit in what the restart compacted away
        self.assertEqual(sorted(set(got) - set(from_b)), sorted(acked))
        # Space comes back: posting and replication resume without a restart.
        os.unlink(self.filler)
        pid = a.proc.pid
        pa.post_mailbox(pa.mailbox, "after")
        acked.append("after")
        self.cluster.wait_for(lambda: self.texts(pa, a) == sorted(acked + from_b),
                              "all items at a after space returned")
        self.cluster.wait_for(lambda: b.count("ozone_item") == len(acked) + len(from_b),
                              "all items at b")
        self.assertEqual(a.proc.pid, pid)
        self.assertNotIn("cut off", a.log() + b.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
