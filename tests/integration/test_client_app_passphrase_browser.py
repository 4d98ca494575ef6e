"""tests/integration/test_client_app_passphrase_browser.py — changing the passphrase in
`momedo app` (headless Debian chromium, a real momedod and a real `momedo` client):

- the current passphrase is asked again: a wrong one is refused (403) and vault.key
  stays byte for byte; a too short or unrepeated new one is refused (400) by the server
  too, not only by the page;
- a good change rewrites vault.key and renews the data key (eng_rotate_key): afterwards
  the command line opens the home with the new passphrase only, messages still arrive,
  and the old vault.key put back beside the files opens nothing (with a plain re-wrap it
  would open them all);
- the endpoint answers 403 without the token, to another origin and cross-site.
Skips (exit 77) only when chromium, chromedriver or python3-selenium is missing."""
import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402
import test_client_app_browser as AB  # noqa: E402

if not AB.MISSING:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

NEW = "Lampe Flur zwei Hausmeister"


@unittest.skipIf(AB.MISSING, "browser test skipped: missing %s" % ", ".join(AB.MISSING))
class AppPassphraseTest(AB.AppBrowserTest):
    test_app = None  # the base class's whole-app test is not run again here

    def post(self, body, **extra):
        h = {"X-Momedo-Token": self.app.token, "Content-Type": "application/json"}
        h.update(extra)
        st, _, text = AB.req(self.app.port, "POST", "/api/passphrase", h, json.dumps(body))
        return st, text

    def key(self, bob):
        with open(os.path.join(bob.home, "vault.key"), "rb") as f:
            return f.read()

    def test_change_in_page(self):
        node = self.cluster.add_node("city")
        alice = T.new_client(self.cluster, "alice", node)
        bob = T.new_client(self.cluster, "bob", node)
        alice.add_contact(bob, "bob")
        self.app = AB.App(self.cluster, bob, "--scrypt-log2n", T.CLIENT_SCRYPT_LOG2N)
        before = self.key(bob)
        # Locked: nothing to change. Without the token or from elsewhere: 403.
        self.assertEqual(self.post({"current": T.CLIENT_PASS, "passphrase": NEW,
                                    "repeat": NEW})[0], 423)
        st, _, _ = AB.req(self.app.port, "POST", "/api/passphrase",
                          {"Content-Type": "application/json"}, "{}")
        self.assertEqual(st, 403)
        self.assertEqual(self.post({}, Origin="http://evil.example")[0], 403)
        self.assertEqual(self.post({}, **{"Sec-Fetch-Site": "cross-site"})[0], 403)
        d = self.drv = AB.browser("de-DE,de", 1280, 900)
        d.get(self.app.url)
        self.wait(lambda: d.find_element(By.ID, "pass").is_displayed(), "the unlock form")
        d.find_element(By.ID, "pass").send_keys(T.CLIENT_PASS, Keys.ENTER)
        self.click('[data-test="devices-open"]', "the devices button")
        self.wait(lambda: self.qa('[data-test="pass-current"]')[0].is_displayed(), "the form")

        def submit(cur, new, rep):
            for sel, v in (("pass-current", cur), ("pass-new", new), ("pass-repeat", rep)):
                e = d.find_element(By.CSS_SELECTOR, '[data-test="%s"]' % sel)
                e.clear()
                e.send_keys(v)
            d.find_element(By.CSS_SELECTOR, '[data-test="pass-change"]').click()
            msg = d.find_element(By.CSS_SELECTOR, '[data-test="pass-msg"]')
            self.wait(lambda: msg.text, "the answer")
            return msg.text

        self.assertIn("bisherige Passphrase stimmt nicht", submit("falsch falsch", NEW, NEW))
        self.assertEqual(self.key(bob), before)
        self.assertIn("zu kurz", submit(T.CLIENT_PASS, "kurz", "kurz"))
        self.assertIn("verschieden", submit(T.CLIENT_PASS, NEW, NEW + "x"))
        # The server checks too (a page is not a trust boundary).
        for body, words in (({"current": T.CLIENT_PASS, "passphrase": "kurz", "repeat": "kurz"},
                             "too short"),
                            ({"current": T.CLIENT_PASS, "passphrase": NEW, "repeat": "x"},
                             "differ"),
                            ({"passphrase": NEW, "repeat": NEW}, "current passphrase")):
            st, text = self.post(body)
            self.assertEqual(st, 400, text)
            self.assertIn(words, text)
        self.assertEqual(self.post({"current": "falsch falsch", "passphrase": NEW,
                                    "repeat": NEW})[0], 403)
        self.assertEqual(self.key(bob), before)
        d.save_screenshot(os.path.join(self.shots, "app-passphrase-de.png"))
        self.assertIn("Passphrase ist geändert", submit(T.CLIENT_PASS, NEW, NEW))
        self.assertNotEqual(self.key(bob), before)
        for sel in ("pass-current", "pass-new", "pass-repeat"):  # nothing left in the form
            self.assertEqual(d.find_element(By.CSS_SELECTOR, '[data-test="%s"]' % sel)
                             .get_attribute("value"), "")
        self.assertEqual(self.app.stop(), 0, self.app.stderr())
        # The command line: the old passphrase no longer opens the home, the new one does.
        p = bob.run("id", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("wrong passphrase", p.stderr)
        bob.env["MOMEDO_PASSPHRASE"] = NEW
        alice.run("send", "bob", "nach dem Wechsel")
        self.assertEqual(bob.texts(), ["nach dem Wechsel"])
        # The data key is new: the old vault.key (a backup's) beside the files opens nothing.
        thief = os.path.join(self.cluster.dir, "thief")
        shutil.copytree(bob.home, thief)
        with open(os.path.join(thief, "vault.key"), "wb") as f:
            f.write(before)
        env = dict(bob.env, MOMEDO_PASSPHRASE=T.CLIENT_PASS)
        p = T.run([T.MOMEDO, "id", "--home", thief], check=False, env=env)
        self.assertNotEqual(p.returncode, 0, p.stdout)


if __name__ == "__main__":
    unittest.main()
