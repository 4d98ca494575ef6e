"""Group commit under a crash (real momedod, real momedo-probe clients on 127.0.0.1).

The node stores client posts with the store's sync deferred and answers a whole group
after one fdatasync (node/commit.c). Eight devices post concurrently, each pipelining on
its own connection, to one mailbox; while the answers stream in, the node is killed with
SIGKILL (twice, at different points). After each restart every post any client got an
answer for must be in the mailbox, and nothing a client did not post may be there.
Without the crash, every post of every connection is acknowledged and stored once.
An ack request's tombstones are made durable the same way: one log sync for the request."""
import os
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

CONNS = 8
PER_CONN = 600
TIMEOUT_MS = 240000
CONF = ("device_posts_per_minute = 100000\nmailbox_items_max = 1000000\n"
        "mailbox_items_per_poster_max = 1000000\n")


def metrics_after(mport, since):
    """The metrics page's samples from a snapshot taken after `since` (time.time()): the
    node publishes its metrics once a second."""
    url = "http://127.0.0.1:%d/metrics" % mport
    deadline = time.time() + 20
    while time.time() < deadline:
        with urllib.request.urlopen(url, timeout=10) as r:
            v = dict(ln.rsplit(" ", 1) for ln in r.read().decode().splitlines()
                     if ln and not ln.startswith("#"))
        if float(v["momedo_snapshot_time_seconds"]) > since:
            return v
        time.sleep(0.2)
    raise AssertionError("no metrics snapshot newer than %.3f" % since)


def syncs(mport):
    return int(metrics_after(mport, time.time())["momedo_store_syncs_total"])


