"""tests/integration/test_client_group_attacks.py — attacks on groups across the network
(issue 11), with real momedod nodes on 127.0.0.1, real `momedo` clients, and
momedo-mallory (tests/integration/mallory.c), a patched client that sends over its
user's real pairwise sessions what an honest client never would.

Flooding (finding 8): a device that knows an announcement channel's mailbox (any
registered device can learn it: every replica sees the ID) posts a burst of junk into
it. The node refuses it, the mailbox does not fill, the teacher's next announcement is
accepted and every pupil reads it. In a group where every member posts, a member who
keeps posting is stopped by the node's per-poster quota while the others still post.

A member racing its removal (finding 1): the member signs a record giving itself a new
device while the admin removes it, in both orders of arrival; every other member ends
without it, in the admin's new epoch, and reads what it cannot.

A forged first record (finding 4): a member hands a non-member a chain for the group's
ID in which it made itself admin and added the victim; the victim refuses it, and joins
the real group when the admin adds it.

Sender-key squatting (finding 10): a member hands another member a third member's
sender key as its own before the owner's arrives; it is refused, and the owner's
messages are shown under the owner's name.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

MAILBOX_ITEMS = 30
MALLORY = os.path.join(T.BIN, "tests", "momedo-mallory")


def group_texts(lines, group):
    return [(m["sender"], m["text"]) for m in lines
            if m.get("type") == "message" and m.get("group") == group and m["kind"] == "text"]


class GroupAttackTest(T.ClusterTest, unittest.TestCase):

    def small_node(self, name, extra=""):
        n = self.cluster.add_node(name, start=False)
        n.configure("mailbox_items_max = %d\n%s" % (MAILBOX_ITEMS, extra))
        return n.start()

    def reads(self, c, want, group):
        seen = []

        def step():
            seen.extend(group_texts(c.sync_lines()[0], group))
            return want in seen
        self.cluster.wait_for(step, "%s reads %r" % (c.name, want[1]))
        return seen

    def mallory(self, c, *args):
        p = T.run([MALLORY, "--home", c.home] + list(args), env=c.env)
        return T.json_lines(p.stdout)[-1]

    def sync_events(self, c):
        """(JSON lines, stderr) of one sync."""
        return c.sync_lines()

    def joined(self, c, group):
        self.cluster.wait_for(
            lambda: [x for x in c.sync_lines()[0]
                     if x.get("event") == "joined" and x.get("group") == group],
            "%s joins %s" % (c.name, group))

    def members(self, c, group):
        out = c.j("group", "members", group)[0]
        return out["epoch"], sorted(m["user_id"] for m in out["members"]), out["mailbox"]

    def test_member_racing_its_removal(self):
        cl = self.cluster
        west = cl.add_node("westcity")
        lead, mal, ana, ben = (T.new_client(cl, n, west) for n in ("lead", "mal", "ana", "ben"))
        cl.wait_for(lambda: west.count("key_bundle") >= 4, "bundles at west")
        for g in ("first", "second"):
            lead.j("group", "create", g, mal.user_id, ana.user_id, ben.user_id)
        for c in (mal, ana, ben):
            self.joined(c, "first")
            c.sync_lines()
        # "first": the member's record is on its way before the admin's removal;
        # "second": after it.
        self.assertEqual(self.mallory(mal, "self-record", "first")["sent"], 3)
        lead.j("group", "remove", "first", mal.user_id)
        lead.j("group", "remove", "second", mal.user_id)
        self.assertEqual(self.mallory(mal, "self-record", "second")["sent"], 3)
        refused = []
        for c in (ana, ben, lead):
            lines, err = c.sync_lines()
            refused.append(err.count("is not signed by an admin"))
        self.assertEqual(refused, [2, 2, 2])
        want = sorted([lead.user_id, ana.user_id, ben.user_id])
        for g in ("first", "second"):
            epoch, who, mailbox = self.members(lead, g)
            self.assertEqual((epoch, who), (2, want))
            for c in (ana, ben):
                self.assertEqual(self.members(c, g), (epoch, who, mailbox))
            lead.run("send", g, "only for the three of us")
            post = (lead.user_id, "only for the three of us")
            for c in (ana, ben):
                self.assertEqual(self.reads(c, post, g), [post])
        self.assertEqual([m for m in mal.sync() if m.get("text") == "only for the three of us"],
                         [])

    def test_forged_chain_refused(self):
        cl = self.cluster
        west = cl.add_node("westcity")
        lead, mal, vic = (T.new_client(cl, n, west) for n in ("lead", "mal", "vic"))
        cl.wait_for(lambda: west.count("key_bundle") >= 3, "bundles at west")
        lead.j("group", "create", "staff", mal.user_id)
        self.joined(mal, "staff")
        mal.add_contact(vic, "vic")
        self.assertEqual(self.mallory(mal, "forge-join", "staff", "vic")["sent"], 1)
        lines, err = vic.sync_lines()
        self.assertEqual([(x["event"], x["by"]) for x in lines if x.get("type") == "group"],
                         [("refused", mal.user_id)])
        self.assertIn("REFUSED a group message", err)
        self.assertEqual(vic.j("groups")[0]["groups"], [])
        # The real admin adds the victim: it joins the real group.
        lead.j("group", "add", "staff", vic.user_id)
        self.joined(vic, "staff")
        epoch, who, _ = self.members(vic, "staff")
        self.assertEqual(who, sorted([lead.user_id, mal.user_id, vic.user_id]))
        admins = [m["user_id"] for m in vic.j("group", "members", "staff")[0]["members"]
                  if m["role"] == "admin"]
        self.assertEqual(admins, [lead.user_id])
        lead.run("send", "staff", "welcome")
        self.assertEqual(self.reads(vic, (lead.user_id, "welcome"), "staff"),
                         [(lead.user_id, "welcome")])

    def test_senderkey_squat_refused(self):
        cl = self.cluster
        west = cl.add_node("westcity")
        lead, mal, ana, ben = (T.new_client(cl, n, west) for n in ("lead", "mal", "ana", "ben"))
        cl.wait_for(lambda: west.count("key_bundle") >= 4, "bundles at west")
        lead.j("group", "create", "staff", mal.user_id, ana.user_id, ben.user_id)
        for c in (mal, ana, ben):
            self.joined(c, "staff")
        ben.sync_lines()  # ben hands out its sender key
        mal.sync_lines()  # mal has it now; ana has not read hers yet
        self.assertEqual(self.mallory(mal, "squat", "staff", ben.user_id, ana.user_id)["sent"], 1)
        lines, err = ana.sync_lines()
        self.assertIn("sender key not bound to the device that sent it", err)
        ben.run("send", "staff", "from ben")
        self.assertEqual(self.reads(ana, (ben.user_id, "from ben"), "staff"),
                         [(ben.user_id, "from ben")])

    def test_member_flood_stopped_by_quota(self):
        cl = self.cluster
        west = self.small_node("westcity", "mailbox_items_per_poster_max = 5")
        lead, ana = T.new_client(cl, "lead", west), T.new_client(cl, "ana", west)
        cl.wait_for(lambda: west.count("key_bundle") >= 2, "bundles at west")
        lead.j("group", "create", "staff", ana.user_id)
        self.joined(ana, "staff")
        for i in range(5):
            ana.run("send", "staff", "flood %d" % i)
        out, p = ana.j("send", "staff", "flood 5", check=False)
        self.assertEqual((p.returncode, out["error"]), (1, "E_QUOTA"))
        self.assertIn("share of this mailbox", out["message"])
        lead.run("send", "staff", "still heard")
        self.assertIn((lead.user_id, "still heard"),
                      self.reads(ana, (lead.user_id, "still heard"), "staff"))
        # A mailbox no member has shown the node: the quota holds there too.
        flooder = cl.probe("flooder", west)
        flooder.register()
        rc, lines, _ = flooder.run("post", "--mailbox", "ab" * 32, "--text", "junk", "--count",
                                   "8", check=False)
        summary = [x for x in lines if "acked" in x][-1]
        self.assertEqual((summary["acked"], summary["refused"]), (5, 3))

    def test_channel_flood_refused(self):
        cl = self.cluster
        west = self.small_node("westcity")
        teacher = T.new_client(cl, "teacher", west)
        pupils = [T.new_client(cl, "p%d" % i, west) for i in range(2)]
        cl.wait_for(lambda: west.count("key_bundle") >= 3, "bundles at west")
        out, _ = teacher.j("group", "create", "7b", "--channel", *[p.user_id for p in pupils])
        mailbox = out["mailbox"]
        for p in pupils:
            cl.wait_for(lambda p=p: [x for x in p.sync_lines()[0] if x.get("event") == "joined"],
                        "%s joins" % p.name)
        # The flood: as many junk items as the mailbox holds, from one registered device.
        flooder = cl.probe("flooder", west)
        flooder.register()
        rc, lines, _ = flooder.run("post", "--mailbox", mailbox, "--text", "junk", "--count",
                                   str(MAILBOX_ITEMS), check=False)
        summary = [x for x in lines if "acked" in x][-1]
        self.assertEqual(summary["acked"], 0, summary)
        self.assertEqual(summary["refused"], MAILBOX_ITEMS)
        self.assertNotEqual(rc, 0)
        self.assertIn("only with its write key", lines[-1]["reason"])
        # The teacher still posts, the pupils read it and nothing else.
        out, _ = teacher.j("send", "7b", "first lesson cancelled")
        self.assertEqual(out["items"], 1)
        want = (teacher.user_id, "first lesson cancelled")
        for p in pupils:
            self.assertEqual(self.reads(p, want, "7b"), [want])


if __name__ == "__main__":
    unittest.main(verbosity=2)
