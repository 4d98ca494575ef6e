"""tests/integration/test_client_app_part4_browser.py — issue 13 part 4 in `momedo app`,
in headless Debian chromium against a real momedod and real `momedo` clients:

- a photo Alice sends from the CLI with its place and a caption is one message bubble in
  Bob's page: the picture inline, the coordinates with their OpenStreetMap link, the
  caption;
- an approval task from Alice gets Approve / Decline with a comment field in Bob's page;
  Bob approves with a comment, the page lists his decision, and Alice's CLI shows who
  decided, what, when and the comment; the buttons are gone once he decided;
- the composer attaches the location field's place to the next photo ("Attach this
  place to the next photo or file"): Alice's CLI gets one file message with that place;
- (test_send_approval_and_caption) Bob sends from the page: a photo with the text he
  typed first as its caption (one message at Alice's CLI), an approval task to Alice
  (she approves in her CLI, his page shows her decision), an approval task in a group
  that Alice's CLI shows as one; Alice's plain group task with a due date accepted and
  marked done in Bob's page (Alice's CLI shows both actions by Bob); a channel's reader
  gets no task form; direct requests with a non-boolean approval or an approval without
  a task are refused and send nothing.
Screenshots go to $MOMEDO_SCREENSHOT_DIR (default $MOMEDO_TEST_TMP/app-screens). Skips
(exit 77) only when chromium, chromedriver or python3-selenium is missing."""
import json
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

    def post(self, path, body):
        h = {"X-Momedo-Token": self.app.token, "Content-Type": "application/json"}
        st, _, text = AB.req(self.app.port, "POST", path, h, json.dumps(body))
        return st, json.loads(text) if text.startswith("{") else text

    def test_send_approval_and_caption(self):
        cl = self.cluster
        node = cl.add_node("city")
        alice = T.new_client(cl, "alice", node)
        bob = T.new_client(cl, "bob", node)
        alice.add_contact(bob, "bob")
        bob.add_contact(alice, "alice")
        alice.j("group", "create", "Bauamt", bob.user_id)
        alice.run("group", "create", "Rundbrief", "--channel", bob.user_id)
        joined = []
        cl.wait_for(lambda: joined.extend(x for x in bob.sync_lines()[0]
                                          if x.get("event") == "joined") or len(joined) >= 2,
                    "bob in the group and the channel")
        self.app = AB.App(cl, bob)
        self.drv = d = AB.browser("de-DE,de", 1280, 900)
        d.get(self.app.url)
        self.wait(lambda: d.find_element(By.ID, "pass").is_displayed(), "the unlock form")
        d.find_element(By.ID, "pass").send_keys(T.CLIENT_PASS, Keys.ENTER)
        self.click('[data-test="conversation"][data-name="alice"]', "alice's conversation")
        # A photo with the text typed before it as its caption: one message.
        photo = os.path.join(cl.dir, "dach.png")
        with open(photo, "wb") as f:
            f.write(AB.png(40, 30))
        d.find_element(By.CSS_SELECTOR, '[data-test="composer"]').send_keys("Dach undicht, Raum 12")
        d.find_element(By.CSS_SELECTOR, '[data-test="attach"]').send_keys(photo)
        seen = []

        def alice_has(kind):
            def step():
                seen.extend(alice.sync())
                return [m for m in seen if m["kind"] == kind]
            return step
        f = cl.wait_for(alice_has("file"), "Alice gets Bob's photo")[0]
        self.assertEqual((f["file"]["name"], f["caption"]),
                         ("dach.png", "Dach undicht, Raum 12"))
        self.assertEqual([m["kind"] for m in seen], ["file"])  # no separate text
        self.wait(lambda: d.find_element(By.CSS_SELECTOR, '[data-test="composer"]')
                  .get_attribute("value") == "", "the composer emptied")
        # An approval task to Alice from the task form.
        self.click('#more summary', "the location and task panel")
        box = d.find_element(By.CSS_SELECTOR, '[data-test="task-approval"]')
        self.assertTrue(box.is_enabled())
        self.assertFalse(box.is_selected())
        self.assertIn("Freigabe anfordern", d.find_element(By.ID, "task-form").text)
        d.find_element(By.CSS_SELECTOR, '[data-test="task-title"]').send_keys("Gerüst bestellen")
        box.click()
        self.click('[data-test="send-task"]', "send the task")
        t = cl.wait_for(alice_has("task"), "Alice gets Bob's task")[0]
        self.assertEqual((t["text"], t["approval"], t["decisions"]),
                         ("Gerüst bestellen", True, []))
        self.assertFalse(d.find_element(By.CSS_SELECTOR, '[data-test="task-approval"]').is_selected())
        alice.j("task", "approve", t["id"][:12], "--comment", "bis Freitag")
        self.wait(lambda: [x for x in d.find_elements(
            By.CSS_SELECTOR, '[data-id="%s"] [data-test="decision"]' % t["id"])
            if x.get_attribute("data-decision") == "approved"
            and x.get_attribute("data-by") == alice.user_id], "Alice's decision in Bob's page",
            timeout=30)
        self.assertIn("bis Freitag", d.find_element(By.CSS_SELECTOR, '[data-id="%s"]' % t["id"]).text)
        d.save_screenshot(os.path.join(self.shots, "part4-approval-sent-de.png"))
        # In a group: an approval task from the page (the box ticked) ...
        self.click('[data-test="conversation"][data-name="Bauamt"]', "the group")
        self.click('#more summary', "the location and task panel")
        box = d.find_element(By.CSS_SELECTOR, '[data-test="task-approval"]')
        self.assertTrue(box.is_enabled())
        self.assertFalse(box.is_selected())
        d.find_element(By.CSS_SELECTOR, '[data-test="task-title"]').send_keys("Mittel freigeben")
        box.click()
        self.click('[data-test="send-task"]', "send the group's approval task")

        def group_tasks():
            alice.run("sync")
            return [h["body"] for h in alice.history("Bauamt") if h["body"]["kind"] == "task"]
        g = cl.wait_for(group_tasks, "the group task in Alice's history")
        self.assertEqual([(x["text"], x["approval"]) for x in g], [("Mittel freigeben", True)])
        # ... and Alice's plain group task, accepted and marked done in Bob's page.
        gt = alice.j("send", "Bauamt", "--task", "Heizung Raum 3 pruefen", "--due",
                     "2026-12-11")[0]["id"]
        self.wait(lambda: self.bubble(gt) and self.bubble(gt).find_elements(
            By.CSS_SELECTOR, '[data-test="task-accept"]'), "Accept on the group's task")
        self.assertIn("fällig 11.12.2026", self.bubble(gt).text)  # the date alone, German
        self.bubble(gt).find_element(By.CSS_SELECTOR, '[data-test="task-accept"]').click()
        self.wait(lambda: [x for x in self.bubble(gt).find_elements(
            By.CSS_SELECTOR, '[data-test="action"]') if x.get_attribute("data-decision")
            == "accepted" and x.get_attribute("data-by") == bob.user_id], "Bob's accept shown")
        self.assertIn("angenommen von mir", self.bubble(gt).text)
        self.click('[data-id="%s"] [data-test="task-done"]' % gt, "Done on the group's task")
        self.wait(lambda: not self.bubble(gt).find_elements(By.CSS_SELECTOR, ".task-btn"),
                  "no buttons once done")

        def alice_sees_done():
            alice.run("sync")
            e = [h for h in alice.history("Bauamt") if h["body"].get("id") == gt]
            return e and e[0].get("task_state") == "done" and e[0]["body"]["actions"]
        acts = cl.wait_for(alice_sees_done, "Alice's CLI sees Bob's accept and done")
        self.assertEqual(sorted((a["by"], a["action"]) for a in acts),
                         [(bob.user_id, "accepted"), (bob.user_id, "done")])
        d.save_screenshot(os.path.join(self.shots, "part4-group-task-de.png"))
        # A channel's reader gets no task form.
        self.click('[data-test="conversation"][data-name="Rundbrief"]', "the channel")
        self.wait(lambda: not d.find_element(By.ID, "task-form").is_displayed(),
                  "no task form in a channel")
        # Direct requests: refused, nothing sent.
        # (read in one script: the list is redrawn on every change)
        key_of = ("return document.querySelector('[data-test=conversation][data-name=\"' + "
                  "arguments[0] + '\"]').dataset.key")
        gkey, akey = d.execute_script(key_of, "Bauamt"), d.execute_script(key_of, "alice")
        for body in ({"kind": "contact", "key": akey, "task": "x", "approval": "yes"},
                     {"kind": "contact", "key": akey, "text": "x", "approval": True},
                     {"kind": "contact", "key": akey, "task": "x", "approval": 1}):
            st, out = self.post("/api/send", body)
            self.assertEqual((st, out["status"]), (400, "E_INVAL"), body)
        st, out = self.post("/api/send", {"kind": "group", "key": gkey, "task": "x",
                                          "approval": "yes"})
        self.assertEqual((st, out["status"]), (400, "E_INVAL"))
        # Accepting a task one sent oneself, or an approval task, by direct request: refused
        # (the page offers no button for either), nothing sent.
        st, out = self.post("/api/task", {"kind": "group", "key": gkey, "id": g[0]["id"],
                                          "action": "accept"})
        self.assertEqual((st, out["status"]), (409, "E_DENIED"), out)
        st, out = self.post("/api/send", {"kind": "contact", "key": akey, "task": "einfach",
                                          "approval": False})
        self.assertEqual(st, 200)
        plain = cl.wait_for(lambda: [m for m in alice.sync() if m["kind"] == "task"],
                            "the plain task")
        self.assertEqual([(m["text"], m["approval"]) for m in plain], [("einfach", False)])
        self.assertEqual([h["body"]["text"] for h in alice.history("Bauamt")
                          if h["body"]["kind"] == "task"],
                         ["Mittel freigeben", "Heizung Raum 3 pruefen"])


if __name__ == "__main__":
    unittest.main()
