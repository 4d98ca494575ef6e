"""Clock jumps on real nodes (momedod's test clock: MOMEDO_TEST_CLOCK_FILE holds an
offset in ms, read while the node runs; docs/reliability.md). Two nodes a and b:

- b's clock runs 3 h ahead: both nodes log the skew at the link's Hello; items posted
  at b are refused by a (E_FUTURE) without strikes — before, 100 of them cut b off —
  and arrive at a, all of them, as soon as a's clock is within the 10-minute skew of
  theirs; after both clocks step back 3 h, posting and replication go on.
- a's clock jumps past an item's expiry: a drops it early (its clock says so), takes no
  copy back while it is ahead, and gets it back from b once its clock is right again;
  an item its recipient acknowledged stays gone through the jumps.
Skipped, with the reason, when momedod was built without MOMEDO_TEST_HOOKS."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

HOUR_MS = 3600 * 1000
FUTURE_ITEMS = 150  # more than the 100 strikes that cut a neighbor off


class ClockTest(T.ClusterTest, unittest.TestCase):
    def clocked_node(self, name):
        n = self.cluster.add_node(name, start=False)
        n.configure("scope = flood\nrecon_interval_ms = 1000\nrecon_jitter_ms = 200\n"
                    "device_posts_per_minute = 100000")
        n.clock = os.path.join(self.cluster.dir, name + ".clock")
        self.set_clock(n, 0)
        os.environ["MOMEDO_TEST_CLOCK_FILE"] = n.clock
        try:
            n.start()
        finally:
            os.environ.pop("MOMEDO_TEST_CLOCK_FILE", None)
        if "test hook active: clock offset" not in n.log():
            self.skipTest("momedod is built without MOMEDO_TEST_HOOKS (no test clock)")
        return n

    def set_clock(self, n, offset_ms):
        tmp = n.clock + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % offset_ms)
        os.replace(tmp, n.clock)

    def restart(self, n):
        n.stop()
        os.environ["MOMEDO_TEST_CLOCK_FILE"] = n.clock
        try:
            n.start()
        finally:
            os.environ.pop("MOMEDO_TEST_CLOCK_FILE", None)

    def items(self, p, node, mailbox=None):
        args = ["fetch", "--raw-text"] + (["--mailbox", mailbox] if mailbox else [])
        return [x for x in p.run(*args, node=node) if x.get("kind") == "item"]

    def setUp(self):
        super().setUp()
        self.a = self.clocked_node("a")
        self.b = self.clocked_node("b")
        self.cluster.connect(self.a, self.b)
        self.pa = self.cluster.probe("pa", self.a)
        self.pb = self.cluster.probe("pb", self.b)
        for p in (self.pa, self.pb):
            p.register()
            p.publish()
        self.cluster.wait_for(lambda: self.a.count("key_bundle") == 2 and
                              self.b.count("key_bundle") == 2, "bundles at both nodes")

    def test_neighbor_clock_ahead(self):
        a, b, pa, pb = self.a, self.b, self.pa, self.pb
        self.set_clock(b, 3 * HOUR_MS)
        self.restart(b)  # the link's Hellos show the skew
        skew = r"neighbor %s's clock is 10[78]\d\d s %s ours"  # 3 h, as the Hello saw it
        self.cluster.wait_for(lambda: re.search(skew % ("b", "ahead of"), a.log()) and
                              re.search(skew % ("a", "behind"), b.log()), "skew logged")
        out = pb.run("post", "--mailbox", pa.mailbox, "--text", "from the future",
                     "--count", str(FUTURE_ITEMS), node=b)
        self.assertEqual(out[-1]["acked"], FUTURE_ITEMS)
        self.cluster.wait_for(lambda: b.count("ozone_item") == FUTURE_ITEMS, "items at b")
        # a refuses them quietly: b is not cut off, a holds none yet.
        self.cluster.wait_for(lambda: a.status()["neighbors"][0].get("state") == "up",
                              "b still up at a")
        self.assertNotIn("cut off", a.log())
        self.assertEqual(a.count("ozone_item"), 0)
        # a's clock catches up: every item arrives, nothing was lost.
        self.set_clock(a, 3 * HOUR_MS)
        self.cluster.wait_for(lambda: len(self.items(pa, a)) == FUTURE_ITEMS,
                              "all items at a once the clocks agree")
        # Both clocks step back three hours: posting and replication go on.
        self.set_clock(a, 0)
        self.set_clock(b, 0)
        pa.post_mailbox(pb.mailbox, "after the step back", node=a)
        self.cluster.wait_for(lambda: [x["text"] for x in self.items(pb, b)] ==
                              ["after the step back"], "item at b after the step back")
        self.assertNotIn("cut off", a.log() + b.log())

    def test_expiry_and_ack_through_jumps(self):
        a, b, pa = self.a, self.b, self.pa
        pa.run("post", "--mailbox", pa.mailbox, "--text", "short-lived", "--ttl-ms",
               str(HOUR_MS), node=a)
        pa.post_mailbox(pa.mailbox, "acknowledged", node=a)
        self.cluster.wait_for(lambda: b.count("ozone_item") == 2, "both items at b")
        got = pa.run("fetch", "--raw-text", "--ack", node=a)
        self.assertEqual(sorted(x["text"] for x in got if x.get("kind") == "item"),
                         ["acknowledged", "short-lived"])
        # pa acked both; post the short-lived one again (a new item) to keep one alive.
        pa.run("post", "--mailbox", pa.mailbox, "--text", "short-lived 2", "--ttl-ms",
               str(HOUR_MS), node=a)
        self.cluster.wait_for(lambda: b.count("ozone_item") == 1, "the new item at b")
        # a's clock jumps two hours ahead: past the new item's expiry.
        self.set_clock(a, 2 * HOUR_MS)
        self.cluster.wait_for(lambda: a.count("ozone_item") == 0, "expired early at a")
        self.assertEqual(self.items(pa, a), [])
        # b (right clock) still holds it and offers it; a takes no copy while ahead.
        for _ in range(3):
            self.assertEqual(b.count("ozone_item"), 1)
            self.assertEqual(a.count("ozone_item"), 0)
            T.time.sleep(1.0)
        # a's clock is set right: the item comes back from b; the acked ones do not.
        self.set_clock(a, 0)
        self.cluster.wait_for(lambda: [x["text"] for x in self.items(pa, a)] ==
                              ["short-lived 2"], "the live item back at a, nothing else")
        self.set_clock(a, -3 * HOUR_MS)
        T.time.sleep(3.0)
        self.assertEqual([x["text"] for x in self.items(pa, a)], ["short-lived 2"])
        self.assertNotIn("cut off", a.log() + b.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