class GroupCommitTest(T.ClusterTest, unittest.TestCase):
    def setup_node(self):
        a = self.cluster.add_node("a", start=False)
        a.configure(CONF)
        a.start()
        owner = self.cluster.probe("owner", a)
        owner.register()
        posters = []
        for i in range(CONNS):
            p = self.cluster.probe("p%d" % i, a)
            p.register()
            posters.append(p)
        return a, owner, posters

    def spawn_posts(self, a, owner, posters, tag):
        # Each device posts its own text: real ciphertexts never repeat, and two devices
        # posting the same bytes to one mailbox in the same millisecond make one item
        # (the second is answered E_EXISTS), which is not what this test is about.
        return [p.spawn("post", "--mailbox", owner.mailbox, "--text", "%s-%s" % (tag, p.name),
                        "--count", str(PER_CONN), node=a, timeout_ms=TIMEOUT_MS)
                for p in posters]

    def collect(self, procs):
        """(acknowledged IDs, refusals) the probes printed; each must have ended."""
        acked, refused = [], 0
        for p in procs:
            out, _ = p.communicate(timeout=TIMEOUT_MS / 1000 + 60)
            for x in T.json_lines(out):
                if "id" in x and "i" in x:
                    acked.append(x["id"])
                elif "error" in x and "i" in x:
                    refused += 1
        return acked, refused

    def stored_ids(self, owner, a):
        lines = owner.run("fetch", node=a, timeout_ms=TIMEOUT_MS)
        return [x["id"] for x in lines if x.get("kind") == "item"]

    def test_concurrent_posts_all_acknowledged_once(self):
        a, owner, posters = self.setup_node()
        acked, refused = self.collect(self.spawn_posts(a, owner, posters, "gc"))
        self.assertEqual((len(acked), refused), (CONNS * PER_CONN, 0))
        self.assertEqual(len(set(acked)), CONNS * PER_CONN)
        self.assertEqual(a.count("ozone_item"), CONNS * PER_CONN)
        self.assertEqual(sorted(self.stored_ids(owner, a)), sorted(acked))

    def test_sigkill_keeps_every_acknowledged_post(self):
        a, owner, posters = self.setup_node()
        every_acked = set()
        for round_, kill_at in enumerate((300, 1500)):
            before = a.count("ozone_item")
            procs = self.spawn_posts(a, owner, posters, "kill%d" % round_)
            self.cluster.wait_for(lambda: a.count("ozone_item") >= before + kill_at,
                                  "%d posts stored" % kill_at, timeout=120)
            a.kill9()  # while answers of many connections are on their way
            acked, _ = self.collect(procs)
            self.assertGreater(len(acked), 0)
            every_acked |= set(acked)
            a.start()
            stored = set(self.stored_ids(owner, a))
            lost = every_acked - stored
            self.assertEqual(lost, set(), "%d acknowledged posts lost after SIGKILL" % len(lost))
            # Stored but never acknowledged is allowed (in flight at the kill), never more
            # than the clients sent.
            self.assertLessEqual(len(stored), (round_ + 1) * CONNS * PER_CONN)
            print("round %d: %d acknowledged, %d stored after restart" % (
                round_, len(acked), len(stored)), flush=True)

    def test_ack_request_is_one_sync(self):
        """A page of 256 tombstones costs one log sync (it cost 256 synced writes), is
        answered only after it, and survives SIGKILL: the acknowledged items stay gone."""
        mport = T.free_port()
        a = self.cluster.add_node("a", start=False)
        a.configure(CONF + "metrics_listen = 127.0.0.1:%d\n" % mport)
        a.start()
        owner = self.cluster.probe("owner", a)
        owner.register()
        out = owner.run("post", "--mailbox", owner.mailbox, "--text", "ack-sync",
                        "--count", "300", timeout_ms=TIMEOUT_MS)
        self.assertEqual(len([x for x in out if "id" in x and "i" in x]), 300)

        before = syncs(mport)
        lines = owner.run("fetch", "--limit", "256", "--ack", timeout_ms=TIMEOUT_MS)
        acked_ids = [x["id"] for x in lines if x.get("kind") == "item"]
        summary = lines[-1]
        self.assertEqual((len(acked_ids), summary["acked"]), (256, 256))
        self.assertEqual(syncs(mport) - before, 1, "one ack request of 256 tombstones")
        a.kill9()
        a.start()
        left = self.stored_ids(owner, a)
        self.assertEqual(len(left), 300 - 256)
        self.assertEqual(set(left) & set(acked_ids), set())
        self.assertEqual(a.count("tombstone"), 256)

    def test_neighbor_objects_share_syncs(self):
        """What a neighbor pushes is written with the sync deferred and made durable by
        one log sync per loop iteration (node__drain syncs before any custody ack or push
        leaves): B stores all 1,200 items with far fewer syncs than items (it synced every
        object on its own before: no group sync at all)."""
        mport = T.free_port()
        a = self.cluster.add_node("a", start=False)
        a.configure(CONF)
        a.start()
        b = self.cluster.add_node("b", start=False)
        b.configure(CONF + "metrics_listen = 127.0.0.1:%d\n" % mport)
        b.start()
        self.cluster.connect(a, b)
        owner = self.cluster.probe("owner", a)
        owner.register()
        before = metrics_after(mport, time.time())
        posters = [self.cluster.probe("q%d" % i, a) for i in range(4)]
        for p in posters:
            p.register()
        procs = [p.spawn("post", "--mailbox", owner.mailbox, "--text", "nb-" + p.name, "--count",
                         "300", node=a, timeout_ms=TIMEOUT_MS) for p in posters]
        acked, refused = self.collect(procs)
        self.assertEqual((len(acked), refused), (1200, 0))
        self.cluster.wait_for(lambda: b.count("ozone_item") == 1200, "B holds all 1,200",
                              timeout=120)
        after = metrics_after(mport, time.time())
        synced = int(after["momedo_store_syncs_total"]) - int(before["momedo_store_syncs_total"])
        writes = (int(after["momedo_store_fsync_seconds_count"]) -
                  int(before["momedo_store_fsync_seconds_count"]))
        print("B: %d writes, %d log syncs for 1,200 items" % (writes, synced), flush=True)
        self.assertGreaterEqual(writes, 1200)
        self.assertGreater(synced, 0)
        self.assertLess(synced, 1200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
