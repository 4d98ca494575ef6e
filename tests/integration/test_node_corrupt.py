"""A corrupted store is found at start: a flipped byte in a table file (.sst) or in a
complete record of the write-ahead log (.log) stops momedod with exit 1 and a message
that names the file and says what to do (restore from a backup, or start empty and
let the neighbors refill it), so nothing is served from corrupt data. A record cut
short at the end of the log (a write in flight at a crash, never acknowledged) is not
corruption: the node starts with everything acknowledged before it."""
import glob
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402


def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x5A]))


class CorruptStoreTest(T.ClusterTest, unittest.TestCase):
    def node_with_items(self, n_items):
        a = self.cluster.add_node("a")
        p = self.cluster.probe("pa", a)
        p.register()
        p.publish()
        sent = ["item %d " % i + os.urandom(600).hex() for i in range(n_items)]
        for t in sent:
            p.post_mailbox(p.mailbox, t)
        return a, p, sent

    def texts(self, p):
        return sorted(x["text"] for x in p.run("fetch", "--raw-text") if x.get("kind") == "item")

    def refused_start(self, a):
        a.start(wait=False)
        rc = a.proc.wait(timeout=60)
        self.assertEqual(rc, 1, a.log()[-3000:])
        return a.log()

    def test_flipped_byte_in_a_table_file(self):
        a, p, sent = self.node_with_items(40)
        a.stop()
        a.start()  # the restart writes the logged objects into a table file
        self.assertEqual(self.texts(p), sorted(sent))
        self.assertEqual(a.stop(), 0)
        ssts = sorted(glob.glob(os.path.join(a.dir, "store", "*.sst")),
                      key=os.path.getsize)
        self.assertTrue(ssts, "no table file in the store")
        sst = ssts[-1]
        flip(sst, os.path.getsize(sst) // 3)
        log = self.refused_start(a)
        self.assertIn(os.path.basename(sst), log)
        self.assertIn("is corrupt", log)
        self.assertIn("Restore", log)
        self.assertIn("docs/operations.md", log)

    def test_flipped_byte_in_the_log_tail(self):
        a, p, sent = self.node_with_items(10)
        a.kill9()  # the items are in the write-ahead log only
        logs = sorted(glob.glob(os.path.join(a.dir, "store", "*.log")), key=os.path.getmtime)
        wal = logs[-1]
        flip(wal, os.path.getsize(wal) - 200)  # inside the last item's record
        log = self.refused_start(a)
        self.assertIn("Corruption", log)
        self.assertIn(os.path.basename(wal), log)
        self.assertIn("is corrupt", log)
        self.assertIn("Restore", log)

    def test_cut_log_tail_is_no_corruption(self):
        a, p, sent = self.node_with_items(10)
        a.kill9()
        logs = sorted(glob.glob(os.path.join(a.dir, "store", "*.log")), key=os.path.getmtime)
        wal = logs[-1]
        os.truncate(wal, os.path.getsize(wal) - 100)  # a torn last record
        a.start()
        got = self.texts(p)
        # The torn record is the last item (here it had been acknowledged; after a real
        # crash a torn record never is); everything before it is intact.
        self.assertEqual(got, sorted(sent[:-1]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
