"""tests/integration/test_client_groups.py — groups and channels with real momedod nodes
on 127.0.0.1 (two federated "cities") and real `momedo` clients.

A school: a teacher (west) and a class of 30 pupils split across the west and the east
node (MOMEDO_TEST_PUPILS overrides the size; vaults use scrypt 2^10 to keep it quick).
The teacher creates an announcement channel and posts "first lesson cancelled" once:
every pupil's sync shows it with the channel's name and the teacher as sender —
including pupils who were offline when it was posted, two of them reading it through the
east node while the west node is down — and exactly ONE item sits in the channel's
mailbox on each node. A pupil cannot post (their own client refuses; a forged item is
refused by both nodes, to which the pupils showed the channel's write key, which only the
teacher holds). The teacher removes one pupil and posts again: the removed pupil's sync
does not show it, every other pupil's does.

A group where everyone posts (colleagues in two cities): members' own sender keys, a
location and a file posted to the group, `listen` showing group messages live, and bot
mode posting with {"group": ...} and printing group messages.

A passphrase channel: two users (one per city) join with the same name and passphrase
and read each other; a third with a wrong passphrase sees nothing.
"""
import concurrent.futures
import hashlib
import json
import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

N_PUPILS = int(os.environ.get("MOMEDO_TEST_PUPILS", "30"))
WORKERS = 4
FIRST = "first lesson cancelled"
SECOND = "second lesson moves to room 12"


def pmap(fn, items):
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as ex:
        return list(ex.map(fn, items))


def group_texts(lines, group):
    return [(m["sender"], m["text"]) for m in lines
            if m.get("type") == "message" and m.get("group") == group and m["kind"] == "text"]


