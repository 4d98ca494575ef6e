"""`momedo app`'s account pages in a real browser (headless Debian chromium, selenium;
run with /usr/bin/python3) against a real momedod, Alice on the command line:

- first run in the page on an empty home: a short passphrase, two that differ, a code
  that is no code and an invite the node refuses (used up) are refused with a message
  and leave the home as it was; then Bob's passphrase and invite make his account and
  the page shows his conversations; a first run on a home that has an account is
  refused (409) and changes nothing; /api/unlock there says to set up first;
- Bob creates a group with Alice in the page; Alice's CLI posts in it and the text
  appears in the page; Bob answers in it and Alice's CLI receives it;
- Alice's announcement channel (`group create --channel`) with Bob: her post reaches
  the page (issue 13 part 5); Bob sees he cannot post there;
- Alice's safety number in the page equals `contact show`'s; marking it verified is
  what `contacts` then says;
- Bob's second device (linked by the CLI) is removed in the page and is gone from
  `device list`;
- a new device of Alice's, set up in the page with the link code of her `device link`:
  the page shows the safety code, the CLI confirms it, the page opens with her contacts;
- the new endpoints answer 403 without the token and to another origin.
Screenshots (desktop and 400 px) go to $MOMEDO_SCREENSHOT_DIR, else
$MOMEDO_TEST_TMP/app-screens. Skips (77) only when chromium, chromedriver or selenium is
missing."""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402
import test_client_app_browser as AB  # noqa: E402

if AB.HAVE_SELENIUM:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

req, App = AB.req, AB.App


def tree(path):
    """Every file under path with its size and mtime (what 'nothing changed' compares)."""
    out = {}
    for root, _, files in os.walk(path):
        for f in files:
            p = os.path.join(root, f)
            st = os.stat(p)
            out[p] = (st.st_size, st.st_mtime_ns)
    return out


