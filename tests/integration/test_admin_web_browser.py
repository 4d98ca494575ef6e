"""The web console in a real browser: headless Debian chromium driven by selenium
(python3-selenium, chromium-driver; run with /usr/bin/python3, which has them) against
`momedo-admin web` and real momedods. German by Accept-Language, English by the
language switch; a neighbor added in the page comes up (a real TLS link between two
nodes); an invite made in the page is shown as a QR code that zbarimg decodes from a
screenshot and that registers a real `momedo` client, which the page then lists; the
printable page shows the same code; a wrong token gets 403; a page on another origin
that POSTs to the console (a form and a fetch, even knowing the token) changes nothing.
Screenshots (docs/console-de.png, docs/console-en.png when MOMEDO_SCREENSHOT_DIR is
set, else in the test's directory). Skips (exit 77, ctest's SKIP_RETURN_CODE, with the
reason) only when chromium, chromedriver or selenium is missing."""
import http.server
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402
import browserlib as B  # noqa: E402
import consolelib as C  # noqa: E402

try:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
    from selenium.common.exceptions import (NoSuchElementException,
                                            StaleElementReferenceException)
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

MISSING, browser = B.MISSING, B.browser


class EvilSite:
    """A page on another origin that tries to change the console: a form POST (no
    custom header possible) and a fetch with the header (needs a CORS preflight the
    console never grants). It knows the token: the worst case."""

    def __init__(self, con):
        page = ("<!doctype html><html><body><form id=f method=POST enctype=text/plain "
                "action='%s/api/neighbors/add?t=%s'><input name='{\"name\":\"evil\",\"x\":\"' "
                "value='\"}'></form><script>"
                "fetch('%s/api/neighbors/add',{method:'POST',headers:{'X-Momedo-Token':'%s',"
                "'Content-Type':'application/json'},body:JSON.stringify({name:'evil2',"
                "address:'127.0.0.1:1',fingerprint:'x'})}).then(r=>document.title='fetch '+"
                "r.status,e=>document.title='fetch blocked');"
                "</script></body></html>") % (con.base, con.token, con.base, con.token)
        body = page.encode()

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.srv = http.server.HTTPServer(("127.0.0.2", 0), H)
        self.url = "http://127.0.0.2:%d/" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


@unittest.skipIf(MISSING, "browser test skipped: missing %s (apt-get install chromium "
                 "chromium-driver python3-selenium; scripts/deps.sh does)" % ", ".join(MISSING))
