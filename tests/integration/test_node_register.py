"""Registration proves key ownership (issue 11, finding 11): a RegisterReq carries
signatures by the device key and by the identity key over the node key, the hashed
invite token and both public keys. Attacks: an invited attacker registering its own
device for someone else's identity key, or someone else's device key for its own
identity (which used to lock the victim's device out of the node)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402


class RegisterTest(T.ClusterTest, unittest.TestCase):
    def test_someone_elses_keys_refused(self):
        n = self.cluster.add_node("alpha")
        victim = self.cluster.probe("victim", n)
        attacker = self.cluster.probe("attacker", n)
        vid = victim.run("id")[-1]
        # The attacker's device, registered as the victim's user.
        rc, out, err = attacker.run("register", "--claim-identity", vid["identity_key"],
                                    check=False)
        self.assertNotEqual(rc, 0, "a node registered a device for an identity key the "
                            "client does not hold: %r" % out)
        self.assertIn("E_AUTH", err)
        self.assertIn("identity key did not sign", err)
        # The victim's device key, registered for the attacker's identity.
        rc, out, err = attacker.run("register", "--claim-device", vid["device_key"],
                                    check=False)
        self.assertNotEqual(rc, 0, "a node registered a device key the client does not "
                            "hold: %r" % out)
        self.assertIn("device key did not sign", err)
        self.assertEqual(n.status()["participants"], 0)
        # Neither attempt took anything from the victim or the attacker.
        self.assertTrue(victim.register()["ok"])
        self.assertTrue(attacker.register()["ok"])
        parts = sorted(p["user_id"] for p in n.admin("participants")["participants"])
        self.assertEqual(parts, sorted([victim.user_id, attacker.user_id]))
        self.assertIn("registration refused", n.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
