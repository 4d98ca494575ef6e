"""Unpaced burst through two federated nodes (real momedod processes on 127.0.0.1).

The reference relay Spot-On-Lite delivered 266 of a 5,000-message unpaced burst on
loopback. Here a device at A pipelines 5,000 posts on one connection without waiting for
answers (`momedo-probe post --count`), to the mailbox of a device at B that listens
live. Every post must be acknowledged by A, stored at B, pushed to the listener and
fetched at B: the exact count and the exact set of object IDs, nothing extra. A second
case keeps the default per-device rate limit: the excess is refused with E_RATE, item by
item, and exactly the acknowledged ones arrive (refusals are explicit, never silent)."""
import os
import select
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

BURST = 5000
RATE_BURST = 1000
RATE_DEFAULT = 600          # device_posts_per_minute in the node's defaults
TIMEOUT_MS = 240000         # per wait inside the probes; generous for ASan builds


class BurstTest(T.ClusterTest, unittest.TestCase):
    def pair(self, conf_a=None):
        a = self.cluster.add_node("a", start=False)
        if conf_a:
            a.configure(conf_a)
        a.start()
        b = self.cluster.add_node("b")
        self.cluster.connect(a, b)
        pa = self.cluster.probe("pa", a)
        pa.register()
        pb = self.cluster.probe("pb", b)
        pb.register()
        return a, b, pa, pb

    def start_listener(self, pb, b, count):
        """momedo-probe listen at B; returns once it is subscribed."""
        p = pb.spawn("listen", "--count", str(count), node=b, timeout_ms=TIMEOUT_MS)
        deadline = time.monotonic() + T.WAIT_S
        while time.monotonic() < deadline:
            ready, _, _ = select.select([p.stdout], [], [], 1.0)
            if ready:
                line = p.stdout.readline()
                if not line:
                    self.cluster.check(False, "listener ended before subscribing: %s" %
                                       p.stderr.read())
                if '"subscribed"' in line:
                    # Drain its output from now on, so the listener never waits on us.
                    p.lines = []
                    p.reader = threading.Thread(target=lambda: p.lines.extend(p.stdout))
                    p.reader.start()
                    return p
        self.cluster.check(False, "listener did not subscribe in time")

    def burst(self, pa, a, mailbox, count, check=True):
        return pa.run("post", "--mailbox", mailbox, "--text", "burst", "--count", str(count),
                      node=a, check=check, timeout_ms=TIMEOUT_MS)

    def fetched_ids(self, pb, b):
        lines = pb.run("fetch", node=b, timeout_ms=TIMEOUT_MS)
        return [x["id"] for x in lines if x.get("kind") == "item"]

    def listener_ids(self, listener):
        rc = listener.wait(timeout=TIMEOUT_MS / 1000 + 60)
        listener.reader.join()
        out = "".join(listener.lines)
        self.cluster.check(rc == 0, "listener exited %s: %s; last output: %s" % (
            rc, listener.stderr.read(), out[-300:]))
        return [x["id"] for x in T.json_lines(out) if x.get("kind") == "item"]

    def test_unpaced_burst_all_delivered(self):
        # pb's mailbox is posted to by its bytes alone: node a cannot tell it from a shared
        # mailbox, whose per-poster share the burst would exceed.
        a, b, pa, pb = self.pair("device_posts_per_minute = 100000\n"
                                 "mailbox_items_per_poster_max = 100000")
        listener = self.start_listener(pb, b, BURST)
        out = self.burst(pa, a, pb.mailbox, BURST)
        summary = out[-1]
        self.assertEqual((summary["acked"], summary["refused"], summary["sent"]), (BURST, 0, BURST))
        acked = [x["id"] for x in out if "id" in x and "i" in x]
        self.assertEqual(sorted(x["i"] for x in out if "i" in x), list(range(BURST)))
        want = set(acked)
        self.assertEqual(len(want), BURST)          # 5,000 distinct objects acknowledged
        self.assertEqual(a.count("ozone_item"), BURST)
        self.cluster.wait_for(lambda: b.count("ozone_item") >= BURST, "5,000 items stored at B")
        self.assertEqual(b.count("ozone_item"), BURST)
        got = self.listener_ids(listener)
        self.assertEqual(len(got), BURST)
        self.assertEqual(set(got), want)            # every one pushed live at B, no extras
        fetched = self.fetched_ids(pb, b)
        self.assertEqual(len(fetched), BURST)
        self.assertEqual(set(fetched), want)        # and fetched at B: the same set
        self.assertEqual(b.status()["objects"]["ozone_item"], BURST)

    def test_rate_limited_burst_refuses_explicitly(self):
        a, b, pa, pb = self.pair()
        rc, out, err = self.burst(pa, a, pb.mailbox, RATE_BURST, check=False)
        self.assertEqual(rc, 1, err)
        self.assertIn("E_RATE", err)
        summary = [x for x in out if "acked" in x][-1]
        self.assertEqual((summary["acked"], summary["refused"]),
                         (RATE_DEFAULT, RATE_BURST - RATE_DEFAULT))
        acked = {x["i"]: x["id"] for x in out if "id" in x and "i" in x}
        refused = {x["i"]: x["error"] for x in out if "error" in x and "i" in x}
        self.assertEqual(sorted(acked), list(range(RATE_DEFAULT)))
        self.assertEqual(sorted(refused), list(range(RATE_DEFAULT, RATE_BURST)))
        self.assertEqual(set(refused.values()), {"E_RATE"})
        self.cluster.wait_for(lambda: b.count("ozone_item") >= RATE_DEFAULT, "items at B")
        self.assertEqual(set(self.fetched_ids(pb, b)), set(acked.values()))
        self.assertEqual(b.count("ozone_item"), RATE_DEFAULT)


if __name__ == "__main__":
    unittest.main(verbosity=2)
