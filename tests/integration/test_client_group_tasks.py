"""tests/integration/test_client_group_tasks.py — plain tasks in a group (issue 13: the
janitors' group takes "Lampe Flur 2 tauschen" and one of them takes it on), with real
momedod nodes in two cities and real `momedo` clients:

- a member posts a task with a due date to the group; every member gets it (due date
  kept: a group row's due field holds its sender);
- any member but its sender accepts it and marks it done; every member's history shows
  the same state and the same actions (who accepted, who marked it done, when);
- refused locally and by every receiver: the sender accepting its own task, accepting
  an approval task (it is approved or declined), the same action twice, an action on a
  task the group never had; forged replies (momedo-mallory) are ignored with a notice and
  change nothing;
- approval tasks in the group behave as before (a plain task no longer is refused)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402
from test_client_approvals import entry, mallory, sync_until  # noqa: E402


class GroupTasks(T.ClusterTest, unittest.TestCase):

    def task_of(self, c, tid):
        c.run("sync")
        return entry(c.history("hausmeister"), tid)

    def wait_state(self, c, tid, state, n_actions):
        def step():
            e = self.task_of(c, tid)
            return e.get("task_state") == state and len(e["body"]["actions"]) >= n_actions
        self.cluster.wait_for(step, "%s sees %s with %d action(s)" % (c.name, state, n_actions))
        return self.task_of(c, tid)

    def drain(self, c, n):
        errs = []

        def step():
            errs.append(c.run("sync").stderr)
            return "".join(errs).count("ignored a task reply") >= n
        self.cluster.wait_for(step, "%s ignores %d task repl(ies)" % (c.name, n))
        return "".join(errs)

    def test_accept_and_done_in_a_group(self):
        cl = self.cluster
        west, east = cl.two_cities()
        lead, ana, ben = (T.new_client(cl, "lead", west), T.new_client(cl, "ana", west),
                          T.new_client(cl, "ben", east))
        cl.wait_for(lambda: west.count("key_bundle") >= 3, "bundles at west")
        lead.j("group", "create", "hausmeister", ana.user_id, ben.user_id)
        for c in (ana, ben):
            cl.wait_for(lambda: [x for x in c.sync_lines()[0] if x.get("event") == "joined"],
                        "%s joins" % c.name)
        out, _ = lead.j("send", "hausmeister", "--task", "Lampe Flur 2 tauschen",
                        "--due", "2026-12-10")
        self.assertEqual((out["kind"], out["items"]), ("group", 1))
        tid = out["id"]
        appr, _ = lead.j("send", "hausmeister", "--task", "Neue Leiter kaufen", "--approval")
        for c in (ana, ben):
            msgs, _ = sync_until(cl, c, lambda m: m.get("id") == appr["id"], "%s gets both" % c.name)
            t = [m for m in msgs if m.get("id") == tid][0]
            self.assertEqual((t["kind"], t["text"], t["due"], t["approval"], t["actions"],
                              t["sender"]),
                             ("task", "Lampe Flur 2 tauschen", "2026-12-10T23:59Z", False, [],
                              lead.user_id))
        self.assertEqual(self.task_of(lead, tid)["body"]["due"], "2026-12-10T23:59Z")
        self.assertIn("due 2026-12-10", ana.run("history", "hausmeister").stdout)
        # Refused locally: the sender accepting its own task, accepting an approval task,
        # approving a plain one.
        o, p = lead.j("task", "accept", tid[:12], check=False)
        self.assertEqual((p.returncode, o["error"]), (1, "E_DENIED"))
        self.assertIn("not by its sender", o["message"])
        o, p = ana.j("task", "accept", appr["id"][:12], check=False)
        self.assertEqual((p.returncode, o["error"]), (1, "E_DENIED"))
        self.assertIn("asks for approval", o["message"])
        o, p = ana.j("task", "approve", tid[:12], check=False)
        self.assertEqual((p.returncode, o["error"]), (1, "E_DENIED"))
        # Ana takes it on; Ben marks it done.
        o, _ = ana.j("task", "accept", tid[:12])
        self.assertEqual((o["task_id"], o["action"]), (tid, "accept"))
        o, p = ana.j("task", "accept", tid[:12], check=False)
        self.assertEqual((p.returncode, o["error"]), (1, "E_EXISTS"))
        e = self.wait_state(ben, tid, "accepted", 1)
        self.assertEqual([(a["by"], a["action"]) for a in e["body"]["actions"]],
                         [(ana.user_id, "accepted")])
        self.assertGreater(e["body"]["actions"][0]["at_ms"], 1700000000000)
        ben.j("task", "done", tid[:12])
        want = sorted([(ana.user_id, "accepted"), (ben.user_id, "done")])
        for c in (lead, ana, ben):  # every member ends with the same task
            e = self.wait_state(c, tid, "done", 2)
            self.assertEqual(sorted((a["by"], a["action"]) for a in e["body"]["actions"]), want)
        self.assertIn("{members: accepted by %s at " % ana.user_id,
                      lead.run("history", "hausmeister").stdout)
        # Forged, past the local checks: the sender accepting its own task, Ana accepting
        # the approval task, Ben's done again, an accept on a task the group never had.
        mallory(lead, "decide", "hausmeister", tid, "accept")
        mallory(ana, "decide", "hausmeister", appr["id"], "accept")
        mallory(ben, "decide", "hausmeister", "ab" * 16, "done")
        err = self.drain(ben, 2)  # the lead's and Ana's (his own never comes back)
        self.assertIn("not by its sender", err)
        self.assertIn("asks for approval", err)
        err = self.drain(lead, 2)  # Ana's and Ben's
        self.assertIn("asks for approval", err)
        self.assertIn("is not in this conversation", err)
        for c in (lead, ana, ben):
            e = self.task_of(c, tid)
            self.assertEqual(e["task_state"], "done")
            self.assertEqual(sorted((a["by"], a["action"]) for a in e["body"]["actions"]), want)
            a = self.task_of(c, appr["id"])["body"]
            self.assertEqual((a["approval"], a["decisions"]), (True, []))
        # The approval task still works as before.
        ben.j("task", "approve", appr["id"][:12], "--comment", "ok")
        d = cl.wait_for(lambda: self.task_of(lead, appr["id"])["body"]["decisions"],
                        "the lead sees Ben's approval")
        self.assertEqual([(x["by"], x["decision"]) for x in d], [(ben.user_id, "approved")])


if __name__ == "__main__":
    unittest.main()
