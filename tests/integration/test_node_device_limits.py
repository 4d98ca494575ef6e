"""A device that tries to fill its node (issue 11, finding 7), against a real momedod:
- tombstones for IDs the node does not hold are not stored (before: every one was, for
  as long as the device said, up to 90 days), while an ack of a held item still deletes it;
- acks beyond device_acks_per_minute and key bundle publishes beyond
  device_publishes_per_minute are refused with E_RATE and a clear reason (before: no
  limit), counted in the metrics; another device is not affected."""
import os
import secrets
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

ACKS = 10        # device_acks_per_minute (its lower bound)
PUBLISHES = 2    # device_publishes_per_minute


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        return r.read().decode()


def metric(page, line_start):
    for line in page.splitlines():
        if line.startswith(line_start + " "):
            return int(line.split()[-1])
    raise AssertionError("no metric %s in:\n%s" % (line_start, page))


class DeviceLimitsTest(T.ClusterTest, unittest.TestCase):
    def setUp(self):
        super().setUp()
        c = self.cluster
        self.mport = T.free_port()
        self.n = c.add_node("n", start=False)
        self.n.configure("metrics_listen = 127.0.0.1:%d\ndevice_acks_per_minute = %d\n"
                         "device_publishes_per_minute = %d" % (self.mport, ACKS, PUBLISHES))
        self.n.start()
        self.a = c.probe("a", self.n)
        self.b = c.probe("b", self.n)
        for u in (self.a, self.b):
            u.register()
            u.publish()

    def wait_metric(self, name, value):
        """The metrics are a snapshot the node takes every second or so."""
        self.cluster.wait_for(lambda: metric(scrape(self.mport), name) == value,
                              "%s = %d" % (name, value))

    def attempt(self, u, *args):
        """(exit code, everything it printed) of a probe command that may be refused."""
        rc, out, err = u.run(*args, check=False)
        return rc, out, "%s %s" % (out, err)

    def test_unknown_acks_not_stored_and_rate_limited(self):
        # A real item is acknowledged and deleted as before.
        self.b.post_mailbox(self.a.mailbox, "hello")
        got = self.a.fetch(ack=True)
        self.assertEqual(len(got), 1)
        self.assertEqual(self.n.count("ozone_item"), 0)
        self.assertEqual(self.n.count("tombstone"), 1)
        # Tombstones for IDs nobody holds: answered, never stored (before: all stored).
        ids = [secrets.token_hex(32) for _ in range(ACKS - 1)]
        rc, out, text = self.attempt(self.a, "ack", *ids)
        self.assertEqual(rc, 0, text)
        self.assertEqual(out[-1]["accepted"], ACKS - 1, text)
        self.assertEqual(self.n.count("tombstone"), 1)
        # The device's minute is used up: the next ack is refused, with the reason.
        rc, out, text = self.attempt(self.a, "ack", secrets.token_hex(32))
        self.assertNotEqual(rc, 0, text)
        self.assertIn("acknowledges too fast", text)
        # Another device is not affected.
        self.a.post_mailbox(self.b.mailbox, "hi b")
        self.assertEqual(len(self.b.fetch(ack=True)), 1)
        self.wait_metric("momedo_acks_unknown_total", ACKS - 1)
        self.wait_metric('momedo_client_rate_refused_total{kind="ack"}', 1)

    def test_publish_rate(self):
        # setUp published once; one more fits the minute, the third is refused.
        self.a.publish()
        rc, out, text = self.attempt(self.a, "publish")
        self.assertNotEqual(rc, 0, text)
        self.assertIn("publishes key bundles too fast", text)
        self.b.publish()  # b has its own budget
        self.wait_metric('momedo_client_rate_refused_total{kind="publish"}', 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
