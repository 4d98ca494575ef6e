"""Working hours (docs/working-hours.md) on real nodes and real clients. Two cities;
Bob's home node (east) runs on a test clock (MOMEDO_TEST_CLOCK_FILE) and has a policy
"Verwaltung" whose hours start 5 minutes from now (Europe/Berlin, or another zone when
Berlin is near midnight), with the crisis team's user as override sender. Outside the
hours, with Bob's `momedo listen` connected:

- Carol (same node) sends: stored, not pushed; her `send` says "delivered from" the
  start of the hours (text and JSON). Alice (west) sends: held as well.
- The crisis team sends: pushed at once.
- `momedo sync` (Bob opens the app himself) gets everything held.
- With the clock 6 minutes on, the held pushes arrive at the listener, and the node's
  status counts them as released.
Skipped, with the reason, when momedod was built without MOMEDO_TEST_HOOKS."""
import datetime
import os
import sys
import time
import unittest
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

MIN_MS = 60 * 1000


def pick_zone():
    """Europe/Berlin unless its local time is within 90 minutes of midnight (hours may not
    span midnight); then a zone where it is not."""
    for name in ("Europe/Berlin", "America/New_York", "Asia/Tokyo"):
        now = datetime.datetime.now(zoneinfo.ZoneInfo(name))
        if 30 <= now.hour * 60 + now.minute <= 22 * 60 + 30:
            return name, now
    raise AssertionError("no zone away from midnight")


