"""The signature pool (node/pool.c) with real momedod and bench_node_load clients.

The node verifies an ack request's tombstones on the loop thread and the pool's threads
together, then stores them in request order on the loop thread and answers after one
sync; the group commit signs its posts the same way before it stores them (the drain
below verifies every item's node signature). Sixteen devices post concurrently and then drain their mailboxes concurrently
(pipelined: several acks of one connection in flight). Every K-th tombstone carries a
broken signature: each ack must be answered with exactly the other tombstones accepted
(E_BADSIG when all of it is broken), and afterwards each mailbox must hold exactly the
items of the broken tombstones, no other — a pool that mixed up the tombstones of one
request (or of two) would delete the wrong items or count the wrong number. Run with the
pool forced to 0, 1 and 3 threads (MOMEDO_TEST_POOL_THREADS), whatever the cores."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

LOAD = os.path.join(T.BIN, "tests", "bench_node_load")
CONNS = 16
ITEMS = 4800
CONF = ("device_posts_per_minute = 100000\nmailbox_items_max = 1000000\n"
        "mailbox_items_per_poster_max = 1000000\ndevice_acks_per_minute = 1000000\n")


class SignPoolTest(T.ClusterTest, unittest.TestCase):
    def drain(self, threads, corrupt, items):
        a = self.cluster.add_node("a%d_%d" % (threads, corrupt), start=False)
        a.configure(CONF)
        a.start(env=dict(os.environ, MOMEDO_TEST_POOL_THREADS=str(threads)))
        p = subprocess.run([LOAD, "post", "--invite", a.invite(uses=CONNS), "--conns",
                            str(CONNS), "--items", str(items), "--window", "32", "--drain", "2",
                            "--corrupt", str(corrupt), "--timeout-s", "600"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=900)
        out = json.loads(p.stdout.strip().splitlines()[-1])
        d = out["drain"]
        print("threads %d, every %d-th broken: %s" % (threads, corrupt, json.dumps(d)),
              flush=True)
        self.assertEqual((p.returncode, out.get("error")), (0, None), p.stderr[-2000:])
        self.assertEqual((out["acked"], out["refused"]), (items, 0))
        return a, d

    def check(self, threads, corrupt, items=ITEMS):
        a, d = self.drain(threads, corrupt, items)
        bad = items // corrupt
        self.assertEqual((d["corrupted"], d["items"], d["invalid"]), (bad, items - bad, 0))
        # Every mailbox: exactly the broken tombstones' items left (bench_node_load's
        # refetch compares the IDs), and the node agrees on the counts.
        self.assertEqual((d["recheck_ok"], d["recheck_bad"]), (CONNS, 0))
        self.assertEqual((a.count("ozone_item"), a.count("tombstone")), (bad, items - bad))
        return d

    def test_one_bad_tombstone_among_good_ones(self):
        for threads in (0, 1, 3):
            d = self.check(threads, 37)
            self.assertEqual(d["acks_badsig"], 0)

    def test_all_bad_is_refused_with_badsig(self):
        # Every tombstone broken: every ack is refused as a whole with E_BADSIG, nothing
        # is deleted. 200 items per mailbox: the refetch reads one page of 256.
        d = self.check(3, 1, CONNS * 200)
        self.assertGreater(d["acks_badsig"], 0)
        self.assertEqual(d["items"], 0)


    def test_quota_counts_posts_waiting_in_the_group(self):
        """Posts wait unsigned and unstored in the group until its flush: the mailbox quota
        must count them, or one group could fill a mailbox beyond mailbox_items_max.
        Eight devices pipeline 200 posts each (window 32) into their own mailboxes of at
        most 100 items: exactly 100 each are acknowledged and stored, the rest refused."""
        a = self.cluster.add_node("q", start=False)
        a.configure("device_posts_per_minute = 100000\nmailbox_items_max = 100\n")
        a.start()
        p = subprocess.run([LOAD, "post", "--invite", a.invite(uses=8), "--conns", "8",
                            "--items", "1600", "--window", "32", "--timeout-s", "600"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=900)
        out = json.loads(p.stdout.strip().splitlines()[-1])
        print("quota 100, 8 x 200 posts: %d acknowledged, %d refused" % (
            out["acked"], out["refused"]), flush=True)
        self.assertEqual((out["acked"], out["refused"]), (800, 800))
        self.assertEqual(a.count("ozone_item"), 800)


if __name__ == "__main__":
    unittest.main(verbosity=2)
