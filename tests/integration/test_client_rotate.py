"""tests/integration/test_client_rotate.py — `momedo passphrase --rotate-key` with a real
momedod and real clients (docs/security.md, "A copy of the home"):

- the gap it closes: after a plain `momedo passphrase`, the old vault.key (a backup's)
  put beside Bob's current vault.db and history.db opens with the OLD passphrase and
  shows the message Alice sent after the change;
- with `momedo listen` running on Bob's home the rotation is refused and nothing changes;
- after `--rotate-key` the old passphrase opens nothing, the new one shows every earlier
  message and receives Alice's next one; the backup's vault.key beside the rotated
  files opens with the old passphrase but reads nothing (`history` fails) — the message
  after the rotation stays unread;
- killed (SIGKILL) right after the rotation committed (MOMEDO_TEST_CRASH=rotate-committed)
  and right after it was built (rotate-built): the next command finishes or drops it,
  and exactly the new or the old passphrase opens the home with its history."""
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

P1, P2, P3, P4 = (T.CLIENT_PASS, "lampe flur zwei hausmeister", "orbit velvet canyon",
                  "seventeen lantern quiet")


class RotateTest(T.ClusterTest, unittest.TestCase):
    def history(self, bob, home=None, passphrase=None):
        """(returncode, texts) of `momedo history alice` on home with passphrase."""
        env = dict(bob.env, MOMEDO_PASSPHRASE=passphrase or bob.env["MOMEDO_PASSPHRASE"])
        p = T.run([T.MOMEDO, "history", "alice", "--json", "--home", home or bob.home],
                  check=False, env=env)
        texts = [h["body"].get("text") for h in T.json_lines(p.stdout) if "body" in h]
        return p.returncode, texts, p.stderr

    def change(self, bob, new, *extra, check=True):
        bob.env["MOMEDO_NEW_PASSPHRASE"] = new
        p = bob.run("passphrase", "--scrypt-log2n", T.CLIENT_SCRYPT_LOG2N, "--json", *extra,
                    check=check)
        if check:
            bob.env["MOMEDO_PASSPHRASE"] = new
        return p

    def frankenstein(self, bob, backup, name):
        """Bob's current files with the backup's vault.key: what a thief holds who copied
        the home before the change and again later."""
        f = os.path.join(self.cluster.dir, name)
        shutil.copytree(bob.home, f)
        shutil.copyfile(os.path.join(backup, "vault.key"), os.path.join(f, "vault.key"))
        return f

    def test_rotate(self):
        cl = self.cluster
        node = cl.add_node("city")
        alice = T.new_client(cl, "alice", node)
        bob = T.new_client(cl, "bob", node)
        alice.add_contact(bob, "bob")
        bob.add_contact(alice, "alice")
        alice.run("send", "bob", "before")
        self.assertEqual(bob.texts(), ["before"])

        # A plain passphrase change: the backup's key still reads what comes after.
        backup1 = os.path.join(cl.dir, "backup1")
        shutil.copytree(bob.home, backup1)
        self.change(bob, P2)
        alice.run("send", "bob", "after the change")
        self.assertEqual(bob.texts(), ["after the change"])
        f = self.frankenstein(bob, backup1, "thief1")
        rc, texts, err = self.history(bob, f, P1)
        self.assertEqual(rc, 0, err)
        self.assertIn("after the change", texts)

        # A listen on the home: refused, nothing changes.
        backup2 = os.path.join(cl.dir, "backup2")
        shutil.copytree(bob.home, backup2)
        listen = bob.spawn("listen", "--json")
        time.sleep(2)
        key = open(os.path.join(bob.home, "vault.key"), "rb").read()
        p = self.change(bob, P3, "--rotate-key", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("another momedo program", p.stderr)
        self.assertEqual(open(os.path.join(bob.home, "vault.key"), "rb").read(), key)
        listen.kill()
        listen.wait()

        # The rotation: old passphrase out, history kept, new messages arrive.
        bob.env["MOMEDO_NEW_PASSPHRASE"] = P3
        out, _ = bob.j("passphrase", "--scrypt-log2n", T.CLIENT_SCRYPT_LOG2N, "--rotate-key")
        self.assertTrue(out["rotated"])
        bob.env["MOMEDO_PASSPHRASE"] = P3
        self.assertNotEqual(self.history(bob, passphrase=P2)[0], 0)
        rc, texts, err = self.history(bob)
        self.assertEqual((rc, texts), (0, ["before", "after the change"]), err)
        alice.run("send", "bob", "after the rotation")
        self.assertEqual(bob.texts(), ["after the rotation"])
        # The abuse case: the backup's key beside the rotated files.
        f = self.frankenstein(bob, backup2, "thief2")
        rc, texts, err = self.history(bob, f, P2)
        self.assertNotEqual(rc, 0)
        self.assertNotIn("after the rotation", texts)
        for name in ("vault.db", "history.db"):
            with open(os.path.join(f, name), "rb") as fh:
                self.assertNotIn(b"after the rotation", fh.read())

        # Killed after the commit: the next command finishes it (new passphrase).
        bob.env["MOMEDO_TEST_CRASH"] = "rotate-committed"
        p = self.change(bob, P4, "--rotate-key", check=False)
        self.assertEqual(p.returncode, -9, p.stderr)
        del bob.env["MOMEDO_TEST_CRASH"]
        self.assertTrue(os.path.exists(os.path.join(bob.home, "rotate.commit")))
        self.assertNotEqual(self.history(bob, passphrase=P3)[0], 0)  # finishes it, then refuses
        rc, texts, err = self.history(bob, passphrase=P4)
        self.assertEqual((rc, texts), (0, ["before", "after the change", "after the rotation"]), err)
        self.assertFalse(os.path.exists(os.path.join(bob.home, "rotate.commit")))
        bob.env["MOMEDO_PASSPHRASE"] = P4
        # Killed before the commit: dropped, the passphrase before it opens the home.
        bob.env["MOMEDO_TEST_CRASH"] = "rotate-built"
        p = self.change(bob, P1, "--rotate-key", check=False)
        self.assertEqual(p.returncode, -9, p.stderr)
        del bob.env["MOMEDO_TEST_CRASH"]
        self.assertTrue(os.path.exists(os.path.join(bob.home, "vault.db.rot")))
        self.assertNotEqual(self.history(bob, passphrase=P1)[0], 0)
        rc, texts, err = self.history(bob, passphrase=P4)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(texts), 3)
        self.assertFalse(any(n.endswith(".rot") for n in os.listdir(bob.home)))
        alice.run("send", "bob", "still working")
        self.assertEqual(bob.texts(), ["still working"])


if __name__ == "__main__":
    unittest.main()
