"""`momedo`'s (and momedo-probe's) command line through getopt_long: options anywhere and as --opt=VALUE,
each at most once, a clear error for an unknown option, a missing value and a
single-dash argument (which goes after --), and "--" ending the options. No node."""
import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402


class ArgvTest(T.ClusterTest, unittest.TestCase):
    def momedo(self, *args):
        env = dict(os.environ, MOMEDO_PASSPHRASE=T.CLIENT_PASS)
        env.pop("MOMEDO_HOME", None)
        return T.run([T.MOMEDO] + list(args), check=False, env=env)

    def test_argv(self):
        home = os.path.join(self.cluster.dir, "home")
        p = self.momedo("--json", "--home=" + home, "init", "--scrypt-log2n", "10")
        self.assertEqual(p.returncode, 0, p.stderr)
        uid = json.loads(p.stdout.splitlines()[-1])["user_id"]
        p = self.momedo("id", "--json", "--home", home)  # options after the command
        self.assertEqual(json.loads(p.stdout.splitlines()[-1])["user_id"], uid)
        cases = [
            (["--home", home, "id", "--home", home], "--home given twice"),
            (["id", "--home"], "--home needs a value"),
            (["id", "--frob"], "unknown option --frob"),
            (["send", "bob", "-1", "--home", home], "unknown option -1 (a text that starts with"),
            (["id", "--", "--json", "--home", home], "wrong number of arguments"),
            (["sned", "--home", home], "unknown command 'sned'"),
            (["id", "--count", "3", "--home", home], "id does not take --count"),
        ]
        for args, words in cases:
            with self.subTest(args=args):
                p = self.momedo(*args)
                self.assertEqual(p.returncode, 2, (p.stdout, p.stderr))
                self.assertIn(words, p.stderr)
        p = self.momedo("id", "--frob", "--json")
        err = json.loads(p.stdout.splitlines()[-1])
        self.assertEqual((err["ok"], err["error"]), (False, "E_INVAL"))
        self.assertIn("unknown option --frob", err["message"])

    def test_short_new_passphrase(self):
        """A new vault needs VAULT_PASS_NEW_MIN (8) characters, as in the page; a refused
        init leaves no home behind."""
        home = os.path.join(self.cluster.dir, "short")
        env = dict(os.environ, MOMEDO_PASSPHRASE="1234567")
        env.pop("MOMEDO_HOME", None)
        p = T.run([T.MOMEDO, "--home", home, "init", "--scrypt-log2n", "10"], check=False,
                  env=env)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("the new passphrase is too short: at least 8 characters", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(home, "vault.db")))
        self.assertFalse([f for f in os.listdir(home) if f.startswith("vault")]
                         if os.path.isdir(home) else [])
        env["MOMEDO_PASSPHRASE"] = "12345678"
        p = T.run([T.MOMEDO, "--home", home, "init", "--scrypt-log2n", "10"], check=False,
                  env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
    def test_change_passphrase(self):
        """`momedo passphrase`: the current passphrase unlocks, the new one (>= 8
        characters) opens the vault afterwards and the old one no longer does; a wrong
        current or a short new passphrase changes nothing (vault.key byte for byte)."""
        home = os.path.join(self.cluster.dir, "change")
        old, new = T.CLIENT_PASS, "a new passphrase for the laptop"

        def momedo(*args, cur=old, new_pass=None):
            env = dict(os.environ, MOMEDO_PASSPHRASE=cur)
            env.pop("MOMEDO_HOME", None)
            env.pop("MOMEDO_NEW_PASSPHRASE", None)
            if new_pass is not None:
                env["MOMEDO_NEW_PASSPHRASE"] = new_pass
            return T.run([T.MOMEDO, "--home", home] + list(args), check=False, env=env)

        p = momedo("--json", "init", "--scrypt-log2n", "10")
        self.assertEqual(p.returncode, 0, p.stderr)
        uid = json.loads(p.stdout.splitlines()[-1])["user_id"]
        key = os.path.join(home, "vault.key")
        with open(key, "rb") as f:
            before = f.read()
        backup = os.path.join(self.cluster.dir, "change-backup")
        shutil.copytree(home, backup)
        for cur, new_pass, words in [
                ("not the passphrase", new, "wrong passphrase"),
                (old, "short", "the new passphrase is too short: at least 8 characters"),
                (old, "", "MOMEDO_NEW_PASSPHRASE is empty")]:
            with self.subTest(cur=cur, new=new_pass):
                p = momedo("passphrase", "--scrypt-log2n", "10", cur=cur, new_pass=new_pass)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(words, p.stderr)
                with open(key, "rb") as f:
                    self.assertEqual(f.read(), before)
        p = momedo("passphrase", "--scrypt-log2n", "x", new_pass=new)
        self.assertEqual(p.returncode, 2)  # a bad value: usage
        self.assertIn("--scrypt-log2n must be", p.stderr)
        p = momedo("--json", "passphrase", "--scrypt-log2n", "10", new_pass=new)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(json.loads(p.stdout.splitlines()[-1])["ok"])
        p = momedo("id", "--json")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("wrong passphrase", p.stderr)
        p = momedo("id", "--json", cur=new)
        self.assertEqual(json.loads(p.stdout.splitlines()[-1])["user_id"], uid)
        # From a file, and back; the copy made before the change still opens with the old
        # passphrase (as the command says).
        pf = os.path.join(self.cluster.dir, "newpass")
        with open(pf, "w") as f:
            f.write(old + "\n")
        p = momedo("passphrase", "--new-passphrase-file", pf, "--scrypt-log2n", "10", cur=new)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("still opens with the old one", p.stdout)
        self.assertEqual(json.loads(momedo("id", "--json").stdout.splitlines()[-1])["user_id"], uid)
        env = dict(os.environ, MOMEDO_PASSPHRASE=old)
        env.pop("MOMEDO_HOME", None)
        p = T.run([T.MOMEDO, "--home", backup, "id", "--json"], check=False, env=env)
        self.assertEqual(json.loads(p.stdout.splitlines()[-1])["user_id"], uid)

    def test_probe_argv(self):
        keys = os.path.join(self.cluster.dir, "probe.keys")
        p = T.run([T.PROBE, "keygen", "--json", "--keys=" + keys], check=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout.splitlines()[-1])
        self.assertEqual((out["ok"], out["cmd"]), (True, "keygen"))
        p = T.run([T.PROBE, "--keys", keys, "id", "--json"], check=False)
        self.assertEqual(json.loads(p.stdout.splitlines()[-1])["user_id"], out["user_id"])
        for args, words in [(["id", "--keys", keys, "--keys", keys], "--keys given twice"),
                            (["id", "--keys"], "--keys needs a value"),
                            (["id", "--bogus", "--keys", keys], "unknown option --bogus"),
                            (["id", "-q", "--keys", keys], "unknown option -q")]:
            with self.subTest(args=args):
                p = T.run([T.PROBE, "--json"] + args, check=False)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(words, p.stderr)
                err = json.loads(p.stdout.splitlines()[-1])  # --json before the error: JSON
                self.assertFalse(err["ok"])
                self.assertEqual(err["error"], "E_INVAL")


if __name__ == "__main__":
    unittest.main()
