"""`momedo app`, the messenger window, in a real browser: headless Debian chromium driven
by selenium (python3-selenium, chromium-driver; run with /usr/bin/python3) against a
real momedod, Alice on the `momedo` command line and Bob in `momedo app`. The server
refuses a non-loopback --listen, a request without or with a wrong token (403), a Host
that is not a loopback name (DNS rebinding), a cross-origin or non-JSON POST; the first
load trades ?t= for an HttpOnly SameSite=Strict cookie. In the page: a wrong passphrase
is refused, the right one unlocks; Alice's earlier text is there with an unread count;
her next text appears within seconds (server-sent events); Bob types and presses Enter
and Alice's CLI receives it, with delivery ticks back in the page; Alice's task is
accepted with the page's button and her CLI shows it accepted; her photo is inline and
her location a map link; a file Bob attaches in the page reaches her CLI byte for byte,
as do a location and a task with a due date sent from the composer;
Bob's QR code in the page scans (zbarimg) to his ID card; he adds Carol by her ID in the
page; the page is German when the browser is. Screenshots (desktop, 400 px, German) go to $MOMEDO_SCREENSHOT_DIR, else
$MOMEDO_TEST_TMP/app-screens. Skips (exit 77) only when chromium, chromedriver or
selenium is missing."""
import http.client
import json
import os
import signal
import subprocess
import sys
import struct
import time
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402
import browserlib as B  # noqa: E402
import consolelib as C  # noqa: E402

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
    from selenium.common.exceptions import (ElementClickInterceptedException,
                                            ElementNotInteractableException,
                                            NoSuchElementException,
                                            StaleElementReferenceException)
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

MISSING, browser = B.MISSING, B.browser


