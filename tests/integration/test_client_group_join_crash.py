"""A member's client killed during its own join (issue 15).

An admin creates a group with four members and posts to it before any of them has
synced, so each member's first sync is its join: the chain of records and the admin's
sender key arrive in the member's pairwise mailbox, the posts in the group's mailbox.
Three members' first syncs are killed at the receive path's crash points
(MOMEDO_TEST_CRASH recv-mid: stored, not committed; recv-stored: committed, nothing
saved or acknowledged; recv-saved: saved, not acknowledged); the fourth member's sync
is killed with SIGKILL at random moments, again and again. After every kill the member
holds the group whole (the admin's head: version, epoch, mailbox, members) or not at
all, never half; after a sync that ends, it is in, reads every post exactly once (its
history holds each once), and a post made afterwards reaches it once."""
import os
import random
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

SIGKILL_EXIT = -9
RANDOM_KILLS = 8


class JoinCrashTest(T.ClusterTest, unittest.TestCase):
    def head(self, c):
        out = c.j("group", "members", "staff")[0]
        return (out["version"], out["epoch"], out["mailbox"],
                sorted(m["user_id"] for m in out["members"]))

    def holds(self, c, want):
        """True when c holds the group as the admin does, False when it holds no group;
        anything else (a group, but not the admin's head) fails the test."""
        groups = c.j("groups")[0]["groups"]
        if not groups:
            return False
        self.assertEqual([g["name"] for g in groups], ["staff"], c.name)
        self.assertEqual(self.head(c), want, "%s holds half a join" % c.name)
        return True

    def posts_read(self, c):
        return [(h["body"]["sender"], h["body"]["text"]) for h in c.history("staff")
                if h.get("direction") == "in" and h["body"]["kind"] == "text"]

    def finish(self, c, want, posts):
        """Sync until c reads every post; each is in its history once."""
        seen = []
        self.cluster.wait_for(
            lambda: seen.extend((m["sender"], m["text"]) for m in c.sync()
                                if m.get("group") == "staff" and m["kind"] == "text")
            or set(posts) <= set(self.posts_read(c)),
            "%s reads the group's posts" % c.name)
        self.assertTrue(self.holds(c, want), c.name)
        self.assertEqual(sorted(self.posts_read(c)), sorted(posts), c.name)
        self.assertEqual(len(seen), len(set(seen)), "%s was shown a post twice" % c.name)

    def test_kill9_during_own_join(self):
        cl = self.cluster
        node = cl.add_node("home")
        lead = T.new_client(cl, "lead", node)
        members = [T.new_client(cl, n, node) for n in ("ana", "ben", "cem", "dora")]
        cl.wait_for(lambda: node.count("key_bundle") >= 5, "the key bundles")
        lead.j("group", "create", "staff", *[m.user_id for m in members])
        posts = [(lead.user_id, "before the join %d" % i) for i in range(3)]
        for _, text in posts:
            lead.run("send", "staff", text)
        want = self.head(lead)
        for where, c in zip(("recv-mid", "recv-stored", "recv-saved"), members):
            env = dict(c.env, MOMEDO_TEST_CRASH=where)
            p = T.run([T.MOMEDO, "sync", "--json", "--home", c.home], check=False, env=env)
            self.assertEqual(p.returncode, SIGKILL_EXIT, "expected the crash point %s: %s %s"
                             % (where, p.stdout, p.stderr))
            self.holds(c, want)
            self.finish(c, want, posts)
        dora = members[3]
        rng = random.Random(int(os.environ.get("MOMEDO_TEST_SEED", "15")))
        cut, outcome = 0, []
        for i in range(RANDOM_KILLS):
            p = dora.spawn("sync", "--json")
            # Growing delays, the first ones shorter than a join (a sync takes ~0.1 s in a
            # release build, a second or more under ASan and load).
            delay = min(1.0, rng.uniform(0.01, 0.06) * 2 ** i)
            time.sleep(delay)
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                cut += 1
            p.wait()
            p.stdout.close()
            p.stderr.close()
            outcome.append("%.2fs:%s" % (delay, "in" if self.holds(dora, want) else "out"))
        print("kill -9 of dora's first syncs (%d of %d cut): %s" % (
            cut, RANDOM_KILLS, " ".join(outcome)), file=sys.stderr)
        self.assertGreater(cut, 0, "no kill landed inside a sync")
        self.finish(dora, want, posts)
        after = (lead.user_id, "after the joins")
        lead.run("send", "staff", after[1])
        for c in members:
            self.finish(c, want, posts + [after])


if __name__ == "__main__":
    unittest.main(verbosity=2)
