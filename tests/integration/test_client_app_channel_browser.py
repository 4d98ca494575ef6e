"""tests/integration/test_client_app_channel_browser.py — passphrase channels in `momedo app`
(issue 13: they were command-line only), in headless Debian chromium (German) against a
real momedod, Ann on the `momedo` command line and Bea in the app:

- Bea joins "Krisenstab" in the page with a wrong, short passphrase: the page warns that
  it is short, the field is empty afterwards, the channel is listed and stays empty while
  Ann's post sits at the node; she leaves it from the channel's box (a second click
  confirms) and it is gone from the list and from `momedo groups`;
- with the right passphrase Ann's earlier post shows under Ann's display name; Bea's
  answer typed in the page (Enter) reaches Ann's CLI as from "Bea"; Ann's next post
  appears live;
- while a join derives its keys (scrypt, 64 MiB), the page's other requests are answered
  and a second join is refused (429 E_BUSY), not queued behind it;
- direct requests: empty, oversized (129-byte name, 1,025-byte and 1 MB passphrase,
  65-byte display name), control characters, a non-string passphrase: 400 with the
  reason and nothing stored; a second join of the same channel 409; no token 403, another
  origin 403, locked 423; leave with a malformed key 400, an unknown one 404. No answer
  and nothing on the app's stderr carries the passphrase.
Skips (exit 77) only when chromium, chromedriver or python3-selenium is missing."""
import json
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402
import test_client_app_browser as AB  # noqa: E402

if not AB.MISSING:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

SECRET = "orbit velvet canyon seventeen lantern"
WRONG = "Krise2026"
CONV = '[data-test="conversation"][data-name="channel:Krisenstab"]'


