"""Removed devices and revoked identities stay out (issue 11, finding 5), with real
nodes and clients:

- a node keeps a revocation for good: a later, non-revoked bundle of the same identity
  is refused (a thief holding the identity key cannot undo the revocation);
- a device its user removed (`momedo device remove`) is refused by everyone it writes
  to, also through a session that already exists, and also when the node the
  recipient talks to still serves the older key bundle that lists the device (the
  recipient pinned the newer version and refuses older ones);
- someone who saw a link code (a photo of the QR code; before, the code was an argument
  and stayed in the shell history) gets nothing from it (finding 3): `device join` never
  takes the code from argv, and once the new device joined, the code opens no answer and
  links no other device (before, the new device's keys derived from the code, so
  joining with it again gave the thief the same keys);
- a linked device's signed prekey is rotated too (before, only the first device's was,
  so 60 days after linking senders refused the linked device's prekey and the device
  got no new sessions): the linked device makes and saves a new one, announces it to the
  user's devices end to end, and the first device checks and publishes it; the rotation
  interval is shortened with MOMEDO_TEST_PREKEY_ROTATE_MS (the client has no test clock);
- nobody else can put a prekey into the bundle that way: another user's announcement, a
  prekey signed by any key but the device's, and a replayed older announcement of the
  device are refused by the first device (momedo-mallory sends them)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

MALLORY = os.path.join(T.BIN, "tests", "momedo-mallory")
ROTATE = "MOMEDO_TEST_PREKEY_ROTATE_MS"


def mallory(c, *args):
    p = T.run([MALLORY, "--home", c.home] + list(args), env=c.env)
    return T.json_lines(p.stdout)[-1]


def listed(c, key):
    """(bundle version, the device entry for key) in c's device list."""
    out = c.j("device", "list")[0]
    return out["version"], [d for d in out["devices"] if d["device_key"] == key][0]


def own(c):
    """c's device list, with this device's key."""
    out = c.j("device", "list")[0]
    out["key"] = [d["device_key"] for d in out["devices"] if d["this"]][0]
    return out