def req(port, method, path, headers=None, body=None):
    """(status, headers, body text) of one request; Host as given in headers."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.putrequest(method, path, skip_host=True)
        h = {"Host": "127.0.0.1:%d" % port}
        h.update(headers or {})
        for k, v in h.items():
            c.putheader(k, v)
        data = body.encode() if isinstance(body, str) else body
        if data is not None:
            c.putheader("Content-Length", str(len(data)))
        c.endheaders(data)
        r = c.getresponse()
        return r.status, r.headers, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def png(width, height):
    """A real PNG (RGB, a colour gradient) of the given size."""
    rows = b"".join(b"\0" + b"".join(bytes((x * 4 % 256, y * 5 % 256, 120)) for x in range(width))
                    for y in range(height))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(rows)) +
            chunk(b"IEND", b""))


class App:
    """`momedo app --listen 127.0.0.1:0 --json` for a client: the URL it prints."""

    def __init__(self, cluster, client, *extra):
        self.err_path = os.path.join(cluster.dir, "app-%s.err" % client.name)
        env = dict(client.env)
        env.pop("MOMEDO_PASSPHRASE")  # the page unlocks; nothing else may
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [T.MOMEDO, "app", "--listen", "127.0.0.1:0", "--json", "--home", client.home] +
                list(extra),
                stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        cluster.procs.append(self.proc)
        line = self.proc.stdout.readline()
        self.proc.stdout.close()  # --json prints this one line only
        if not line:
            raise T.TestFailure("momedo app printed nothing: %s" % self.stderr())
        out = json.loads(line)
        self.url, self.port = out["url"], out["port"]
        self.token = self.url.rsplit("t=", 1)[1]

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


@unittest.skipIf(MISSING, "browser test skipped: missing %s (apt-get install chromium "
                 "chromium-driver python3-selenium; scripts/deps.sh does)" % ", ".join(MISSING))
class AppBrowserTest(T.ClusterTest, unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.drv = None
        self.shots = os.environ.get("MOMEDO_SCREENSHOT_DIR") or os.path.join(T.TMP, "app-screens")
        os.makedirs(self.shots, exist_ok=True)

    def tearDown(self):
        if self.drv:
            self.drv.quit()
        super().tearDown()

    def wait(self, cond, what, timeout=T.WAIT_S):
        """Until cond() is true. An element not there yet, replaced, still hidden or
        covered (a button the page shows once the unlock answered) is tried again."""
        try:
            return WebDriverWait(self.drv, timeout, poll_frequency=0.2, ignored_exceptions=(
                NoSuchElementException, StaleElementReferenceException,
                ElementNotInteractableException, ElementClickInterceptedException)).until(
                    lambda d: cond())
        except Exception as e:
            raise T.TestFailure("timed out waiting for %s (%s)\napp: %s\n%s" % (
                what, e, self.app.stderr(), self.cluster.logs())) from None

    def click(self, sel, what):
        """Click the first match; the page rebuilds its lists on every change, so an
        element found a moment ago may be gone (stale): find it again."""
        self.wait(lambda: self.qa(sel) and (self.qa(sel)[0].click() or True), what)

    def qa(self, sel):
        return self.drv.find_elements(By.CSS_SELECTOR, sel)

    def messages(self):
        return [(m.get_attribute("data-kind"), m.get_attribute("data-state"),
                 m.find_element(By.CSS_SELECTOR, ".body").text)
                for m in self.qa('[data-test="message"]')]

    def check_server(self, bob):
        app, port, tok = self.app, self.app.port, self.app.token
        # Only loopback may be listened on.
        p = bob.run("app", "--listen", "0.0.0.0:0", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("loopback only", p.stderr)
        for path in ("/", "/api/state", "/app.js", "/api/events"):
            self.assertEqual(req(port, "GET", path)[0], 403, path)  # no token
        self.assertEqual(req(port, "GET", "/api/state", {"X-Momedo-Token": "0" * 32})[0], 403)
        self.assertEqual(req(port, "GET", "/api/state", {"Cookie": "momedo_app_%d=%s" % (
            port, "f" * 32)})[0], 403)
        self.assertEqual(req(port, "GET", "/?t=" + "0" * 32)[0], 403)
        # DNS rebinding: the right token under a name that is not loopback.
        st, _, body = req(port, "GET", "/api/state", {"Host": "evil.example:%d" % port,
                                                       "X-Momedo-Token": tok})
        self.assertEqual(st, 403)
        self.assertIn("Host", body)
        # A token passed on is no use from another origin, nor as a form post.
        unlock = json.dumps({"passphrase": T.CLIENT_PASS})
        st, _, _ = req(port, "POST", "/api/unlock", {
            "X-Momedo-Token": tok, "Origin": "http://evil.example", "Content-Type":
            "application/json"}, unlock)
        self.assertEqual(st, 403)
        st, _, _ = req(port, "POST", "/api/unlock", {"X-Momedo-Token": tok, "Content-Type":
                                                      "text/plain"}, unlock)
        self.assertEqual(st, 415)
        st, _, body = req(port, "GET", "/api/state", {"X-Momedo-Token": tok})
        self.assertEqual((st, json.loads(body)["unlocked"]), (200, False))
        # The first load sets the cookie and drops ?t= from the address.
        st, h, _ = req(port, "GET", "/?t=" + tok)
        self.assertEqual(st, 303)
        self.assertEqual(h["Location"], "/")
        cookie = h["Set-Cookie"]
        self.assertIn("momedo_app_%d=%s" % (port, tok), cookie)
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Strict", cookie)
        st, h, body = req(port, "GET", "/", {"Cookie": cookie.split(";")[0],
                                              "Accept-Language": "de-DE,de;q=0.9"})
        self.assertEqual(st, 200)
        self.assertIn('<html lang="de">', body)
        self.assertIn("script-src 'self'", h["Content-Security-Policy"])
        self.assertEqual(req(port, "GET", "/api/conversations", {"X-Momedo-Token": tok})[0], 423)
        return app

    def test_app(self):
        t0 = time.monotonic()
        node = self.cluster.add_node("city")
        alice = T.new_client(self.cluster, "alice", node)
        bob = T.new_client(self.cluster, "bob", node)
        alice.add_contact(bob, "bob")
        bob.add_contact(alice, "alice")
        alice.run("send", "bob", "hello before the app")
        self.app = App(self.cluster, bob)
        self.check_server(bob)

        self.drv = d = browser("en-GB,en", 1280, 860)
        d.get(self.app.url)
        self.wait(lambda: d.find_element(By.ID, "pass").is_displayed(), "the unlock form")
        self.assertEqual(d.execute_script("return location.search"), "")  # no token in the URL
        d.find_element(By.ID, "pass").send_keys("not the passphrase", Keys.ENTER)
        self.wait(lambda: "Wrong passphrase" in d.find_element(By.ID, "unlock-error").text,
                  "the wrong passphrase refused")
        d.find_element(By.ID, "pass").send_keys(T.CLIENT_PASS, Keys.ENTER)
        conv = '[data-test="conversation"][data-name="alice"]'
        self.wait(lambda: self.qa(conv + ' [data-test="unread"]') and
                  self.qa(conv + ' [data-test="unread"]')[0].text == "1",
                  "alice with 1 unread message")
        self.click(conv, "alice's conversation")
        self.wait(lambda: ("text", "received", "hello before the app") in self.messages(),
                  "the text sent before the app started")
        self.wait(lambda: not self.qa(conv + ' [data-test="unread"]'), "the unread count cleared")

        # Live: Alice's next text arrives without a reload (server-sent events).
        sent_at = time.monotonic()
        alice.run("send", "bob", "live hello")
        self.wait(lambda: ("text", "received", "live hello") in self.messages(),
                  "Alice's live text", timeout=10)
        live_s = time.monotonic() - sent_at

        # Bob answers with Enter; Alice's CLI receives it, the page shows it delivered.
        box = d.find_element(By.CSS_SELECTOR, '[data-test="composer"]')
        box.send_keys("answer from the app", Keys.ENTER)
        self.wait(lambda: any(m[2] == "answer from the app" and m[1] in ("sent", "delivered")
                              for m in self.messages()), "Bob's answer in his page")
        self.assertEqual(box.get_attribute("value"), "")
        got = []
        self.cluster.wait_for(lambda: got.extend(alice.texts()) or "answer from the app" in got,
                              "Alice's CLI receives Bob's answer")
        self.wait(lambda: any(m[2] == "answer from the app" and m[1] == "delivered"
                              for m in self.messages()), "the delivery tick")

        # A task from Alice, accepted in the page: her CLI shows it accepted.
        alice.run("send", "bob", "--task", "Replace the lamp in room 12")
        self.click('[data-test="task-accept"]', "the task with its Accept button")
        self.wait(lambda: self.qa('[data-test="task-done"]'), "the task accepted in the page")

        def alice_task_state():
            alice.sync()
            tasks = [m for m in alice.history("bob") if m.get("body", {}).get("kind") == "task"]
            return tasks and tasks[-1].get("task_state")
        self.cluster.wait_for(lambda: alice_task_state() == "accepted",
                              "Alice's CLI shows the task accepted")
        # A photo from Alice's CLI is shown inline, served from Bob's vault by the app;
        # a location comes with its OpenStreetMap link.
        photo = os.path.join(self.cluster.dir, "lampe.png")
        with open(photo, "wb") as f:
            f.write(png(64, 48))
        alice.run("send", "bob", "--file", photo)
        alice.run("send", "bob", "--location", "50.9375,6.9603")
        self.wait(lambda: d.execute_script(
            "const i = document.querySelector('[data-test=photo] img');"
            "return i && i.complete ? i.naturalWidth : 0") == 64, "the photo inline")
        self.wait(lambda: any("mlat=50.937500&mlon=6.960300" in (a.get_attribute("href") or "")
                              for a in self.qa('[data-kind="location"] a')), "the location link")
        href = self.qa('[data-test="photo"]')[0].get_attribute("href")
        st, h, _ = req(self.app.port, "GET", href.split(str(self.app.port), 1)[1],
                       {"X-Momedo-Token": self.app.token})
        self.assertEqual((st, h["Content-Type"]), (200, "image/png"))
        self.assertIn('inline; filename="lampe.png"', h["Content-Disposition"])
        self.assertEqual(req(self.app.port, "GET", href.split(str(self.app.port), 1)[1])[0], 403)
        # Bob attaches a file in the page; Alice's CLI saves the same bytes.
        doc = os.path.join(self.cluster.dir, "plan.pdf")
        blob = os.urandom(150000)
        with open(doc, "wb") as f:
            f.write(blob)
        d.find_element(By.CSS_SELECTOR, '[data-test="attach"]').send_keys(doc)
        self.wait(lambda: any(m[0] == "file" and "plan.pdf" in m[2] for m in self.messages()),
                  "the file in Bob's page")
        save = os.path.join(self.cluster.dir, "alice-files")
        os.makedirs(save)
        got = []
        self.cluster.wait_for(lambda: got.extend(alice.sync("--save-dir", save)) or
                              any(m["kind"] == "file" for m in got), "Alice's CLI gets the file")
        fm = [m["file"] for m in got if m["kind"] == "file"][0]
        self.assertEqual((fm["name"], fm["size"], fm["mime"]),
                         ("plan.pdf", len(blob), "application/pdf"))
        path = fm["path"]
        self.assertTrue(path.endswith("plan.pdf"), path)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), blob)

        # A location and a task from the composer's "Location or task" (with a due date).
        d.find_element(By.CSS_SELECTOR, "#more summary").click()
        d.find_element(By.CSS_SELECTOR, '[data-test="location"]').send_keys("52.52, 13.405")
        self.click('[data-test="send-location"]', "send location")
        self.wait(lambda: d.find_element(By.ID, "more").get_attribute("open") is None,
                  "the location sent (the form closes)")
        d.find_element(By.CSS_SELECTOR, "#more summary").click()
        d.find_element(By.CSS_SELECTOR, '[data-test="task-title"]').send_keys("Sign the repair")
        d.execute_script("document.getElementById('task-due').value = '2030-05-17'")
        self.click('[data-test="send-task"]', "send task")
        got = []
        self.cluster.wait_for(lambda: got.extend(alice.sync()) or
                              any(m["kind"] == "task" for m in got), "Alice's CLI gets the task")
        loc = [m["location"] for m in got if m["kind"] == "location"][0]
        self.assertEqual((float(loc["lat"]), float(loc["lon"])), (52.52, 13.405))
        task = [m for m in got if m["kind"] == "task"][0]
        self.assertEqual(task["text"], "Sign the repair")
        self.assertIn("2030-05-17", json.dumps(task))

        # Bob's own QR code (his ID card) scans; he adds Carol by her ID in the page.
        self.click('[data-test="my-qr"]', "the my-qr button")
        self.wait(lambda: self.qa("#qr svg path"), "the QR code")
        qr_png = os.path.join(self.cluster.dir, "bob-qr.png")
        d.find_element(By.ID, "qr").screenshot(qr_png)
        self.assertEqual(C.zbar_decode(qr_png), [bob.ident()["qr_payload"]])
        self.assertEqual(d.find_element(By.CSS_SELECTOR, '[data-test="my-id"]').text.split()[0],
                         bob.user_id)
        carol = T.new_client(self.cluster, "carol", node)
        d.find_element(By.CSS_SELECTOR, '[data-test="contact-id"]').send_keys(carol.user_id)
        d.find_element(By.ID, "contact-name").send_keys("carol")
        self.click('[data-test="add-contact"]', "the add-contact button")
        self.wait(lambda: self.qa('[data-test="conversation"][data-name="carol"]'),
                  "carol in the conversation list")
        self.assertIn(carol.user_id, bob.run("contacts", "--json").stdout)
        d.save_screenshot(os.path.join(self.shots, "app-qr.png"))
        self.click('[data-test="my-qr"]', "the my-qr button again")
        self.wait(lambda: not d.find_element(By.ID, "qr-box").is_displayed(), "the QR code closed")
        self.click(conv, "alice's conversation again")
        d.save_screenshot(os.path.join(self.shots, "app-desktop.png"))
        # A phone-sized window: one pane at a time.
        d.set_window_size(400, 800)
        self.wait(lambda: d.find_element(By.ID, "back").is_displayed(), "the back button at 400 px")
        d.save_screenshot(os.path.join(self.shots, "app-400-conversation.png"))
        self.click("#back", "the back button")
        self.wait(lambda: self.qa(conv)[0].is_displayed(), "the list at 400 px")
        d.save_screenshot(os.path.join(self.shots, "app-400-list.png"))
        d.quit()

        # German when the browser is German (the home stays unlocked in the process).
        self.drv = d = browser("de-DE,de", 1280, 860)
        d.get(self.app.url)
        self.wait(lambda: d.find_element(By.ID, "conv-h").text == "Unterhaltungen",
                  "the German conversation list")
        self.click(conv, "alice's conversation in German")
        self.wait(lambda: "Nachricht schreiben" in d.find_element(
            By.CSS_SELECTOR, '[data-test="composer"]').get_attribute("placeholder"),
            "the German composer")
        self.wait(lambda: self.qa('[data-test="task-done"]')[0].text == "Erledigt",
                  "the German task button")
        d.save_screenshot(os.path.join(self.shots, "app-de.png"))
        self.assertEqual(self.app.stop(), 0, self.app.stderr())
        print("app browser test: live text shown %.1f s after `send` returned; whole test "
              "%.0f s; screenshots in %s" % (live_s, time.monotonic() - t0, self.shots))


if __name__ == "__main__":
    res = unittest.main(exit=False).result
    if res.skipped and not res.failures and not res.errors:
        print("SKIPPED: %s" % res.skipped[0][1], file=sys.stderr)
        sys.exit(77)  # ctest SKIP_RETURN_CODE
    sys.exit(0 if res.wasSuccessful() else 1)