class AppManageTest(AB.AppBrowserTest):
    test_app = None  # the other file's test; this class runs test_manage

    def post(self, path, body, **headers):
        h = {"X-Momedo-Token": self.app.token, "Content-Type": "application/json"}
        h.update(headers)
        st, _, text = req(self.app.port, "POST", path, h, json.dumps(body))
        return st, json.loads(text) if text.startswith("{") else text

    def fill(self, test, text):
        e = self.drv.find_element(By.CSS_SELECTOR, '[data-test="%s"]' % test)
        e.clear()
        e.send_keys(text)

    def shot(self, name):
        self.drv.save_screenshot(os.path.join(self.shots, name))

    def check_abuse(self):
        """Every new endpoint: 403 without the token and to another origin."""
        port, tok = self.app.port, self.app.token
        for path in ("/api/setup", "/api/group", "/api/group-add", "/api/verify",
                     "/api/device-remove", "/api/passphrase"):
            st, _, _ = req(port, "POST", path, {"Content-Type": "application/json"}, "{}")
            self.assertEqual(st, 403, path)
            st, _, _ = req(port, "POST", path, {"X-Momedo-Token": tok, "Content-Type":
                                                "application/json", "Origin":
                                                "http://evil.example"}, "{}")
            self.assertEqual(st, 403, path)
            st, _, _ = req(port, "POST", path, {"X-Momedo-Token": tok, "Content-Type":
                                                "application/json", "Sec-Fetch-Site":
                                                "cross-site"}, "{}")
            self.assertEqual(st, 403, path)
        for path in ("/api/group?key=" + "0" * 64, "/api/contact?key=" + "0" * 64,
                     "/api/devices"):
            self.assertEqual(req(port, "GET", path)[0], 403, path)

    def first_run(self, node, bob):
        d = self.drv
        used = node.invite(uses=1)
        T.Client(self.cluster, "spender").init().j("join", used)  # the node refuses it now
        d.get(self.app.url)
        self.wait(lambda: d.find_element(By.ID, "setup-pass").is_displayed(), "the setup form")
        self.shot("app-setup.png")
        d.set_window_size(400, 800)
        self.shot("app-400-setup.png")
        d.set_window_size(1280, 860)
        before = tree(bob.home)

        def attempt(p, r, code, words):
            self.fill("setup-pass", p)
            self.fill("setup-repeat", r)
            self.fill("setup-code", code)
            self.click('[data-test="setup-button"]', "the start button")
            self.wait(lambda: words in d.find_element(By.CSS_SELECTOR,
                                                      '[data-test="setup-error"]').text,
                      "the message %r" % words)
            self.assertEqual(tree(bob.home), before)  # nothing changed on disk
        attempt("short", "short", used, "too short")
        attempt(T.CLIENT_PASS, T.CLIENT_PASS + "x", used, "differ")
        attempt(T.CLIENT_PASS, T.CLIENT_PASS, "hello there", "neither an invite")
        attempt(T.CLIENT_PASS, T.CLIENT_PASS, used[:-1] + ("A" if used[-1] != "A" else "B"),
                "typo")
        attempt(T.CLIENT_PASS, T.CLIENT_PASS, used, "refused")
        # The server holds the rules too (a script that skips the page).
        st, body = self.post("/api/setup", {"passphrase": "1234567", "repeat": "1234567",
                                            "code": node.invite()})
        self.assertEqual((st, body["status"]), (400, "E_INVAL"))
        st, body = self.post("/api/unlock", {"passphrase": T.CLIENT_PASS})
        self.assertEqual(st, 409)
        self.assertEqual(tree(bob.home), before)
        # The real thing.
        self.fill("setup-pass", T.CLIENT_PASS)
        self.fill("setup-repeat", T.CLIENT_PASS)
        self.fill("setup-code", node.invite())
        self.click('[data-test="setup-button"]', "the start button")
        self.wait(lambda: d.find_element(By.ID, "conv-h").is_displayed(), "the messenger")
        bob.user_id = bob.ident()["user_id"]
        st = json.loads(req(self.app.port, "GET", "/api/state",
                            {"X-Momedo-Token": self.app.token})[2])
        self.assertEqual((st["unlocked"], st["setup"], st["user_id"]), (True, False, bob.user_id))
        # A second first run on a home with an account: refused, nothing changed.
        before = tree(bob.home)
        st, body = self.post("/api/setup", {"passphrase": "another passphrase",
                                            "repeat": "another passphrase",
                                            "code": node.invite()})
        self.assertEqual((st, body["status"]), (409, "E_EXISTS"))
        self.assertEqual(tree(bob.home), before)
        self.assertEqual(bob.ident()["user_id"], bob.user_id)

    def group_in_page(self, alice, bob):
        d = self.drv
        d.find_element(By.CSS_SELECTOR, '[data-test="contact-id"]').send_keys(alice.user_id)
        d.find_element(By.ID, "contact-name").send_keys("alice")
        self.click('[data-test="add-contact"]', "add alice")
        self.click('[data-test="group-member"][data-name="alice"]', "alice as a member")
        self.fill("group-name", "Hausmeister")
        self.click('[data-test="group-create"]', "create the group")
        conv = '[data-test="conversation"][data-name="Hausmeister"]'
        self.wait(lambda: self.qa(conv), "the group in the list")
        self.wait(lambda: d.find_element(By.ID, "view-h").text == "Hausmeister", "the group open")
        self.cluster.wait_for(lambda: alice.sync() is not None and any(
            g["name"] == "Hausmeister" for g in alice.j("groups")[0]["groups"]),
            "Alice's CLI has the group")
        alice.run("send", "Hausmeister", "Die Lampe in Raum 12 ist kaputt")
        self.wait(lambda: ("text", "received", "Die Lampe in Raum 12 ist kaputt")
                  in self.messages(), "Alice's group text in the page", timeout=15)
        box = d.find_element(By.CSS_SELECTOR, '[data-test="composer"]')
        box.send_keys("Ich komme um zehn", Keys.ENTER)
        got = []
        self.cluster.wait_for(lambda: got.extend(alice.texts()) or "Ich komme um zehn" in got,
                              "Alice's CLI gets Bob's group answer")
        self.click('[data-test="conv-info"]', "the members button")
        self.wait(lambda: self.qa('[data-test="member"][data-name="alice"]'), "alice a member")
        self.shot("app-group-members.png")
        d.set_window_size(400, 800)
        self.wait(lambda: d.find_element(By.ID, "back").is_displayed(), "the back button at 400 px")
        self.shot("app-400-group.png")
        self.click("#back", "back to the list")
        self.wait(lambda: d.find_element(By.ID, "group-form").is_displayed(), "the list at 400 px")
        d.execute_script("document.getElementById('group-form').scrollIntoView()")
        self.shot("app-400-new-group.png")
        d.set_window_size(1280, 860)

    def channel_to_page(self, alice):
        alice.run("group", "create", "Ankuendigungen", "--channel", "bob")
        alice.run("send", "Ankuendigungen", "Freitag keine Heizung")
        conv = '[data-test="conversation"][data-name="Ankuendigungen"]'
        self.click(conv, "the channel in Bob's list")
        self.wait(lambda: ("text", "received", "Freitag keine Heizung") in self.messages(),
                  "Alice's channel post in the page", timeout=15)
        self.click('[data-test="conv-info"]', "the channel's readers")
        self.wait(lambda: "Only the channel's admins" in self.drv.find_element(
            By.ID, "info-box").text, "the reader's note")

    def safety(self, bob):
        d = self.drv
        self.click('[data-test="conversation"][data-name="alice"]', "alice's conversation")
        self.click('[data-test="conv-info"]', "the safety number button")
        want = bob.j("contact", "show", "alice")[0]
        self.wait(lambda: d.find_element(By.CSS_SELECTOR, '[data-test="safety-number"]').text
                  == want["fingerprint"], "the safety number as `contact show` prints it")
        self.assertFalse(want["verified"])
        self.assertEqual(d.find_element(By.CSS_SELECTOR, '[data-test="verified-state"]').text,
                         "not verified")
        # A stale number (another key's) is refused.
        st, body = self.post("/api/verify", {"key": self.qa(
            '[data-test="conversation"][data-name="alice"]')[0].get_attribute("data-key"),
            "safety_number": "12345 67890"})
        self.assertEqual(st, 409)
        self.shot("app-safety.png")
        self.click('[data-test="verify"]', "mark verified")
        self.wait(lambda: d.find_element(By.CSS_SELECTOR, '[data-test="verified-state"]').text
                  == "verified", "verified in the page")
        alice_c = [c for c in bob.j("contacts")[0]["contacts"] if c["name"] == "alice"][0]
        self.assertTrue(alice_c["verified"])

    def devices(self, bob):
        d = self.drv
        T.link_device(self.cluster, bob, "bob2")
        listed = bob.j("device", "list")[0]["devices"]
        self.assertEqual(len(listed), 2)
        key2 = [x["device_key"] for x in listed if not x["this"]][0]
        self.click('[data-test="devices-open"]', "the devices button")
        self.wait(lambda: len(self.qa('[data-test="device"]')) == 2, "two devices in the page")
        self.shot("app-devices.png")
        d.set_window_size(400, 800)
        self.shot("app-400-devices.png")
        d.set_window_size(1280, 860)
        self.click('[data-test="device-remove"][data-key="%s"]' % key2, "remove")
        self.click('[data-test="device-remove-confirm"]', "remove for good")
        self.wait(lambda: len(self.qa('[data-test="device"]')) == 1, "one device left")
        listed = bob.j("device", "list")[0]
        self.assertEqual([x["this"] for x in listed["devices"]], [True])
        self.assertEqual(listed["removed"], 1)
        self.assertNotIn(key2, json.dumps(listed["devices"]))
        self.click('[data-test="devices-open"]', "close the devices")

    def link_in_page(self, alice):
        """A new device of Alice's set up in the page with her link code."""
        self.drv.quit()
        self.drv = d = AB.browser("de-DE,de", 1280, 860)
        dev = T.Client(self.cluster, "alice2")
        app2 = App(self.cluster, dev, "--scrypt-log2n", T.CLIENT_SCRYPT_LOG2N)
        self.app = app2
        link = alice.spawn("device", "link", "--yes", "--json")
        reader = T.JsonReader(link, self.cluster)
        code = reader.until(lambda ls: any(x.get("event") == "code" for x in ls),
                            "the link code")[-1]["code"]
        d.get(app2.url)
        self.wait(lambda: d.find_element(By.ID, "setup-h").text == "Willkommen bei momedo",
                  "the German setup form")
        self.fill("setup-pass", T.CLIENT_PASS)
        self.fill("setup-repeat", T.CLIENT_PASS)
        self.fill("setup-code", code)
        self.click('[data-test="setup-button"]', "Starten")
        # (an error shown fails at once; before the setup request is answered, nothing is)
        self.wait(lambda: d.find_element(By.ID, "setup-wait").is_displayed() or
                  d.find_element(By.ID, "conv-h").is_displayed() or
                  (d.find_element(By.ID, "setup-error").text and
                   self.fail(d.find_element(By.ID, "setup-error").text)),
                  "the page asking the first device")
        lines = reader.until(lambda ls: any(x.get("event") == "linked" for x in ls),
                             "the CLI links the page's device")
        safety = [x for x in lines if x.get("event") == "request"][0]["safety_code"]
        self.wait(lambda: d.find_element(By.ID, "conv-h").is_displayed(), "the linked messenger")
        self.wait(lambda: self.qa('[data-test="conversation"][data-name="bob"]'),
                  "Alice's contact bob on the new device")
        self.assertEqual(link.wait(timeout=T.WAIT_S), 0)
        link.stdout.close()
        link.stderr.close()
        self.assertEqual(dev.ident()["user_id"], alice.user_id)
        self.assertTrue(safety)
        self.shot("app-linked-de.png")
        self.assertEqual(app2.stop(), 0, app2.stderr())

    def test_manage(self):
        t0 = time.monotonic()
        node = self.cluster.add_node("city")
        alice = T.new_client(self.cluster, "alice", node)
        bob = T.Client(self.cluster, "bob")  # no account yet: the page makes it
        self.app = App(self.cluster, bob, "--scrypt-log2n", T.CLIENT_SCRYPT_LOG2N)
        self.check_abuse()
        self.drv = AB.browser("en-GB,en", 1280, 860)
        self.first_run(node, bob)
        self.check_abuse()
        alice.add_contact(bob, "bob")
        self.group_in_page(alice, bob)
        self.channel_to_page(alice)
        self.safety(bob)
        self.devices(bob)
        self.drv.set_window_size(400, 800)
        if not self.drv.find_element(By.ID, "info-box").is_displayed():
            self.click('[data-test="conv-info"]', "the safety number at 400 px")
        self.wait(lambda: self.qa('[data-test="safety-number"]')[0].is_displayed(),
                  "the safety number at 400 px")
        self.shot("app-400-safety.png")
        self.assertEqual(self.app.stop(), 0, self.app.stderr())
        self.link_in_page(alice)
        print("app manage browser test: %.0f s; screenshots in %s" % (time.monotonic() - t0,
                                                                      self.shots))


if __name__ == "__main__":
    res = unittest.main(exit=False).result
    if res.skipped and not res.failures and not res.errors:
        print("SKIPPED: %s" % res.skipped[0][1], file=sys.stderr)
        sys.exit(77)  # ctest SKIP_RETURN_CODE
    sys.exit(0 if res.wasSuccessful() else 1)