class DevicesTest(T.ClusterTest, unittest.TestCase):
    def test_seen_link_code_gives_nothing(self):
        n = self.cluster.add_node("alpha")
        alice = T.new_client(self.cluster, "alice", n)
        thief = T.Client(self.cluster, "thief")
        out, p = thief.j("device", "join", "momedo-link2:0000", check=False)
        self.assertEqual((p.returncode, out["error"]), (2, "E_INVAL"))  # usage
        self.assertIn("command line", p.stderr)
        tablet = T.link_device(self.cluster, alice, "alice-tablet")
        tab_key = [d["device_key"] for d in alice.j("device", "list")[0]["devices"]
                   if not d["this"]][0]
        # The thief saw the QR code and joins with it after the tablet did.
        out, p = thief.j("device", "join", "--scrypt-log2n", T.CLIENT_SCRYPT_LOG2N,
                         input=tablet.link_code + "\n", check=False)
        self.assertEqual((p.returncode, out["error"]), (1, "E_DENIED"), p.stderr)
        self.assertIn("used already, by another device", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(thief.home, "vault.key")),
                         "a failed join leaves no vault")
        devices = alice.j("device", "list")[0]["devices"]
        self.assertEqual(len(devices), 2)
        self.assertIn(tab_key, [d["device_key"] for d in devices])
        # The tablet still works: its keys are its own.
        self.assertEqual(tablet.ident()["user_id"], alice.user_id)

    def test_revocation_is_final_at_the_node(self):
        n = self.cluster.add_node("alpha")
        p = self.cluster.probe("victim", n)
        p.register()
        self.assertTrue(p.publish()["ok"])
        self.assertTrue(p.run("publish", "--revoked")[-1]["ok"])
        # The thief signs a later, non-revoked bundle with the stolen identity key.
        rc, out, err = p.run("publish", check=False)
        self.assertNotEqual(rc, 0, "a node let a later bundle undo a revocation: %r" % out)
        self.assertIn("E_SUPERSEDED", err)
        self.assertEqual(p.lookup(p.user_id)["revoked"], True)

    def test_removed_device_refused_also_via_a_stale_node(self):
        west, east = self.cluster.two_cities()
        alice = T.new_client(self.cluster, "alice", west)
        bob = T.new_client(self.cluster, "bob", west)
        tablet = T.link_device(self.cluster, bob, "bob-tablet")
        alice.add_contact(bob, "bob")
        tablet.add_contact(alice, "alice")
        tablet.run("send", "alice", "from the tablet")
        self.assertEqual(alice.texts(), ["from the tablet"])
        version = bob.j("device", "list")[0]["version"]
        spy = self.cluster.probe("spy", east)
        self.cluster.wait_for(lambda: spy.lookup(bob.user_id)["version"] >= version,
                              "bob's bundle with the tablet at the east")
        # The tablet is stolen. The east is down while Bob removes it, so the east keeps
        # serving the older bundle that lists it.
        self.assertEqual(east.stop(), 0)
        tab_key = [d["device_key"] for d in bob.j("device", "list")[0]["devices"]
                   if not d["this"]][0]
        out, _ = bob.j("device", "remove", tab_key[:12])
        self.assertEqual(out["devices"], 1)
        alice.run("send", "bob", "hi bob")  # Alice refreshes Bob's bundle: pins the newer one
        # The west goes down, the east comes back alone: the thief's tablet (its home is
        # down) falls back to the east, which still admits it, and writes to Alice.
        self.assertEqual(west.stop(), 0)
        east.start()
        tablet.run("send", "alice", "the thief, through the old session")
        # A first message too (a new session), from the same removed device.
        T.forget_vault_records(tablet.home, "sessions")
        tablet.run("send", "alice", "the thief, in a new session")
        lines, err = alice.sync_lines()
        texts = [m.get("text") for m in lines if m.get("type") == "message"]
        self.assertNotIn("the thief, through the old session", texts, err)
        self.assertNotIn("the thief, in a new session", texts, err)
        self.assertIn("older key bundle", err)
        self.assertIn("no longer lists", err)

    def test_linked_device_prekey_rotates(self):
        n = self.cluster.add_node("alpha")
        alice = T.new_client(self.cluster, "alice", n)
        tablet = T.link_device(self.cluster, alice, "alice-tablet")
        tab = own(tablet)
        first = tab["prekey_id"]
        self.assertFalse(tab["prekey_pending"])
        v0, entry = listed(alice, tab["key"])
        self.assertEqual(entry["prekey_id"], first)
        # Its prekey is due (the interval shortened to 0): the tablet makes a new one and
        # announces it; the bundle still lists the old one, which the tablet keeps.
        tablet.env[ROTATE] = "0"
        tablet.sync_lines()
        tab = own(tablet)
        second = tab["prekey_id"]
        self.assertNotEqual(second, first)
        self.assertTrue(tab["prekey_pending"])
        # While it waits, another sync does not rotate again (the one senders use stays
        # the previous) and does not announce again (once a day).
        _, err = tablet.sync_lines()
        self.assertEqual(own(tablet)["prekey_id"], second, err)
        # The first device takes it and publishes it at its sync.
        _, err = alice.sync_lines()
        self.assertIn("linked device's new signed prekey", err)
        v1, entry = listed(alice, tab["key"])
        self.assertEqual(entry["prekey_id"], second, err)
        self.assertGreater(v1, v0)
        self.assertGreater(entry["prekey_expires_ms"], 0)
        spy = self.cluster.probe("spy", n)
        self.assertEqual(spy.lookup(alice.user_id)["version"], v1)
        # The tablet sees it published (no rotation due without the test interval).
        del tablet.env[ROTATE]
        tablet.sync_lines()
        tab = own(tablet)
        self.assertEqual((tab["prekey_id"], tab["prekey_pending"]), (second, False))
        # A new contact starts sessions on the published prekeys: both devices read it.
        bob = T.new_client(self.cluster, "bob", n)
        bob.add_contact(alice, "alice")
        bob.run("send", "alice", "to both devices")
        self.assertEqual(tablet.texts(), ["to both devices"])
        self.assertEqual(alice.texts(), ["to both devices"])
        # The first device's own prekey rotates at its sync too.
        mine = own(alice)
        alice.env[ROTATE] = "0"
        alice.sync_lines()
        del alice.env[ROTATE]
        after = own(alice)
        self.assertNotEqual(after["prekey_id"], mine["prekey_id"])
        self.assertGreater(after["version"], mine["version"])
        carol = T.new_client(self.cluster, "carol", n)
        carol.add_contact(alice, "alice")
        carol.run("send", "alice", "from carol")
        self.assertEqual(alice.texts(), ["from carol"])
        self.assertEqual(tablet.texts(), ["from carol"])
        # `recover` on the linked device (its vault copy may be in other hands) makes a
        # new prekey, announced at its next sync and published by the first device.
        out, _ = tablet.j("recover")
        self.assertTrue(out["prekey_rotated"])
        tab = own(tablet)
        self.assertTrue(tab["prekey_pending"])
        tablet.sync_lines()
        alice.sync_lines()
        self.assertEqual(listed(alice, tab["key"])[1]["prekey_id"], tab["prekey_id"])

    def test_foreign_and_forged_device_prekeys_refused(self):
        n = self.cluster.add_node("alpha")
        alice = T.new_client(self.cluster, "alice", n)
        tablet = T.link_device(self.cluster, alice, "alice-tablet")
        mal = T.new_client(self.cluster, "mal", n)
        mal.add_contact(alice, "alice")
        tab_key = own(tablet)["key"]
        v0, e0 = listed(alice, tab_key)
        # Another user announces its own (validly signed) prekey to Alice's devices, and
        # the tablet sends one signed by a key of its own making (what a node, or anyone
        # able to get a message onto the first device, could offer).
        self.assertEqual(mallory(mal, "prekey", "alice", "own")["sent"], 2)
        self.assertEqual(mallory(tablet, "prekey", "self", "bad-sig")["sent"], 1)
        _, err = alice.sync_lines()
        self.assertIn("refused a device prekey: sent by another user", err)
        self.assertIn("refused a device prekey from one of your devices", err)
        self.assertIn("E_BADSIG", err)
        self.assertEqual(listed(alice, tab_key), (v0, e0), err)
        # A real rotation goes through; a replay of the older announcement does not.
        tablet.env[ROTATE] = "0"
        tablet.sync_lines()
        del tablet.env[ROTATE]
        alice.sync_lines()
        v1, e1 = listed(alice, tab_key)
        self.assertEqual(e1["prekey_id"], own(tablet)["prekey_id"])
        self.assertNotEqual(e1["prekey_id"], e0["prekey_id"])
        self.assertEqual(mallory(tablet, "prekey", "self", "old")["sent"], 1)
        _, err = alice.sync_lines()
        self.assertIn("E_SUPERSEDED", err)
        self.assertEqual(listed(alice, tab_key), (v1, e1), err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
