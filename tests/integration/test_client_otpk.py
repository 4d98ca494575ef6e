"""tests/integration/test_client_otpk.py — one-time prekeys across real processes (issue
11): real momedod nodes on 127.0.0.1, real `momedo` clients, and momedo-otpk-attack
(tests/integration/otpk_attack.c), a test tool that claims prekeys, captures a device's
items without acknowledging them and posts captured ciphertexts again.

* A device stocks its home node at its first sync; a first message to it names a
  one-time prekey, which the recipient uses once: the same message posted again, or
  one naming a prekey the device never made, is refused with a clear reason.
* The node hands each prekey out at most once: two requesters claiming at once get
  disjoint sets, and after a kill -9 and restart none comes again; claims are limited
  per requesting device and minute, and a sender whose claim is refused falls back to
  the signed prekey alone (the message still arrives).
* A device refills its node when it holds fewer than 25.
"""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

TOOL = os.path.join(T.BIN, "tests", "momedo-otpk-attack")
CLAIMS_PER_MINUTE = 20   # NODE_OTPK_CLAIMS_PER_MINUTE
HELD = 100               # OTPK_HELD_MAX / OTPKS_NODE_TARGET


class OneTimePrekeyTest(T.ClusterTest, unittest.TestCase):

    def tool(self, c, *args):
        p = T.run([TOOL, "--home", c.home] + list(args), env=c.env, check=False)
        out = T.json_lines(p.stdout)
        if not out or not out[-1].get("ok"):
            raise T.TestFailure("otpk tool %s failed: %s %s" % (args, p.stdout, p.stderr))
        return out[-1]

    def users(self, *names):
        cl = self.cluster
        west = cl.add_node("westcity")
        cs = [T.new_client(cl, n, west) for n in names]
        return west, cs

    def test_first_message_uses_prekey_once(self):
        west, (alice, bob) = self.users("alice", "bob")
        bob.sync()
        self.assertEqual(self.tool(bob, "held")["held"], HELD)
        alice.add_contact(bob, "bob")
        alice.run("send", "bob", "hello with a one-time prekey")
        items = self.tool(bob, "capture")["items"]
        self.assertEqual(len(items), 1)
        first = items[0]
        self.assertEqual(first["type"], 3)  # a suite-2 (hybrid) first message
        self.assertNotEqual(first["opk_id"], 0, "the first message names a one-time prekey")
        self.assertEqual(self.tool(bob, "held")["held"], HELD - 1)
        lines, err = bob.sync_lines()
        self.assertEqual([m["text"] for m in lines if m.get("type") == "message"],
                         ["hello with a one-time prekey"])
        # The same first message again (a replica, or someone who kept a copy): refused
        # because the prekey's secret is gone, whatever else bob remembers. (His set of
        # seen ciphertexts, his session with alice and his replay set catch it too; they
        # are removed here, as after they were trimmed and evicted the entries.)
        T.forget_vault_records(bob.home, "seen", "sessions", "replay")
        self.tool(alice, "inject", "bob", first["ct"])
        lines, err = bob.sync_lines()
        self.assertEqual([m for m in lines if m.get("type") == "message"], [])
        self.assertIn("one-time prekey %d, which this device does not hold" % first["opk_id"],
                      err)
        # A first message naming a prekey this device never made.
        self.tool(alice, "inject", "bob", first["ct"], "999999")
        lines, err = bob.sync_lines()
        self.assertEqual([m for m in lines if m.get("type") == "message"], [])
        self.assertIn("one-time prekey 999999, which this device does not hold", err)
        # The session goes on.
        bob.add_contact(alice, "alice")
        bob.run("send", "alice", "answer")
        self.assertIn("answer", alice.texts())

    def claim_two_at_once(self, a, b, n):
        procs = [subprocess.Popen([TOOL, "--home", c.home, "claim", "bob", str(n)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=c.env) for c in (a, b)]
        outs = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            lines = T.json_lines(out)
            self.assertTrue(lines and lines[-1]["ok"], out + err)
            outs.append(lines[-1])
        return outs

    def test_never_handed_out_twice(self):
        west, (alice, carol, dave, bob) = self.users("alice", "carol", "dave", "bob")
        bob.sync()
        for c in (alice, carol, dave):
            c.add_contact(bob, "bob")
        ra, rc = self.claim_two_at_once(alice, carol, CLAIMS_PER_MINUTE + 5)
        for r in (ra, rc):  # the claim limit per requesting device
            self.assertEqual(len(r["ids"]), CLAIMS_PER_MINUTE)
            self.assertEqual(r["stopped"], "E_RATE")
        print("one-time prekey claim, round trip with the node's synced delete: %d / %d us"
              % (ra["us_per_claim"], rc["us_per_claim"]), file=sys.stderr)
        seen = ra["ids"] + rc["ids"]
        self.assertEqual(len(set(seen)), len(seen), "a prekey handed out twice")
        # Killed and restarted: what was handed out stays gone.
        west.kill9()
        west.start()
        rd = self.tool(dave, "claim", "bob", str(CLAIMS_PER_MINUTE))
        self.assertEqual(len(rd["ids"]), CLAIMS_PER_MINUTE)
        seen += rd["ids"]
        self.assertEqual(len(set(seen)), len(seen), "a prekey handed out again after restart")
        self.assertEqual(self.tool(bob, "held")["held"], HELD - len(seen))
        # dave's claims are used up for this minute: he sends anyway, on the signed
        # prekey alone, and bob reads it.
        dave.run("send", "bob", "no one-time prekey for me")
        items = self.tool(bob, "capture")["items"]
        self.assertEqual([(i["type"], i["opk_id"]) for i in items], [(3, 0)])
        self.assertIn("no one-time prekey for me", bob.texts())
        # 40 left: above the refill mark (bob's sync above did not refill). Another 20
        # gone, and bob's next sync refills.
        self.assertEqual(self.tool(bob, "held")["held"], HELD - 3 * CLAIMS_PER_MINUTE)
        seen += self.tool(alice, "claim", "bob", str(CLAIMS_PER_MINUTE))["ids"]
        self.assertEqual(len(set(seen)), len(seen))
        self.assertEqual(self.tool(bob, "held")["held"], HELD - 4 * CLAIMS_PER_MINUTE)
        bob.sync()
        self.assertEqual(self.tool(bob, "held")["held"], HELD)


if __name__ == "__main__":
    unittest.main()