class WebBrowserTest(T.ClusterTest, unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.alpha = self.cluster.add_node("alpha")
        self.beta = self.cluster.add_node("beta")
        self.beta.admin("neighbor", "add", "alpha", self.alpha.address(), self.alpha.fingerprint())
        self.con = C.Console(self.cluster, self.alpha)
        self.shots = os.environ.get("MOMEDO_SCREENSHOT_DIR") or self.cluster.dir
        self.drv = None

    def tearDown(self):
        if self.drv:
            self.drv.quit()
        super().tearDown()

    def wait(self, cond, what, timeout=T.WAIT_S):
        # The page rebuilds its tables on every refresh: an element found a moment ago
        # may be gone when its text is read (stale); ask again, as for one not there yet.
        try:
            return WebDriverWait(self.drv, timeout, poll_frequency=0.2, ignored_exceptions=(
                NoSuchElementException, StaleElementReferenceException)).until(lambda d: cond())
        except Exception as e:
            raise T.TestFailure("timed out waiting for %s (%s)\n%s" % (
                what, e, self.cluster.logs())) from None

    def q(self, sel):
        return self.drv.find_element(By.CSS_SELECTOR, sel)

    def text(self, sel):
        return self.q(sel).text

    def test_console(self):
        self.drv = browser("de-DE,de")
        d = self.drv
        # German by Accept-Language, without ?lang=.
        d.get(self.con.url)
        self.wait(lambda: self.text("[data-test=health]") == "läuft", "the page to load (de)")
        self.assertEqual(self.text("h1 [data-i18n=title]"), "momedo-Knoten")
        self.assertEqual(self.text("[data-test=node-name]"), "alpha")
        self.assertEqual(self.text("[data-test=fingerprint]"), self.alpha.fingerprint())
        # disk use is the node directory's size (a fresh store's tables are still 0 B)
        self.assertRegex(self.text("[data-test=disk]"), r"^[0-9][0-9,.]* (KB|MB|GB)$")
        # A neighbor added in the page comes up.
        self.q("[data-test=nb-name]").send_keys("beta")
        self.q("[data-test=nb-address]").send_keys(self.beta.address())
        self.q("[data-test=nb-fingerprint]").send_keys(self.beta.fingerprint())
        self.q("[data-test=nb-partner]").click()
        self.q("[data-test=nb-add]").click()
        self.wait(lambda: self.text("[data-test=nb-row][data-name=beta] [data-test=nb-state]")
                  == "verbunden", "beta up in the page")
        self.assertEqual(self.alpha.neighbor_state("beta"), "up")
        self.assertEqual(self.beta.neighbor_state("alpha"), "up")
        self.assertTrue(self.alpha.admin("neighbor", "list")["neighbors"][0]["partner"])
        # An invite made in the page: its QR code, from a screenshot, registers a client.
        uses = self.q("[data-test=inv-uses]")
        uses.clear()
        uses.send_keys("3")
        Select(self.q("[data-test=inv-expires]")).select_by_value("86400")
        self.q("[data-test=inv-create]").click()
        self.wait(lambda: self.q("[data-test=new-invite]").is_displayed() and d.execute_script(
            "return document.querySelector('[data-test=invite-qr]').naturalWidth") > 0,
            "the invite's QR code")
        code = self.text("[data-test=invite-code]")
        self.assertTrue(code.startswith("momedo2:"), code)
        png = os.path.join(self.cluster.dir, "qr.png")
        self.q("[data-test=invite-qr]").screenshot(png)
        self.assertEqual(C.zbar_decode(png), [code])
        pupil = T.Client(self.cluster, "pupil").init()
        self.assertTrue(pupil.j("join", C.zbar_decode(png)[0])[0]["ok"])
        self.wait(lambda: pupil.user_id in [e.get_attribute("data-user") for e in
                                            d.find_elements(By.CSS_SELECTOR, "[data-test=pt-row]")],
                  "the new participant in the page")
        self.wait(lambda: [e.text for e in d.find_elements(
            By.CSS_SELECTOR, "[data-test=inv-row] td:nth-child(2)")] == ["2"], "2 uses left")
        d.execute_script("window.scrollTo(0, 0)")
        d.save_screenshot(os.path.join(self.shots, "console-de.png"))
        # English by the switch; it stays English after a reload.
        Select(self.q("[data-test=lang]")).select_by_value("en")
        self.wait(lambda: self.text("[data-test=health]") == "running", "English")
        self.assertEqual(self.text("[data-test=nb-row][data-name=beta] [data-test=nb-state]"), "up")
        d.refresh()
        self.wait(lambda: self.text("h1 [data-i18n=title]") == "momedo node", "English kept")
        self.wait(lambda: self.text("[data-test=health]") == "running", "reloaded")
        d.save_screenshot(os.path.join(self.shots, "console-en.png"))
        # The printable page shows the same code and a QR code that scans.
        inv_id = self.alpha.admin("invites")["invites"][0]["id"]
        d.get("%s/print?id=%s&lang=en&t=%s" % (self.con.base, inv_id, self.con.token))
        self.wait(lambda: self.text("[data-test=print-code]") == code, "the printable page")
        self.wait(lambda: d.execute_script(
            "return document.querySelector('[data-test=print-qr]').naturalWidth") > 0, "print QR")
        self.q("[data-test=print-qr]").screenshot(png)
        self.assertEqual(C.zbar_decode(png), [code])
        d.save_screenshot(os.path.join(self.shots, "console-print.png"))
        # Removing the device in the page.
        d.get(self.con.url)
        self.wait(lambda: d.find_elements(By.CSS_SELECTOR, "[data-test=pt-remove]"), "device row")
        self.q("[data-test=pt-remove]").click()
        d.switch_to.alert.accept()
        self.wait(lambda: not d.find_elements(By.CSS_SELECTOR, "[data-test=pt-row]"),
                  "the device removed")
        self.assertEqual(self.alpha.admin("participants")["participants"], [])
        # A wrong token: 403 with the reason, and no data.
        bad = self.con.url[:-1] + ("0" if self.con.url[-1] != "0" else "1")
        d.get(bad)
        self.assertIn("wrong token", d.page_source)
        self.assertNotIn(self.alpha.fingerprint(), d.page_source)
        # Another origin cannot change anything, even with the token.
        evil = EvilSite(self.con)
        try:
            d.get(evil.url)
            self.wait(lambda: d.title == "fetch blocked", "the cross-origin fetch to fail")
            d.execute_script("document.getElementById('f').submit()")
            self.wait(lambda: "cross-origin" in d.page_source or "token" in d.page_source,
                      "the form POST answered with 403")
        finally:
            evil.close()
        names = [n["name"] for n in self.alpha.admin("neighbor", "list")["neighbors"]]
        self.assertEqual(names, ["beta"])


if __name__ == "__main__":
    res = unittest.main(exit=False).result
    if res.skipped and not res.failures and not res.errors:
        print("SKIPPED: %s" % res.skipped[0][1], file=sys.stderr)
        sys.exit(77)  # ctest SKIP_RETURN_CODE
    sys.exit(0 if res.wasSuccessful() else 1)