class GroupTest(T.ClusterTest, unittest.TestCase):

    def mailbox_items(self, probe, node, mailbox):
        return len([x for x in probe.run("fetch", "--mailbox", mailbox, "--limit", "1000",
                                         node=node) if "seq" in x])

    def sync_until(self, c, want, group, seen):
        """Sync c until (sender, text) `want` showed up in group; seen accumulates."""
        def step():
            lines, _ = c.sync_lines()
            seen.extend(group_texts(lines, group))
            return want in seen
        self.cluster.wait_for(step, "%s reads %r" % (c.name, want[1]))

    def reader_of(self, want, group):
        """A function of a client: sync until `want` showed up in group; what it read."""
        def read(c):
            seen = []
            self.sync_until(c, want, group, seen)
            return seen
        return read

    def test_class_announcement_channel(self):
        west, east = self.cluster.two_cities()
        cl = self.cluster
        teacher = T.new_client(cl, "teacher", west)
        pupils = pmap(lambda i: T.new_client(cl, "p%02d" % i, west if i % 2 == 0 else east),
                      range(N_PUPILS))
        # Two west pupils are also registered at the east node: they will read there.
        travellers = [pupils[0], pupils[2]]
        for p in travellers:
            p.join(east)
        probes = {}
        for n in (west, east):
            probes[n.name] = cl.probe("probe-" + n.name, n)
            probes[n.name].register()
        cl.wait_for(lambda: west.count("key_bundle") >= N_PUPILS + 1, "every bundle at west")

        # The teacher creates the class channel with every pupil in it.
        out, _ = teacher.j("group", "create", "7b", "--channel", *[p.user_id for p in pupils])
        self.assertEqual((out["mode"], out["members"], out["epoch"]), ("channel", N_PUPILS + 1, 1))
        self.assertEqual((out["records_sent"], out["keys_sent"], out["owed"]),
                         (N_PUPILS, N_PUPILS, 0))
        mailbox = out["mailbox"]

        # A third of the class is online now (they join the channel, nothing to read yet).
        online = pupils[3:3 + N_PUPILS // 3]
        offline = [p for p in pupils if p not in online]

        def first_sync(p):
            seen = []

            def joined():
                lines, _ = p.sync_lines()
                seen.extend(lines)
                return [x for x in seen if x.get("type") == "group" and x["event"] == "joined"]
            cl.wait_for(joined, "%s joins the channel" % p.name)
            return seen
        for lines in pmap(first_sync, online):
            self.assertEqual([x["group"] for x in lines if x.get("type") == "group"], ["7b"])
            self.assertEqual(group_texts(lines, "7b"), [])
        for n in (west, east):
            self.assertEqual(self.mailbox_items(probes[n.name], n, mailbox), 0)

        # One post, encrypted once, one item in the channel's mailbox on each node.
        out, _ = teacher.j("send", "7b", FIRST)
        self.assertEqual((out["kind"], out["items"]), ("group", 1))
        cl.wait_for(lambda: self.mailbox_items(probes["eastcity"], east, mailbox) == 1,
                    "the announcement replicated to east")
        for n in (west, east):
            self.assertEqual(self.mailbox_items(probes[n.name], n, mailbox), 1)

        want = (teacher.user_id, FIRST)
        # Two pupils who were offline read it through the east node while west is down.
        self.assertEqual(west.stop(), 0)
        for p in travellers:
            self.assertEqual(self.reader_of(want, "7b")(p), [want])
        west.start()
        # Everybody else (online ones and the rest of the offline ones) syncs now.
        rest = [p for p in pupils if p not in travellers]

        for seen in pmap(self.reader_of(want, "7b"), rest):
            self.assertEqual(seen, [want])
        # Shown once: a second sync shows nothing new; history has it with the sender.
        self.assertEqual(group_texts(pupils[1].sync_lines()[0], "7b"), [])
        hist = pupils[1].history("7b")
        self.assertEqual([(h["body"]["sender"], h["body"]["text"]) for h in hist], [want])
        for n in (west, east):
            self.assertEqual(self.mailbox_items(probes[n.name], n, mailbox), 1)

        # A pupil may not post: their own client refuses ...
        out, p = pupils[1].j("send", "7b", "no school today!", check=False)
        self.assertEqual((p.returncode, out["error"]), (1, "E_DENIED"))
        self.assertIn("only admins post", out["message"])
        # ... and a forged item posted straight into the mailbox is refused by the nodes:
        # the pupils showed them the channel's write key, which only the teacher holds.
        forged = os.path.join(cl.dir, "forged.bin")
        with open(forged, "wb") as f:
            f.write(b"\x02\x01" + os.urandom(32) + struct.pack(">I", 0) +
                    os.urandom(60 + 16 + 64 + 64))
        for n in (west, east):
            rc, lines, _ = probes[n.name].run("post", "--mailbox", mailbox, "--file", forged,
                                              check=False)
            self.assertNotEqual(rc, 0)
            self.assertEqual(lines[-1]["error"], "E_DENIED")
            self.assertEqual(self.mailbox_items(probes[n.name], n, mailbox), 1)
        for seen in pmap(lambda p: group_texts(p.sync_lines()[0], "7b"), pupils[:4]):
            self.assertEqual(seen, [])

        # The teacher removes one pupil (a new epoch, a new mailbox) and posts again.
        gone = pupils[-1]
        out, _ = teacher.j("group", "remove", "7b", gone.user_id)
        self.assertEqual((out["members"], out["epoch"]), (N_PUPILS, 2))
        self.assertEqual((out["records_sent"], out["keys_sent"]), (N_PUPILS - 1, N_PUPILS - 1))
        self.assertNotEqual(out["mailbox"], mailbox)
        mailbox2 = out["mailbox"]
        teacher.run("send", "7b", SECOND)
        cl.wait_for(lambda: self.mailbox_items(probes["eastcity"], east, mailbox2) == 1,
                    "the second post replicated to east")
        want2 = (teacher.user_id, SECOND)
        stay = [p for p in pupils if p is not gone]

        for seen in pmap(self.reader_of(want2, "7b"), stay):
            self.assertEqual(seen, [want2])
        # The removed pupil: everything has replicated (the others read it), yet nothing.
        lines, _ = gone.sync_lines()
        self.assertEqual([m for m in lines if m.get("type") == "message"], [])
        self.assertNotIn(SECOND, [h["body"].get("text") for h in
                                  gone.history("7b")])
        info = pupils[1].j("group", "members", "7b")[0]
        self.assertEqual((info["epoch"], len(info["members"])), (2, N_PUPILS))
        self.assertNotIn(gone.user_id, [m["user_id"] for m in info["members"]])
        self.assertEqual([m["role"] for m in info["members"]
                          if m["user_id"] == teacher.user_id], ["admin"])
        self.assertEqual(self.mailbox_items(probes["westcity"], west, mailbox2), 1)

    def test_group_members_post_listen_and_bot(self):
        west, east = self.cluster.two_cities()
        cl = self.cluster
        lead, ana, ben = (T.new_client(cl, "lead", west), T.new_client(cl, "ana", west),
                          T.new_client(cl, "ben", east))
        cl.wait_for(lambda: west.count("key_bundle") >= 3, "bundles at west")
        out, _ = lead.j("group", "create", "staff", ana.user_id, ben.user_id)
        self.assertEqual((out["mode"], out["members"], out["keys_sent"]), ("group", 3, 2))
        # Ben joins and hands his own sender key to Lead and Ana.
        cl.wait_for(lambda: [x for x in ben.sync_lines()[0] if x.get("event") == "joined"],
                    "ben joins")
        # Ana listens (she joins live), Lead runs a bot.
        listen = ana.spawn("listen", "--count", "2", "--json")
        bot = lead.spawn("bot", "--save-dir", os.path.join(cl.dir, "lead-inbox"), stdin=True)
        lq, bq = T.JsonReader(listen, cl), T.JsonReader(bot, cl)
        cl.wait_for(lambda: west.status()["clients_connected"] >= 2, "listener and bot up")
        lq.until(lambda ls: any(x.get("event") == "joined" for x in ls), "ana joins live")
        bot.stdin.write(json.dumps({"group": "staff", "text": "budget meeting at 3"}) + "\n")
        bot.stdin.flush()
        bq.until(lambda ls: any(x.get("type") == "sent" for x in ls), "bot posts")
        sent = [x for x in bq.lines if x.get("type") == "sent"]
        self.assertEqual([(x["ok"], x["group"], x["items"]) for x in sent], [(True, "staff", 1)])
        ben.run("send", "staff", "--location", "52.520008,13.404954")
        lq.until(lambda ls: len([x for x in ls if x.get("type") == "message"]) >= 2,
                 "ana reads live")
        self.assertEqual(listen.wait(timeout=60), 0)
        listen.stdout.close()
        listen.stderr.close()
        msgs = [x for x in lq.lines if x.get("type") == "message"]
        self.assertEqual([(m["group"], m["sender"], m["kind"]) for m in msgs],
                         [("staff", lead.user_id, "text"), ("staff", ben.user_id, "location")])
        self.assertEqual(msgs[0]["text"], "budget meeting at 3")
        self.assertEqual((msgs[1]["location"]["lat"], msgs[1]["location"]["lon"]),
                         (52.520008, 13.404954))
        # Ana posts a file once; the bot (Lead) and Ben get the same bytes.
        data = os.urandom(400000)
        src = os.path.join(cl.dir, "report.bin")
        with open(src, "wb") as f:
            f.write(data)
        ana.run("send", "staff", "--file", src)
        bq.until(lambda ls: len([x for x in ls if x.get("type") == "message"]) >= 2,
                 "bot reads the group")
        got = {x["kind"]: x for x in bq.lines if x.get("type") == "message"}
        self.assertEqual((got["location"]["sender"], got["file"]["sender"]),
                         (ben.user_id, ana.user_id))
        with open(got["file"]["file"]["path"], "rb") as fh:
            self.assertEqual(fh.read(), data)
        bot.stdin.close()
        self.assertEqual(bot.wait(timeout=60), 0)
        bot.stdout.close()
        bot.stderr.close()
        save = os.path.join(cl.dir, "ben-inbox")
        seen = []

        def ben_has_file():
            seen.extend(m for m in ben.sync_lines("--save-dir", save)[0]
                        if m.get("type") == "message")
            return [m for m in seen if m["kind"] == "file"]
        f = cl.wait_for(ben_has_file, "ben reads the file")[0]
        with open(f["file"]["path"], "rb") as fh:
            self.assertEqual(hashlib.sha256(fh.read()).digest(), hashlib.sha256(data).digest())
        self.assertEqual(sorted((m["sender"], m["kind"]) for m in seen),
                         sorted([(lead.user_id, "text"), (ana.user_id, "file")]))
        hist = ben.history("staff")
        self.assertEqual(sorted((h["direction"], h["body"]["kind"]) for h in hist),
                         [("in", "file"), ("in", "text"), ("out", "location")])

    def members(self, c, group):
        out = c.j("group", "members", group)[0]
        return (out["version"], out["epoch"], out["mailbox"],
                sorted(m["user_id"] for m in out["members"]))

    def test_two_admins_at_once_and_a_request_to_leave(self):
        west, east = self.cluster.two_cities()
        cl = self.cluster
        lead, ana, dan = (T.new_client(cl, n, west) for n in ("lead", "ana", "dan"))
        co, ben = T.new_client(cl, "co", east), T.new_client(cl, "ben", east)
        cl.wait_for(lambda: west.count("key_bundle") >= 5, "bundles at west")
        lead.j("group", "create", "staff", co.user_id, ana.user_id, ben.user_id)
        out, _ = lead.j("group", "promote", "staff", co.user_id)
        self.assertEqual((out["action"], out["version"]), ("promoted in", 2))
        for c in (co, ana, ben):
            cl.wait_for(lambda c=c: self.members(c, "staff")[0] == 2 if
                        c.sync_lines() and c.j("groups")[0]["groups"] else False,
                        "%s holds version 2" % c.name)
        co.add_contact(dan, "dan")
        # At the same time: lead removes ben, co adds dan (neither has seen the other).
        lead.j("group", "remove", "staff", ben.user_id)
        co.j("group", "add", "staff", dan.user_id)
        lines, _ = co.sync_lines()  # co sees the removal win and makes its change again
        self.assertIn("made again", " ".join(x.get("detail") or "" for x in lines
                                             if x.get("type") == "group"))
        want = sorted([lead.user_id, co.user_id, ana.user_id, dan.user_id])

        def settled(c):
            c.sync_lines()
            return c.j("groups")[0]["groups"] and self.members(c, "staff")[3] == want
        for c in (lead, ana, dan, co):
            cl.wait_for(lambda c=c: settled(c), "%s holds both changes" % c.name)
        heads = {self.members(c, "staff")[:3] for c in (lead, co, ana, dan)}
        self.assertEqual(len(heads), 1, heads)
        lead.run("send", "staff", "four of us")
        post = (lead.user_id, "four of us")
        for c in (co, ana, dan):
            self.assertEqual(self.reader_of(post, "staff")(c), [post])
        self.assertEqual([m for m in ben.sync() if m.get("text") == "four of us"], [])
        # ana asks to leave: the admins' clients act on it; she is out of the next epoch.
        out, _ = ana.j("group", "leave", "staff")
        self.assertEqual(out["action"], "left")
        self.assertGreaterEqual(out["asked_admins"], 1)
        lines, _ = lead.sync_lines()
        self.assertIn("done as they asked", " ".join(x.get("detail") or "" for x in lines
                                                     if x.get("type") == "group"))
        want = sorted([lead.user_id, co.user_id, dan.user_id])
        for c in (co, dan):
            cl.wait_for(lambda c=c: settled(c), "%s sees ana leave" % c.name)
        lead.run("send", "staff", "three of us")
        post = (lead.user_id, "three of us")
        for c in (co, dan):
            self.assertEqual(self.reader_of(post, "staff")(c), [post])
        self.assertEqual([m for m in ana.sync() if m.get("text") == "three of us"], [])

    def test_passphrase_channel(self):
        west, east = self.cluster.two_cities()
        cl = self.cluster
        ann = T.new_client(cl, "ann", west)
        bea = T.new_client(cl, "bea", east)
        eve = T.new_client(cl, "eve", west)
        secret = "orbit velvet canyon seventeen lantern"
        for c, name, pw in ((ann, "Ann", secret), (bea, "Bea", secret), (eve, "Eve", secret + "!")):
            c.env["MOMEDO_CHANNEL_PASSPHRASE"] = pw
            out, _ = c.j("channel", "join", "Krisenstab", "--name", name)
            self.assertEqual(out["channel"], "Krisenstab")
        ann.run("send", "channel:Krisenstab", "meet at the town hall at 9")
        bea.run("send", "channel:Krisenstab", "on my way")
        seen = {ann.name: [], bea.name: []}

        def reads(c, want):
            def step():
                seen[c.name].extend((m["sender"], m["text"]) for m in c.sync_lines()[0]
                                    if m.get("group") == "channel:Krisenstab")
                return want in seen[c.name]
            cl.wait_for(step, "%s reads %r" % (c.name, want[1]))
        reads(bea, ("Ann", "meet at the town hall at 9"))
        reads(ann, ("Bea", "on my way"))
        self.assertEqual(seen, {"ann": [("Bea", "on my way")],
                                "bea": [("Ann", "meet at the town hall at 9")]})
        # Both items are at west (Bea's replicated there): Eve's passphrase opens nothing.
        lines, _ = eve.sync_lines()
        self.assertEqual([m for m in lines if m.get("type") == "message"], [])
        hist = ann.history("channel:Krisenstab")
        self.assertEqual([(h["direction"], h["body"]["text"]) for h in hist],
                         [("out", "meet at the town hall at 9"), ("in", "on my way")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
