"""tests/integration/test_client_app_part4_browser.py — issue 13 part 4 in `momedo app`,
in headless Debian chromium against a real momedod and real `momedo` clients:

- a photo Alice sends from the CLI with its place and a caption is one message bubble in
  Bob's page: the picture inline, the coordinates with their OpenStreetMap link, the
  caption;
- an approval task from Alice gets Approve / Decline with a comment field in Bob's page;
  Bob approves with a comment, the page lists his decision, and Alice's CLI shows who
  decided, what, when and the comment; the buttons are gone once he decided;
- the composer attaches the location field's place to the next photo ("Attach this
  place to the next photo or file"): Alice's CLI gets one file message with that place.
Screenshots go to $MOMEDO_SCREENSHOT_DIR (default $MOMEDO_TEST_TMP/app-screens). Skips
(exit 77) only when chromium, chromedriver or python3-selenium is missing."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402
import test_client_app_browser as AB  # noqa: E402

if not AB.MISSING:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys


@unittest.skipIf(AB.MISSING, "browser test skipped: missing %s" % ", ".join(AB.MISSING))
class AppPart4BrowserTest(AB.AppBrowserTest):

    test_app = None  # the base class's whole-app test is not run again here

    def bubble(self, id_):
        found = self.qa('[data-test="message"][data-id="%s"]' % id_)
        return found[0] if found else None

    def test_place_approval_and_composer(self):
        node = self.cluster.add_node("city")
        alice = T.new_client(self.cluster, "alice", node)
        bob = T.new_client(self.cluster, "bob", node)
        alice.add_contact(bob, "bob")
        bob.add_contact(alice, "alice")
        photo = os.path.join(self.cluster.dir, "lampe.png")
        with open(photo, "wb") as f:
            f.write(AB.png(64, 48))
        pid = alice.j("send", "bob", "--file", photo, "--location", "50.9375,6.9603,12",
                      "--text", "Lampe im Flur 2 defekt")[0]["id"]
        tid = alice.j("send", "bob", "--task", "Reparatur Dach freigeben", "--approval")[0]["id"]
        self.app = AB.App(self.cluster, bob)
        self.drv = d = AB.browser("en-GB,en", 1280, 900)
        d.get(self.app.url)
        self.wait(lambda: d.find_element(By.ID, "pass").is_displayed(), "the unlock form")
        d.find_element(By.ID, "pass").send_keys(T.CLIENT_PASS, Keys.ENTER)
        self.click('[data-test="conversation"][data-name="alice"]', "alice's conversation")
        # The photo, its place and its caption: one bubble.
        self.wait(lambda: self.bubble(pid) is not None and d.execute_script(
            "const i = document.querySelector('[data-id=\"%s\"] [data-test=photo] img');"
            "return i && i.complete ? i.naturalWidth : 0" % pid) == 64, "the photo inline")
        b = self.bubble(pid)
        self.assertEqual(b.get_attribute("data-kind"), "file")
        link = b.find_element(By.CSS_SELECTOR, '[data-test="file-location"] a')
        self.assertIn("mlat=50.937500&mlon=6.960300", link.get_attribute("href"))
        self.assertIn("50.93750, 6.96030", link.text)
        self.assertEqual(b.find_element(By.CSS_SELECTOR, '[data-test="caption"]').text,
                         "Lampe im Flur 2 defekt")
        self.assertEqual(len(self.qa('[data-test="message"][data-kind="location"]')), 0)
        d.save_screenshot(os.path.join(self.shots, "part4-photo-place.png"))
        # The approval task: Approve with a comment.
        self.wait(lambda: self.bubble(tid) and self.bubble(tid).find_elements(
            By.CSS_SELECTOR, '[data-test="task-approve"]'), "Approve on the task")
        self.assertTrue(self.bubble(tid).find_elements(By.CSS_SELECTOR, '[data-test="task-decline"]'))
        self.bubble(tid).find_element(By.CSS_SELECTOR, '[data-test="task-comment"]').send_keys(
            "Angebot 2 nehmen")
        # A message arriving while Bob types refreshes the list: his comment, the focus
        # and the photo's bubble stay (the page patches the list, it does not rebuild it).
        alice.run("send", "bob", "Noch eine Frage")
        self.wait(lambda: "Noch eine Frage" in [m[2] for m in self.messages()], "Alice's next text")
        comment = self.bubble(tid).find_element(By.CSS_SELECTOR, '[data-test="task-comment"]')
        self.assertEqual(comment.get_attribute("value"), "Angebot 2 nehmen")
        self.assertEqual(d.switch_to.active_element, comment)
        self.assertEqual(b.get_attribute("data-kind"), "file")  # not stale: the same element
        self.bubble(tid).find_element(By.CSS_SELECTOR, '[data-test="task-approve"]').click()
        self.wait(lambda: [x for x in self.bubble(tid).find_elements(
            By.CSS_SELECTOR, '[data-test="decision"]')
            if x.get_attribute("data-decision") == "approved"], "Bob's decision on the task")
        self.assertFalse(self.bubble(tid).find_elements(By.CSS_SELECTOR, '[data-test="task-approve"]'))
        self.assertIn("Angebot 2 nehmen", self.bubble(tid).text)
        d.save_screenshot(os.path.join(self.shots, "part4-approval.png"))

        def decided():
            alice.run("sync")
            t = [h for h in alice.history("bob") if h["body"].get("id") == tid][0]["body"]
            return t["decisions"]
        got = self.cluster.wait_for(decided, "Alice's CLI shows the decision")
        self.assertEqual([(x["by"], x["decision"], x["comment"]) for x in got],
                         [(bob.user_id, "approved", "Angebot 2 nehmen")])
        # The composer: a place ticked for the next photo goes with it, one message.
        self.click('#more summary', "the location and task panel")
        d.find_element(By.ID, "loc").send_keys("48.137154,11.576124")
        self.click('[data-test="photo-location"]', "attach the place to the next photo")
        other = os.path.join(self.cluster.dir, "tor.png")
        with open(other, "wb") as f:
            f.write(AB.png(32, 32))
        d.find_element(By.CSS_SELECTOR, '[data-test="attach"]').send_keys(other)
        seen = []

        def alice_has_it():
            seen.extend(m for m in alice.sync() if m["kind"] in ("file", "location"))
            return [m for m in seen if m["kind"] == "file"]
        f = self.cluster.wait_for(alice_has_it, "Alice gets Bob's photo")[0]
        self.assertEqual((f["file"]["name"], f["location"]["lat"], f["location"]["lon"]),
                         ("tor.png", 48.137154, 11.576124))
        self.assertEqual([m["kind"] for m in seen], ["file"])
        self.assertFalse(d.find_element(By.CSS_SELECTOR, '[data-test="photo-location"]').is_selected())


if __name__ == "__main__":
    unittest.main()
