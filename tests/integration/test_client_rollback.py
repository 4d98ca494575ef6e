"""tests/integration/test_client_rollback.py — a restored, older copy of a device's vault
(issue 11, finding 6) across real processes: a real momedod on 127.0.0.1 and real
`momedo` clients. bob copies his home directory, goes on using it (sends, receives),
then the old copy is put back. His next sync and send stop with a clear ROLLBACK
message before anything is encrypted or posted (alice receives nothing), and after
`momedo recover` he talks to alice again on new sessions. A copy taken after bob's
last post is not older than what the node knows and goes on working. A count that only
a partner knows (bob posted through it while his home node was down) stops his next
sync, which connects to every node before it does anything else.
"""
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402


class RollbackTest(T.ClusterTest, unittest.TestCase):

    @staticmethod
    def signed_prekey(probe, client):
        """(prekey_id, key) of client's device in its bundle as the node holds it now."""
        d = probe.lookup(client.user_id)["devices"][0]
        return d["prekey_id"], d["signed_prekey"]

    @staticmethod
    def counter_record(client):
        """The sealed bytes of the save counter in the client's vault.db (a record the
        vault did not rewrite keeps its nonce, so the same bytes)."""
        import sqlite3
        db = sqlite3.connect(os.path.join(client.home, "vault.db"), timeout=30)
        try:
            return db.execute("SELECT sealed FROM vault_files WHERE name = 'counter'").fetchone()[0]
        finally:
            db.close()

    def pair_with_one_message(self):
        """west, alice and bob (contacts of each other), bob holding alice's "one"."""
        cl = self.cluster
        west, alice, bob = T.new_pair(cl)
        alice.run("send", "bob", "one")
        self.assertEqual(bob.texts(), ["one"])
        return cl, west, alice, bob

    def test_save_without_change_keeps_the_count(self):
        """A save that changes no record writes nothing and raises no count (a copy of
        the home from before it is not older); one that changes state raises it."""
        cl, west, alice, bob = self.pair_with_one_message()
        bob.sync()
        before = self.counter_record(bob)
        self.assertEqual(bob.sync(), [])
        self.assertEqual(bob.sync(), [])
        self.assertEqual(self.counter_record(bob), before, "nothing changed: not rewritten")
        old = bob.home + ".same"
        shutil.copytree(bob.home, old)
        alice.run("send", "bob", "two")
        self.assertEqual(bob.texts(), ["two"])
        self.assertNotEqual(self.counter_record(bob), before, "a received message is a save")
        # The copy from before the no-change syncs is older than the message: refused.
        shutil.rmtree(bob.home)
        shutil.copytree(old, bob.home)
        p = bob.run("sync", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("ROLLBACK", p.stderr)

    def test_restored_vault_refused(self):
        cl, west, alice, bob = self.pair_with_one_message()
        bob.run("send", "alice", "two")
        self.assertEqual(alice.texts(), ["two"])
        old = bob.home + ".old"
        shutil.copytree(bob.home, old)
        bob.run("send", "alice", "three")
        alice.run("send", "bob", "four")
        self.assertEqual(bob.texts(), ["four"])
        self.assertEqual(alice.texts(), ["three"])
        # The old copy is back (a backup restored, or a thief's copy used).
        shutil.rmtree(bob.home)
        shutil.copytree(old, bob.home)
        p = bob.run("sync", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("ROLLBACK", p.stderr)
        p = bob.run("send", "alice", "from the past", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("ROLLBACK", p.stderr)
        self.assertIn("momedo recover", p.stderr)
        self.assertEqual(alice.texts(), [], "the rolled-back device posted")
        # Recovery: new sessions, new one-time prekeys, a new signed prekey in a newly
        # published bundle (the old copy's prekey secret may be in other hands), the
        # count past the node's.
        probe = cl.probe("looker", west)
        spk_before = self.signed_prekey(probe, bob)
        out = bob.j("recover")[0]
        self.assertGreaterEqual(out["sessions_dropped"], 1)
        self.assertTrue(out["prekey_rotated"])
        spk_after = self.signed_prekey(probe, bob)
        self.assertNotEqual(spk_after, spk_before, "recover kept the old signed prekey")
        bob.run("send", "alice", "five")
        self.assertEqual(alice.texts(), ["five"])
        alice.run("send", "bob", "six")
        self.assertIn("six", bob.texts())
        # A copy that is not older than what bob last told the node goes on working.
        shutil.rmtree(old)
        shutil.copytree(bob.home, old)
        shutil.rmtree(bob.home)
        shutil.copytree(old, bob.home)
        bob.run("send", "alice", "seven")
        self.assertEqual(alice.texts(), ["seven"])

    def test_count_known_to_partner_only(self):
        cl = self.cluster
        west, east = cl.two_cities()
        alice, bob = T.new_client(cl, "alice", west), T.new_client(cl, "bob", east)
        alice.add_contact(bob, "bob")
        bob.add_contact(alice, "alice")
        alice.run("send", "bob", "one")
        self.assertEqual(bob.texts(), ["one"])
        old = bob.home + ".old"
        shutil.copytree(bob.home, old)
        self.assertEqual(east.stop(), 0)
        p = bob.run("send", "alice", "via the partner")
        self.assertIn("using partner", p.stderr)
        self.assertEqual(alice.texts(), ["via the partner"])
        east.start()
        shutil.rmtree(bob.home)
        shutil.copytree(old, bob.home)
        p = bob.run("sync", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("ROLLBACK", p.stderr)
        bob.j("recover")
        bob.run("send", "alice", "after recovering")
        self.assertIn("after recovering", alice.texts())


if __name__ == "__main__":
    unittest.main()