@unittest.skipIf(AB.MISSING, "browser test skipped: missing %s" % ", ".join(AB.MISSING))
class AppChannelBrowserTest(AB.AppBrowserTest):
    test_app = None  # the base class's whole-app test is not run again here

    def post(self, path, body, token=True, **extra):
        h = {"Content-Type": "application/json"}
        if token:
            h["X-Momedo-Token"] = self.app.token
        h.update(extra)
        st, _, text = AB.req(self.app.port, "POST", path, h,
                             body if isinstance(body, str) else json.dumps(body))
        self.answers.append(text)
        return st, json.loads(text) if text.startswith("{") else text

    def get(self, path):
        st, _, text = AB.req(self.app.port, "GET", path, {"X-Momedo-Token": self.app.token})
        self.answers.append(text)
        return st, json.loads(text)

    def channels(self, c):
        return [x["name"] for x in c.j("groups")[0]["channels"]]

    def join_in_page(self, passphrase, display):
        d = self.drv
        for sel, v in (("channel-name", "Krisenstab"), ("channel-pass", passphrase),
                       ("channel-display", display)):
            e = d.find_element(By.CSS_SELECTOR, '[data-test="%s"]' % sel)
            e.clear()
            e.send_keys(v)
        d.find_element(By.CSS_SELECTOR, '[data-test="channel-pass"]').send_keys(Keys.ENTER)
        msg = d.find_element(By.CSS_SELECTOR, '[data-test="channel-msg"]')
        self.wait(lambda: "beigetreten" in msg.text, "the join answered")
        self.assertEqual(d.find_element(By.CSS_SELECTOR, '[data-test="channel-pass"]')
                         .get_attribute("value"), "")  # not kept in the page
        self.wait(lambda: self.qa(CONV), "the channel in the list")
        return msg.text

    def overlap(self, name):
        """Join `name` directly in a thread; meanwhile a second join and the conversation
        list. True when both answered before the first join did (then the second must be
        429 E_BUSY); the first join's answer is checked and the channel left again."""
        first = {}

        def join():
            first["st"], first["out"] = self.post("/api/channel-join",
                                                  {"name": name, "passphrase": SECRET})
            first["end"] = time.monotonic()
        th = threading.Thread(target=join)
        th.start()
        time.sleep(0.03)
        st2, out2 = self.post("/api/channel-join", {"name": name + "-2", "passphrase": SECRET})
        st3, _ = self.get("/api/conversations")
        t3 = time.monotonic()
        th.join(60)
        self.assertEqual(first["st"], 200, first["out"])
        self.assertEqual(st3, 200)
        self.assertEqual(self.post("/api/channel-leave", {"key": first["out"]["key"]})[0], 200)
        if t3 >= first["end"]:
            if st2 == 200:
                self.post("/api/channel-leave", {"key": out2["key"]})
            return False
        self.assertEqual((st2, out2["status"]), (429, "E_BUSY"))
        return True

    def test_channel_in_page(self):
        cl = self.cluster
        self.answers = []
        node = cl.add_node("city")
        ann = T.new_client(cl, "ann", node)
        bea = T.new_client(cl, "bea", node)
        ann.env["MOMEDO_CHANNEL_PASSPHRASE"] = SECRET
        ann.j("channel", "join", "Krisenstab", "--name", "Ann")
        ann.run("send", "channel:Krisenstab", "Lage um 9 im Rathaus")
        self.app = AB.App(cl, bea)
        join = {"name": "Krisenstab", "passphrase": SECRET}
        self.assertEqual(self.post("/api/channel-join", join)[0], 423)  # locked
        self.assertEqual(self.post("/api/channel-join", join, token=False)[0], 403)
        self.assertEqual(self.post("/api/channel-join", join, Origin="http://evil.example")[0],
                         403)

        d = self.drv = AB.browser("de-DE,de", 1280, 1100)
        d.get(self.app.url)
        self.wait(lambda: d.find_element(By.ID, "pass").is_displayed(), "the unlock form")
        d.find_element(By.ID, "pass").send_keys(T.CLIENT_PASS, Keys.ENTER)
        self.wait(lambda: self.qa('[data-test="channel-form"]')[0].is_displayed(), "the form")
        self.assertIn("Passphrase-Kanal beitreten", d.find_element(By.ID, "channel-form").text)

        # A wrong (and short) passphrase opens a different, empty channel.
        text = self.join_in_page(WRONG, "Bea")
        self.assertIn("kurz", text)
        time.sleep(3)  # the live link subscribes and fetches within a second
        self.assertEqual(self.qa('[data-test="message"]'), [])
        self.assertEqual(self.channels(bea), ["Krisenstab"])
        self.click('[data-test="conv-info"]', "the channel's box")
        self.wait(lambda: self.qa('[data-test="channel-display-name"]') and
                  self.qa('[data-test="channel-display-name"]')[0].text == "Bea", "Bea's name")
        self.assertIn("niemand kann entfernt werden", d.find_element(By.ID, "info-box").text)
        self.click('[data-test="channel-leave"]', "leave")
        self.click('[data-test="channel-leave-confirm"]', "leave (confirmed)")
        self.wait(lambda: not self.qa(CONV), "the channel gone from the list")
        self.assertIn("verlassen", d.find_element(By.CSS_SELECTOR, '[data-test="channel-msg"]').text)
        self.assertEqual(self.channels(bea), [])

        # The right passphrase: Ann's post, Bea's answer to Ann's CLI, Ann's next post live.
        text = self.join_in_page(SECRET, "Bea")
        self.assertNotIn("kurz", text)
        self.wait(lambda: ("text", "received", "Lage um 9 im Rathaus") in self.messages(),
                  "Ann's post in the page")
        self.assertIn("Ann", d.find_element(By.CSS_SELECTOR, '[data-test="message"] .from').text)
        self.assertFalse(d.find_element(By.CSS_SELECTOR, ".attach-btn").is_displayed())
        box = d.find_element(By.CSS_SELECTOR, '[data-test="composer"]')
        box.send_keys("Bin unterwegs", Keys.ENTER)
        self.wait(lambda: any(m[2] == "Bin unterwegs" for m in self.messages()), "Bea's post")
        seen = []
        cl.wait_for(lambda: seen.extend((m.get("sender"), m.get("text"))
                                        for m in ann.sync_lines()[0]
                                        if m.get("group") == "channel:Krisenstab") or
                    ("Bea", "Bin unterwegs") in seen, "Ann's CLI reads Bea's post")
        ann.run("send", "channel:Krisenstab", "Danke, bis gleich")
        self.wait(lambda: ("text", "received", "Danke, bis gleich") in self.messages(),
                  "Ann's next post, live")
        d.save_screenshot(os.path.join(self.shots, "app-channel-de.png"))

        # Direct requests: bounds, then the same channel again.
        before = self.channels(bea)
        for body in ({"name": "", "passphrase": SECRET},
                     {"name": "Krisenstab2", "passphrase": ""},
                     {"name": "Krisenstab2"},
                     {"name": "Krisenstab2", "passphrase": 12345},
                     {"name": "K" * 129, "passphrase": SECRET},
                     {"name": "Krisen\nstab", "passphrase": SECRET},
                     {"name": "Krisenstab2", "passphrase": "p" * 1025},
                     {"name": "Krisenstab2", "passphrase": "p" * (1 << 20)},
                     {"name": "Krisenstab2", "passphrase": SECRET, "display_name": "B" * 65},
                     {"name": "Krisenstab2", "passphrase": SECRET, "display_name": ""},
                     {"name": "Krisenstab2", "passphrase": SECRET, "display_name": 7}):
            st, out = self.post("/api/channel-join", body)
            self.assertEqual((st, out["status"]), (400, "E_INVAL"), str(body)[:80])
            self.assertTrue(out["error"])
        self.assertEqual(self.channels(bea), before)
        st, out = self.post("/api/channel-join", join)
        self.assertEqual((st, out["status"]), (409, "E_EXISTS"))
        st, out = self.post("/api/channel-leave", {"key": "zz" * 32})
        self.assertEqual((st, out["status"]), (400, "E_INVAL"))
        st, out = self.post("/api/channel-leave", {"key": "ab" * 32})
        self.assertEqual((st, out["status"]), (404, "E_NOTFOUND"))
        self.assertEqual(self.post("/api/channel-leave", {"key": "ab" * 32}, token=False)[0], 403)
        self.assertEqual(self.channels(bea), before)

        # The scrypt runs outside the app's lock: other requests go on meanwhile.
        self.assertTrue(any(self.overlap("Probe%d" % i) for i in range(3)),
                        "no request was answered while a join derived its keys")
        self.assertEqual(self.channels(bea), before)

        for text in self.answers + [self.app.stderr()]:
            self.assertNotIn(SECRET, text)
            self.assertNotIn(WRONG, text)


if __name__ == "__main__":
    unittest.main()
