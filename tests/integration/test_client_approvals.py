"""tests/integration/test_client_approvals.py — issue 13 part 4 with real momedod nodes
(two cities) and real `momedo` clients:

- a photo carries its place and a caption in the same message: `send --file --location
  --text` is one envelope per device and one message at the recipient; sync, history
  (human and --json) and the app's JSON show the file with its coordinates and caption;
  the same in a group (one post);
- approvals: `send --task --approval`; the recipient approves or declines with a
  comment; the sender's history (and the app's JSON) says who decided, what and when;
  in a group every member's decision is shown;
- abuse, locally and on the receiving side (momedo-mallory sends what `task
  approve|decline` refuses to): a decision by the task's sender, a second conflicting
  decision (also from a second device that had not seen the first), a decision on an
  unknown task, on a task that asks for none, and one about a task sent to somebody
  else, are refused or ignored and change nothing.
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402
import test_client_app_browser as AB  # noqa: E402  (its App and req; no browser here)

MALLORY = os.path.join(T.BIN, "tests", "momedo-mallory")


def mallory(c, *args):
    p = T.run([MALLORY, "--home", c.home] + list(args), env=c.env)
    return T.json_lines(p.stdout)[-1]


def entry(hist, id_):
    """The history entry (its body) with message ID id_."""
    return [h for h in hist if h["body"].get("id") == id_][0]


def sync_until(cl, c, pred, what):
    """Sync c until one of the messages so far satisfies pred; all of them and stderr."""
    seen, errs = [], []

    def step():
        lines, err = c.sync_lines()
        seen.extend(m for m in lines if m.get("type") == "message")
        errs.append(err)
        return [m for m in seen if pred(m)]
    cl.wait_for(step, what)
    return seen, "".join(errs)


class Approvals(T.ClusterTest, unittest.TestCase):

    def pair(self):
        a, b = self.cluster.two_cities()
        alice = T.new_client(self.cluster, "alice", a)
        bob = T.new_client(self.cluster, "bob", b)
        alice.add_contact(bob, "bob")
        bob.add_contact(alice, "alice")
        return a, b, alice, bob

    def test_photo_with_place_is_one_message(self):
        cl = self.cluster
        a, b, alice, bob = self.pair()
        photo = os.path.join(cl.dir, "lampe.jpg")
        data = b"\xff\xd8\xff\xe0" + os.urandom(30000)
        with open(photo, "wb") as f:
            f.write(data)
        # Refused before anything is sent: a caption without a file, a bad place.
        out, p = alice.j("send", "bob", "--text", "x", check=False)
        self.assertEqual((p.returncode, out["error"]), (2, "E_INVAL"))
        out, p = alice.j("send", "bob", "--file", photo, "--location", "91,13", check=False)
        self.assertEqual((p.returncode, out["error"]), (2, "E_INVAL"))
        out, _ = alice.j("send", "bob", "--file", photo, "--location", "50.9375,6.9603,12",
                         "--text", "Lampe im Flur 2 defekt")
        self.assertEqual(out["envelopes"], 1)  # one envelope for Bob's one device
        mid = out["id"]
        msgs, _ = sync_until(cl, bob, lambda m: m["kind"] == "file", "bob gets the photo")
        self.assertEqual(len([m for m in msgs if m["kind"] in ("file", "location")]), 1)
        m = [m for m in msgs if m["kind"] == "file"][0]
        self.assertEqual((m["id"], m["file"]["name"], m["file"]["size"], m["caption"]),
                         (mid, "lampe.jpg", len(data), "Lampe im Flur 2 defekt"))
        self.assertEqual(m["location"], {"lat": 50.9375, "lon": 6.9603, "accuracy": 12.0})
        # History on both sides, JSON and for people.
        for c, peer in ((bob, "alice"), (alice, "bob")):
            e = entry(c.history(peer), mid)["body"]
            self.assertEqual((e["kind"], e["location"]["lat"], e["location"]["lon"],
                              e["caption"]), ("file", 50.9375, 6.9603, "Lampe im Flur 2 defekt"))
            text = c.run("history", peer).stdout
            self.assertIn("file lampe.jpg (%d bytes) at 50.937500, 6.960300 (+/- 12 m) "
                          "https://www.openstreetmap.org/?mlat=50.937500&mlon=6.960300 "
                          "\"Lampe im Flur 2 defekt\"" % len(data), text)
        # The bytes are the photo's.
        dst = os.path.join(cl.dir, "got.jpg")
        bob.run("save", mid[:12], dst)
        with open(dst, "rb") as f:
            self.assertEqual(f.read(), data)
        # A file without a place has none.
        alice.run("send", "bob", "--file", photo)
        msgs, _ = sync_until(cl, bob, lambda m: m["kind"] == "file", "the second photo")
        f2 = [m for m in msgs if m["kind"] == "file"][0]
        self.assertNotIn("location", f2)
        self.assertIsNone(f2["caption"])

    def test_group_photo_with_place(self):
        cl = self.cluster
        west, east = cl.two_cities()
        lead, ana = T.new_client(cl, "lead", west), T.new_client(cl, "ana", east)
        cl.wait_for(lambda: west.count("key_bundle") >= 2, "bundles at west")
        lead.j("group", "create", "hausmeister", ana.user_id)
        cl.wait_for(lambda: [x for x in ana.sync_lines()[0] if x.get("event") == "joined"],
                    "ana joins")
        photo = os.path.join(cl.dir, "tor.png")
        with open(photo, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + os.urandom(5000))
        out, _ = lead.j("send", "hausmeister", "--file", photo, "--location", "52.52,13.405")
        self.assertEqual((out["kind"], out["items"]), ("group", 1))
        msgs, _ = sync_until(cl, ana, lambda m: m["kind"] == "file", "ana gets the photo")
        m = [m for m in msgs if m["kind"] == "file"][0]
        self.assertEqual((m["group"], m["location"]["lat"], m["location"]["lon"]),
                         ("hausmeister", 52.52, 13.405))
        self.assertIsNone(m["location"]["accuracy"])

    def test_approval_between_two(self):
        cl = self.cluster
        a, b, alice, bob = self.pair()
        out, _ = alice.j("send", "bob", "--task", "Reparatur Heizung freigeben", "--approval")
        tid = out["id"]
        plain, _ = alice.j("send", "bob", "--task", "Flur fegen")
        msgs, _ = sync_until(cl, bob, lambda m: m.get("id") == plain["id"], "bob gets both")
        t = [m for m in msgs if m["id"] == tid][0]
        self.assertEqual((t["kind"], t["approval"], t["decisions"]), ("task", True, []))
        # Refused locally: a comment without a decision, approving a plain task, and
        # Alice deciding on her own task.
        out, p = bob.j("task", "accept", tid[:12], "--comment", "x", check=False)
        self.assertEqual((p.returncode, out["error"]), (2, "E_INVAL"))
        out, p = bob.j("task", "approve", plain["id"][:12], check=False)
        self.assertEqual((p.returncode, out["error"]), (1, "E_DENIED"))
        self.assertIn("is not a task that asks for approval", out["message"])
        out, p = alice.j("task", "approve", tid[:12], check=False)
        self.assertEqual((p.returncode, out["error"]), (1, "E_DENIED"))
        out, _ = bob.j("task", "approve", tid[:12], "--comment", "Angebot 2 nehmen")
        self.assertEqual((out["decision"], out["comment"]), ("approved", "Angebot 2 nehmen"))
        # A second, conflicting decision is refused on Bob's side ...
        out, p = bob.j("task", "decline", tid[:12], check=False)
        self.assertEqual((p.returncode, out["error"]), (1, "E_DENIED"))
        out, p = bob.j("task", "approve", tid[:12], check=False)
        self.assertEqual((p.returncode, out["error"]), (1, "E_EXISTS"))
        msgs, _ = sync_until(cl, alice, lambda m: m.get("decision") == "approved",
                             "alice gets the decision")
        r = [m for m in msgs if m.get("decision")][0]
        self.assertEqual((r["kind"], r["task_id"], r["action"], r["comment"]),
                         ("task_reply", tid, "accept", "Angebot 2 nehmen"))
        e = entry(alice.history("bob"), tid)
        self.assertEqual(e["task_state"], "accepted")
        d = e["body"]["decisions"]
        self.assertEqual([(x["by"], x["decision"], x["comment"]) for x in d],
                         [(bob.user_id, "approved", "Angebot 2 nehmen")])
        self.assertGreater(d[0]["at_ms"], 1700000000000)
        self.assertIn("{approval: approved by %s at " % bob.user_id,
                      alice.run("history", "bob").stdout)
        # ... and on Alice's: a forged decline from Bob's identity after his approval.
        mallory(bob, "decide", "alice", tid, "decline")
        err = self.drain(alice)
        self.assertIn("the first decision stands", err)
        d = entry(alice.history("bob"), tid)["body"]["decisions"]
        self.assertEqual([(x["by"], x["decision"]) for x in d], [(bob.user_id, "approved")])
        # A decision on the plain task and on an unknown task: ignored, not stored.
        n = len(alice.history("bob"))
        mallory(bob, "decide", "alice", plain["id"], "approve")
        mallory(bob, "decide", "alice", "ab" * 16, "approve")
        err = self.drain(alice, 2)
        self.assertIn("is not a task that asks for approval", err)
        self.assertIn("is not in this conversation", err)
        self.assertEqual(len(alice.history("bob")), n)
        # Carol, another contact of Alice's, decides on the task Alice sent Bob: it is not
        # in her conversation with Alice, so nothing changes.
        carol = T.new_client(cl, "carol", a)
        carol.add_contact(alice, "alice")
        alice.add_contact(carol, "carol")
        mallory(carol, "decide", "alice", tid, "decline")
        err = self.drain(alice)
        self.assertIn("is not in this conversation", err)
        d = entry(alice.history("bob"), tid)["body"]["decisions"]
        self.assertEqual([(x["by"], x["decision"]) for x in d], [(bob.user_id, "approved")])
        self.assertEqual(alice.history("carol"), [])

    def drain(self, c, n=1):
        """Sync c until n 'ignored a decision' notes came; their stderr."""
        errs = []

        def step():
            errs.append(c.run("sync").stderr)
            return "".join(errs).count("ignored a decision") >= n
        self.cluster.wait_for(step, "%s ignores %d decision(s)" % (c.name, n))
        return "".join(errs)

    def test_approval_in_a_group(self):
        cl = self.cluster
        west, east = cl.two_cities()
        lead, ana, ben = (T.new_client(cl, "lead", west), T.new_client(cl, "ana", west),
                          T.new_client(cl, "ben", east))
        cl.wait_for(lambda: west.count("key_bundle") >= 3, "bundles at west")
        lead.j("group", "create", "staff", ana.user_id, ben.user_id)
        for c in (ana, ben):
            cl.wait_for(lambda: [x for x in c.sync_lines()[0] if x.get("event") == "joined"],
                        "%s joins" % c.name)
        # A plain task goes to a group too since 7 Dec 2026 (accept / done by its members:
        # test_client_group_tasks.py).
        out, _ = lead.j("send", "staff", "--task", "plain task")
        self.assertEqual((out["kind"], out["items"]), ("group", 1))
        out, _ = lead.j("send", "staff", "--task", "Dach: Reparatur freigeben", "--approval")
        tid = out["id"]
        for c in (ana, ben):
            sync_until(cl, c, lambda m: m.get("id") == tid, "%s gets the task" % c.name)
        out, p = lead.j("task", "approve", tid[:12], check=False)
        self.assertEqual((p.returncode, out["error"]), (1, "E_DENIED"))  # its own sender
        ana.j("task", "approve", tid[:12], "--comment", "ok")
        ben.j("task", "decline", tid[:12], "--comment", "zu teuer")

        def decided(c, n):
            def step():
                c.run("sync")
                return len(entry(c.history("staff"), tid)["body"]["decisions"]) >= n
            cl.wait_for(step, "%s sees %d decisions" % (c.name, n))
            return entry(c.history("staff"), tid)["body"]["decisions"]
        want = sorted([(ana.user_id, "approved", "ok"), (ben.user_id, "declined", "zu teuer")])
        for c in (lead, ana, ben):  # every member sees every member's decision
            d = decided(c, 2)
            self.assertEqual(sorted((x["by"], x["decision"], x["comment"]) for x in d), want)
        # Forged: the task's sender approving its own task, Ana turning her approval into
        # a decline, a decision on an unknown task. Everyone ignores them.
        mallory(lead, "decide", "staff", tid, "approve")
        mallory(ana, "decide", "staff", tid, "decline")
        mallory(ben, "decide", "staff", "cd" * 16, "approve")
        err = self.drain(ben, 2)  # Ben: the lead's and Ana's (his own he never gets back)
        self.assertIn("only a recipient of task", err)
        self.assertIn("the first decision stands", err)
        err = self.drain(lead, 2)
        self.assertIn("the first decision stands", err)
        self.assertIn("is not in this conversation", err)
        for c in (lead, ana, ben):
            d = entry(c.history("staff"), tid)["body"]["decisions"]
            self.assertEqual(sorted((x["by"], x["decision"], x["comment"]) for x in d), want)

    def test_second_device_conflict_and_the_page(self):
        """Bob's two devices decide differently before either saw the other's decision:
        Alice keeps the first that reaches her, everywhere the same. The app's JSON
        shows the decision and the photo's place."""
        cl = self.cluster
        a, b, alice, bob = self.pair()
        tablet = T.link_device(cl, bob, "bob-tablet")
        cl.wait_for(lambda: alice.j("send", "bob", "ping")[0]["envelopes"] >= 2,
                    "bob's tablet in his bundle at alice's node")
        out, _ = alice.j("send", "bob", "--task", "Schloss tauschen", "--approval")
        tid = out["id"]
        for c in (bob, tablet):
            sync_until(cl, c, lambda m: m.get("id") == tid, "%s gets the task" % c.name)
        bob.j("task", "approve", tid[:12])
        tablet.j("task", "decline", tid[:12])  # the tablet has not synced Bob's approval
        err = self.drain(alice)
        self.assertIn("the first decision stands", err)
        d = entry(alice.history("bob"), tid)["body"]["decisions"]
        self.assertEqual(len(d), 1)
        first = d[0]["decision"]
        self.assertIn(first, ("approved", "declined"))
        # The app (its JSON API) shows the same.
        photo = os.path.join(cl.dir, "p.jpg")
        with open(photo, "wb") as f:
            f.write(b"\xff\xd8\xff" + os.urandom(2000))
        alice.run("send", "bob", "--file", photo, "--location", "48.1,11.5", "--text", "hier")
        app = AB.App(cl, alice)
        hdr = {"X-Momedo-Token": app.token, "Origin": "http://127.0.0.1:%d" % app.port,
               "Content-Type": "application/json"}

        def get(path, body=None):
            st, _, text = AB.req(app.port, "POST" if body is not None else "GET", path, hdr,
                                 None if body is None else json.dumps(body))
            self.assertEqual(st, 200, text)
            return json.loads(text)
        get("/api/unlock", {"passphrase": T.CLIENT_PASS})
        convs = get("/api/conversations")["conversations"]
        key = [c for c in convs if c["name"] == "bob"][0]["key"]
        msgs = get("/api/messages?kind=contact&key=" + key)["messages"]
        t = [m for m in msgs if m["id"] == tid][0]
        self.assertEqual((t["approval"], [x["decision"] for x in t["decisions"]],
                          t["decisions"][0]["by"]), (True, [first], bob.user_id))
        f = [m for m in msgs if m["kind"] == "file"][0]
        self.assertEqual((f["lat"], f["lon"], f["caption"]), (48.1, 11.5, "hier"))
        self.assertEqual(app.stop(), 0)


if __name__ == "__main__":
    unittest.main()
