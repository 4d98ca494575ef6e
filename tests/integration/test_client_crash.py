"""Crash safety of the sending chain (issue 11, finding 6): the client is killed with
SIGKILL (MOMEDO_TEST_CRASH, client/cli/cli_util.c) right after it posted envelopes but
before it saved its state, or right after it encrypted them; then it sends again. No
two envelopes the node stored may use the same ratchet position (DH key, N) — that
would be the same message key and nonce for two plaintexts — and the recipient reads
every message that was posted.

The envelopes are read raw by the recipient: a momedo-probe device (its own mailbox,
`fetch --hex`, nothing acknowledged), since a node lets nobody else read a device's
mailbox. A second recipient, a real client, must read every message that was posted."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

SIGKILL_EXIT = -9


def envelope_position(ct_hex):
    """(version, type, DH public key, N, salt or None) of an envelope (docs/e2e.md)."""
    b = bytes.fromhex(ct_hex)
    version, typ = b[0], b[1]
    off = 2 + (32 + 4 + 4 + 120 if typ == 1 else 0)
    hdr = b[off:off + 72]
    dh, n = hdr[16:48], int.from_bytes(hdr[52:56], "big")
    salt = hdr[56:72] if version >= 2 else None
    return version, typ, dh.hex(), n, salt.hex() if salt else None


class CrashTest(T.ClusterTest, unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.west, self.east = self.cluster.two_cities()
        self.alice = T.new_client(self.cluster, "alice", self.west)
        self.bob = T.new_client(self.cluster, "bob", self.west)
        self.alice.add_contact(self.bob, "bob")
        self.probe = self.cluster.probe("carol", self.east)
        self.probe.register()
        self.probe.publish()
        self.cluster.wait_for(lambda: self.alice.j("contact", "add", self.probe.user_id,
                                                   "--name", "carol", check=False)[1]
                              .returncode == 0, "carol's bundle at the west")

    def stored(self, n):
        """The envelopes in Carol's mailbox at the east, once there are n."""
        def got():
            items = [x for x in self.probe.run("fetch", "--hex") if x.get("kind") == "item"]
            return items if len(items) >= n else None
        return self.cluster.wait_for(got, "%d envelope(s) for carol" % n)

    def positions(self, n):
        pos = [envelope_position(x["ciphertext"]) for x in self.stored(n)]
        self.assertEqual(len(set((p[2], p[3]) for p in pos)), len(pos),
                         "two envelopes share a ratchet position (same key and nonce): %r" % pos)
        return pos

    def crash_send(self, to, text, where):
        env = dict(self.alice.env, MOMEDO_TEST_CRASH=where)
        p = T.run([T.MOMEDO, "send", to, text, "--home", self.alice.home], check=False,
                  env=env)
        self.assertEqual(p.returncode, SIGKILL_EXIT, "expected the crash point %s: %s %s" % (
            where, p.stdout, p.stderr))

    def test_crash_after_post_reuses_no_key(self):
        for to in ("carol", "bob"):
            self.alice.run("send", to, "zero")
            self.crash_send(to, "one: posted, then the power went out", "posted")
            self.alice.run("send", to, "two")
        self.positions(3)
        got = self.bob.texts()
        for t in ("zero", "one: posted, then the power went out", "two"):
            self.assertIn(t, got)

    def test_crash_after_encrypt_then_send_again(self):
        for to in ("carol", "bob"):
            self.alice.run("send", to, "zero")
            self.crash_send(to, "never posted", "encrypted")
            self.alice.run("send", to, "after the crash")
        self.positions(2)
        got = self.bob.texts()
        self.assertIn("after the crash", got)
        self.assertNotIn("never posted", got)


if __name__ == "__main__":
    unittest.main(verbosity=2)