class HoursTest(T.ClusterTest, unittest.TestCase):
    def set_clock(self, n, offset_ms):
        tmp = n.clock + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % offset_ms)
        os.replace(tmp, n.clock)

    def start_clocked(self, n):
        os.environ["MOMEDO_TEST_CLOCK_FILE"] = n.clock
        try:
            n.start()
        finally:
            os.environ.pop("MOMEDO_TEST_CLOCK_FILE", None)

    def setUp(self):
        super().setUp()
        self.a = self.cluster.add_node("westcity")
        self.b = self.cluster.add_node("eastcity", start=False)
        self.b.clock = os.path.join(self.cluster.dir, "eastcity.clock")
        self.set_clock(self.b, 0)
        self.start_clocked(self.b)
        if "test hook active: clock offset" not in self.b.log():
            self.skipTest("momedod is built without MOMEDO_TEST_HOOKS (no test clock)")
        self.cluster.connect(self.a, self.b)

    def check_own_quiet_hours(self, bob, carol, zone, skip_ms):
        """Bob's own quiet hours, stricter than the (now open) policy: closed now, so
        pushes are held and Carol is told when; `quiet off` releases them."""
        b, cl = self.b, self.cluster
        node_now = datetime.datetime.now(zoneinfo.ZoneInfo(zone)) + \
            datetime.timedelta(milliseconds=skip_ms)
        start = (node_now + datetime.timedelta(minutes=30)).replace(second=0, microsecond=0)
        end = start + datetime.timedelta(minutes=10)  # before midnight: pick_zone
        hours = "%02d:%02d-%02d:%02d" % (start.hour, start.minute, end.hour, end.minute)
        out, p = bob.j("quiet", "Mon-Sun", "18:00-07:00", zone, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertFalse(out["ok"])
        self.assertIn("midnight", p.stdout + p.stderr)
        self.assertTrue(bob.j("quiet", "Mon-Sun", hours, zone)[0]["quiet"])
        listen = bob.spawn("listen", "--json")
        reader = T.JsonReader(listen, cl)
        cl.wait_for(lambda: b.status()["clients_connected"] >= 1, "listener connected")
        time.sleep(1)
        sent, _ = carol.j("send", "bob", "during bob's own quiet hours")
        self.assertEqual(sent["deliver_from_ms"], int(start.timestamp() * 1000))
        cl.wait_for(lambda: self.held()["pushes_held"] >= 1, "a push held for quiet hours")
        texts = [x.get("text") for x in reader.lines if x.get("kind") == "text"]
        self.assertEqual(texts, [])
        bob.run("quiet", "off")
        reader.until(lambda ls: "during bob's own quiet hours" in
                     [x.get("text") for x in ls if x.get("kind") == "text"],
                     "the held message once quiet hours are off")
        listen.kill()
        listen.wait()

    def held(self):
        return self.b.status()["working_hours"]

    def test_hold_override_notice_release(self):
        a, b, cl = self.a, self.b, self.cluster
        bob = T.new_client(cl, "bob", b)
        carol = T.new_client(cl, "carol", b)
        crisis = T.new_client(cl, "crisis", b)
        alice = T.new_client(cl, "alice", a)
        for c in (carol, crisis, alice):
            c.add_contact(bob, "bob")
            bob.add_contact(c, c.name)
        zone, now = pick_zone()
        start = (now + datetime.timedelta(minutes=6)).replace(second=0, microsecond=0)
        end = min(start.hour * 60 + start.minute + 60, 24 * 60)
        hours = "%02d:%02d-%02d:%02d" % (start.hour, start.minute, end // 60, end % 60)
        out = b.admin("policy", "set", "Verwaltung", "--days", "Mon-Sun", "--hours", hours,
                      "--tz", zone, "--sender", crisis.user_id, "--holiday", "2099-12-24")
        self.assertEqual(out["policies"][0]["hours"], hours)
        self.assertFalse(out["policies"][0]["open_now"])
        start_ms = int(start.timestamp() * 1000)
        self.assertEqual(out["policies"][0]["next_open_ms"], start_ms)
        b.admin("policy", "assign", "Verwaltung", bob.user_id)
        # Bad input is refused with a reason, and nothing changes.
        for bad in (["--days", "Fri-Mon", "--hours", hours, "--tz", zone],
                    ["--days", "Mon-Fri", "--hours", "18:00-07:00", "--tz", zone],
                    ["--days", "Mon-Fri", "--hours", hours, "--tz", "../../etc/passwd"],
                    ["--days", "Mon-Fri", "--hours", hours, "--tz", zone, "--holiday", "2026-02-30"]):
            p = b.admin("policy", "set", "Verwaltung", *bad, check=False)
            self.assertEqual(p["_exit"], 1, p)
            self.assertFalse(p["ok"])
        self.assertEqual(b.admin("policy", "show", "Verwaltung")["policies"][0]["users"],
                         [bob.user_id])
        listen = bob.spawn("listen", "--json")
        reader = T.JsonReader(listen, cl)
        cl.wait_for(lambda: b.status()["clients_connected"] >= 1, "listener connected")
        time.sleep(1)  # its catch-up fetch and subscription done

        # Outside the hours: Carol (same node) learns when it will be pushed.
        sent, _ = carol.j("send", "bob", "after hours from carol")
        self.assertEqual(sent["deliver_from_ms"], start_ms)
        self.assertIn("deliver_from", sent)
        p = carol.run("send", "bob", "second from carol")
        self.assertIn("outside working hours of the recipient: delivered from", p.stdout)
        alice.run("send", "bob", "after hours from alice")
        cl.wait_for(lambda: self.held()["pushes_held"] >= 3, "three pushes held")
        # The crisis team gets through at once, and only it.
        sent, _ = crisis.j("send", "bob", "crisis: water main burst")
        self.assertNotIn("deliver_from_ms", sent)
        texts = lambda ls: [x.get("text") for x in ls if x.get("kind") == "text"]
        reader.until(lambda ls: "crisis: water main burst" in texts(ls), "the crisis message")
        time.sleep(2)
        reader.until(lambda ls: True, "")
        self.assertEqual(texts(reader.lines), ["crisis: water main burst"])
        self.assertEqual(self.held()["pushes_held"], 3)
        st = b.admin("status", as_json=False).stdout
        self.assertIn("policy Verwaltung", st)
        self.assertIn("3 pushes held now", st)

        # Bob opens the app himself: a fetch gets everything held.
        listen.kill()
        listen.wait()
        got = bob.texts()
        for t in ("after hours from carol", "second from carol", "after hours from alice"):
            self.assertIn(t, got)
        cl.wait_for(lambda: self.held()["pushes_held"] == 0, "the gone listener's holds dropped")

        # Held pushes arrive when the hours start.
        listen = bob.spawn("listen", "--json")
        reader = T.JsonReader(listen, cl)
        cl.wait_for(lambda: b.status()["clients_connected"] >= 1, "listener connected")
        time.sleep(1)
        carol.run("send", "bob", "queued from carol")
        alice.run("send", "bob", "queued from alice")
        cl.wait_for(lambda: self.held()["pushes_held"] >= 2, "two pushes held")
        self.assertEqual(texts(reader.lines), [])
        released = self.held()["pushes_released_total"]
        skip_ms = start_ms - int(time.time() * 1000) + MIN_MS // 2
        self.set_clock(b, skip_ms)  # half a minute into the hours
        reader.until(lambda ls: {"queued from carol", "queued from alice"} <= set(texts(ls)),
                     "the held messages at the start of the hours")
        h = self.held()
        self.assertEqual(h["pushes_held"], 0)
        self.assertGreaterEqual(h["pushes_released_total"] - released, 2)
        self.assertTrue(h["policies"][0]["open_now"])
        self.assertIn("released to a client", b.log())
        # In the hours, posts are pushed and carry no notice.
        sent, _ = carol.j("send", "bob", "in hours")
        self.assertNotIn("deliver_from_ms", sent)
        reader.until(lambda ls: "in hours" in texts(ls), "a message in the hours")
        listen.kill()
        listen.wait()
        self.check_own_quiet_hours(bob, carol, zone, skip_ms)
        # Persisted: the policy is there after a restart; remove drops it and its users.
        b.stop()
        self.start_clocked(b)
        self.assertEqual(b.admin("policy", "list")["policies"][0]["users"], [bob.user_id])
        b.admin("policy", "remove", "Verwaltung")
        self.assertEqual(b.admin("policy", "list")["policies"], [])
        # The file by hand, then reload (SIGHUP's request); a bad file keeps what is in effect.
        conf = os.path.join(b.dir, "policies.conf")
        with open(conf, "w") as f:
            f.write("policy Schule Mon-Fri 08:00-16:00 Europe/Berlin\n")
        b.admin("reload")
        self.assertEqual([p["name"] for p in b.admin("policy", "list")["policies"]], ["Schule"])
        with open(conf, "w") as f:
            f.write("policy Schule Mon-Fri 16:00-08:00 Europe/Berlin\n")
        out = b.admin("reload", check=False)
        self.assertIn("policies.conf:1:", out.get("message", "") + out.get("reason", ""))
        self.assertIn("policies.conf:1:", b.log())
        self.assertEqual(b.admin("policy", "list")["policies"][0]["hours"], "08:00-16:00")


if __name__ == "__main__":
    unittest.main(verbosity=2)
