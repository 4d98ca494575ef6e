"""tests/integration/test_client_multidevice.py — multi-device, finished (issue 13 part 4),
with real momedod nodes in two cities and real `momedo` clients:

- a device linked later gets every group and announcement channel of its user: where the
  user is an admin its first device adds the device itself (a new record: the new device
  gets the whole chain), where the user is a member it asks the admins (a signed DEVICES
  request that the admin's client applies); every member's sender key follows, so the
  new device reads what is posted after it joined and posts itself;
- after `device remove`, contacts stop encrypting to the removed device (one envelope
  less), the groups drop it in a new epoch (it holds no key of that epoch and cannot
  read what is posted there), and its nodes — home and partner — stop serving it.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402


def events(c, kind):
    lines, err = c.sync_lines()
    return [x for x in lines if x.get("type") == "group" and x.get("event") == kind], lines, err


class MultiDevice(T.ClusterTest, unittest.TestCase):

    def devices_of(self, c, group, who):
        """How many devices c's copy of group lists for the user who (after a sync)."""
        c.run("sync")
        ms = c.j("group", "members", group)[0]["members"]
        return [m["devices"] for m in ms if m["user_id"] == who.user_id][0]

    def group_texts(self, c, group, want, what):
        """Sync c until its history of group holds every text in want."""
        def step():
            c.run("sync")
            got = [h["body"].get("text") for h in c.history(group) if h["body"]["kind"] == "text"]
            return all(w in got for w in want)
        self.cluster.wait_for(step, what)

    def test_linked_device_gets_every_group(self):
        cl = self.cluster
        west, east = cl.two_cities()
        alice, bob = T.new_client(cl, "alice", west), T.new_client(cl, "bob", east)
        cl.wait_for(lambda: west.count("key_bundle") >= 2, "bundles at west")
        alice.j("group", "create", "staff", bob.user_id)               # Alice admin
        alice.j("group", "create", "news", "--channel", bob.user_id)   # announcement channel
        cl.wait_for(lambda: east.count("key_bundle") >= 2, "bundles at east")
        bob.j("group", "create", "bobs", alice.user_id)                # Alice a member
        for c, n in ((bob, 2), (alice, 1)):
            joined = []
            cl.wait_for(lambda: joined.extend(events(c, "joined")[0]) or len(joined) >= n,
                        "%s joins" % c.name)
        alice.run("send", "staff", "before the tablet")
        # Alice links a tablet: her first device updates her devices in staff and news
        # itself and asks Bob (the admin of bobs) for the third.
        tablet = T.link_device(cl, alice, "alice-tablet")
        joined = []
        cl.wait_for(lambda: bob.run("sync") and False or
                    joined.extend(events(tablet, "joined")[0]) or len(joined) >= 3,
                    "the tablet joins staff, news and bobs")
        self.assertEqual(sorted(x["group"] for x in joined), ["bobs", "news", "staff"])
        groups = {g["name"]: g for g in tablet.j("groups")[0]["groups"]}
        self.assertEqual(sorted(groups), ["bobs", "news", "staff"])
        # Everyone posts after the link; the tablet reads all of it.
        bob.run("send", "staff", "bob in staff")
        bob.run("send", "bobs", "bob in bobs")
        alice.run("send", "news", "alice in news")
        self.group_texts(tablet, "staff", ["bob in staff"], "the tablet reads staff")
        self.group_texts(tablet, "bobs", ["bob in bobs"], "the tablet reads bobs")
        self.group_texts(tablet, "news", ["alice in news"], "the tablet reads news")
        # The tablet posts; Bob reads it as Alice's.
        tablet.run("send", "staff", "from the tablet")
        self.group_texts(bob, "staff", ["from the tablet"], "bob reads the tablet")
        entry = [h for h in bob.history("staff") if h["body"].get("text") == "from the tablet"]
        self.assertEqual(entry[0]["body"]["sender"], alice.user_id)
        # History from before the link is not copied (docs/client.md).
        self.assertNotIn("before the tablet",
                         [h["body"].get("text") for h in tablet.history("staff")])

    def test_removed_device_is_dropped_everywhere(self):
        cl = self.cluster
        west, east = cl.two_cities()
        alice, bob = T.new_client(cl, "alice", west), T.new_client(cl, "bob", east)
        alice.add_contact(bob, "bob")
        bob.add_contact(alice, "alice")
        alice.j("group", "create", "staff", bob.user_id)
        cl.wait_for(lambda: events(bob, "joined")[0], "bob joins")
        tablet = T.link_device(cl, alice, "alice-tablet")
        cl.wait_for(lambda: events(tablet, "joined")[0], "the tablet joins staff")
        cl.wait_for(lambda: bob.j("send", "alice", "to both")[0]["envelopes"] == 2,
                    "bob encrypts to alice's two devices")
        # Bob has the record with the tablet (and so hands it his sender key) before he
        # posts: a key handed out later starts at the sender's current message.
        cl.wait_for(lambda: self.devices_of(bob, "staff", alice) == 2, "bob sees the tablet")
        bob.run("send", "staff", "before the removal")
        self.group_texts(tablet, "staff", ["before the removal"], "the tablet reads staff")
        epoch = [g for g in alice.j("groups")[0]["groups"] if g["name"] == "staff"][0]["epoch"]
        # The tablet is lost: Alice removes it.
        key = [d["device_key"] for d in alice.j("device", "list")[0]["devices"] if not d["this"]][0]
        out, _ = alice.j("device", "remove", key[:12])
        self.assertEqual((out["devices"], out["groups"]), (1, 1))
        g = [g for g in alice.j("groups")[0]["groups"] if g["name"] == "staff"][0]
        self.assertEqual(g["epoch"], epoch + 1)  # a device left: a new epoch
        version = alice.j("device", "list")[0]["version"]
        spy = cl.probe("spy", east)
        cl.wait_for(lambda: spy.lookup(alice.user_id)["version"] >= version,
                    "alice's new bundle at the east")
        # Contacts stop encrypting to it.
        out, _ = bob.j("send", "alice", "to the phone only")
        self.assertEqual(out["envelopes"], 1)
        # The group moved on without it: Bob takes the new record and posts in the new
        # epoch; Alice's phone reads it.
        cl.wait_for(lambda: self.devices_of(bob, "staff", alice) == 1, "bob drops the tablet")
        self.assertEqual([g for g in bob.j("groups")[0]["groups"]
                          if g["name"] == "staff"][0]["epoch"], epoch + 1)
        bob.run("send", "staff", "after the removal")
        self.group_texts(alice, "staff", ["after the removal"], "alice reads the new epoch")
        # Its nodes stop serving it: home (west) and partner (east).
        for node in (west, east):
            others = [n for n in (west, east) if n is not node]
            for n in others:
                n.stop()
            out, p = tablet.j("sync", check=False)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("node %s did not accept this device: authentication required or "
                          "failed: this device is not registered on this node and its user's "
                          "key bundle does not list it" % node.address(), p.stderr)
            for n in others:
                n.start()
        # And it could not read the new epoch anyway: it never got its key.
        texts = [h["body"].get("text") for h in tablet.history("staff")]
        self.assertNotIn("after the removal", texts)


if __name__ == "__main__":
    unittest.main()
