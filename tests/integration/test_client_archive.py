"""tests/integration/test_client_archive.py — the compliance archive (docs/archive.md)
across two federated momedod nodes on 127.0.0.1 with real `momedo` clients.

A building department's announcement channel "Bauamt" with two admins in two cities
(lead at west, bob at east), a plain member (ana, west) and the department's archive
account (arch, east, an ordinary visible member). A post before the mark is not
archived. Ana cannot mark the channel recorded: her own client refuses, and a forged
record she signs (momedo-mallory mark-recorded) is refused by every member. Lead marks
it; every member sees it in `group show --json` (by lead, since when), and `send` prints
the notice first. Posts from both cities land in the archive (`archive run`), the day's
checkpoint is signed; a file fetched by a plain `sync` of the archive account is
archived too (with its content under att/); `archive export` writes the period, `archive verify` (pinned to
arch's user ID) passes; one flipped byte of an archived body makes verify exit 1 and
name the entry, and so does a changed attachment. A verify pinned to another key fails.
"""
import hashlib
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402
import test_client_group_attacks as GA  # noqa: E402

BEFORE = "Sitzung vor der Aufzeichnung"
WEST_POST = "Baugenehmigung 17/2026 erteilt"
EAST_POST = "Ortstermin Hauptstrasse 4 am Montag"


class ArchiveTest(T.ClusterTest, unittest.TestCase):
    # The attack tests' helpers (a module import: its tests are not collected here).
    mallory = GA.GroupAttackTest.mallory
    joined = GA.GroupAttackTest.joined
    read = GA.GroupAttackTest.reads

    def archive_until(self, arch, n):
        got = [0]

        def step():
            out, _ = arch.j("archive", "run")
            got[0] += out["archived"]
            return got[0] >= n
        self.cluster.wait_for(step, "the archive holds %d new message(s)" % n)
        return got[0]

    def test_recorded_channel_archive(self):
        cl = self.cluster
        west, east = cl.two_cities()
        lead, ana = T.new_client(cl, "lead", west), T.new_client(cl, "ana", west)
        bob, arch = T.new_client(cl, "bob", east), T.new_client(cl, "arch", east)
        cl.wait_for(lambda: west.count("key_bundle") >= 4, "every bundle at west")
        lead.j("group", "create", "Bauamt", "--channel", ana.user_id, bob.user_id, arch.user_id)
        for c in (ana, bob, arch):
            self.joined(c, "Bauamt")
        out, _ = lead.j("group", "promote", "Bauamt", bob.user_id)
        for c in (ana, bob, arch):
            c.sync_lines()
        info = ana.j("group", "show", "Bauamt")[0]
        self.assertFalse(info["recorded"])

        # Before the mark: read by everyone, archived by no one.
        lead.j("send", "Bauamt", BEFORE)
        self.read(arch, (lead.user_id, BEFORE), "Bauamt")
        self.assertEqual(arch.j("archive", "run")[0]["archived"], 0)

        # A plain member cannot mark it: her client refuses, a forged record is refused.
        out, p = ana.j("group", "record", "Bauamt", check=False)
        self.assertEqual((p.returncode, out["error"]), (1, "E_DENIED"))
        self.assertEqual(self.mallory(ana, "mark-recorded", "Bauamt")["sent"], 3)
        for c in (lead, bob, arch):
            _, err = c.sync_lines()
            self.assertIn("is not signed by an admin", err)
            self.assertFalse(c.j("group", "show", "Bauamt")[0]["recorded"])

        # The admin marks it; every member sees by whom and since when.
        t0 = int(time.time() * 1000)
        lead.j("group", "record", "Bauamt")
        for c in (ana, bob, arch):
            c.sync_lines()
        for c in (lead, ana, bob, arch):
            info = c.j("group", "show", "Bauamt")[0]
            self.assertTrue(info["recorded"], c.name)
            self.assertEqual(info["recorded_by"], lead.user_id)
            self.assertLessEqual(abs(info["recorded_since_ms"] - t0), 60000)
        text = ana.run("group", "show", "Bauamt").stdout
        self.assertIn("RECORDED (compliance archive) since", text)
        self.assertIn(lead.user_id, text)

        # Posts from both cities; the sender is told first.
        p = lead.run("send", "Bauamt", WEST_POST)
        self.assertIn("is recorded (compliance archive)", p.stderr)
        p = bob.run("send", "Bauamt", EAST_POST)
        self.assertIn("is recorded (compliance archive)", p.stderr)
        self.assertEqual(self.archive_until(arch, 2), 2)
        self.read(ana, (bob.user_id, EAST_POST), "Bauamt")
        # A file, fetched by a plain `sync` of the archive account: archived all the same.
        plan = os.path.join(cl.dir, "lageplan.pdf")
        with open(plan, "wb") as f:
            f.write(os.urandom(40000))
        lead.j("send", "Bauamt", "--file", plan)
        cl.wait_for(lambda: [m for m in arch.sync() if m["kind"] == "file"],
                    "the archive account's sync fetches the file")

        # Export today's period and verify it, pinned to the archive account's key.
        day = time.strftime("%Y-%m-%d", time.gmtime())
        out_dir = os.path.join(cl.dir, "export")
        out, _ = arch.j("archive", "export", "--from", day, "--to", day, out_dir)
        self.assertEqual(out["entries"], 3)
        self.assertEqual(sorted(os.listdir(out_dir)),
                         ["att", "checkpoints.jsonl", "entries.jsonl", "key.pub",
                          "manifest.json"])
        with open(plan, "rb") as f:
            plan_sha = hashlib.sha256(f.read()).hexdigest()
        self.assertEqual(os.listdir(os.path.join(out_dir, "att")), [plan_sha])
        out, _ = arch.j("archive", "verify", out_dir, "--key", arch.user_id)
        self.assertEqual((out["ok"], out["entries"], out["first_seq"], out["last_seq"]),
                         (True, 3, 0, 2))
        self.assertEqual((out["checkpoints"], out["attachments_checked"]), (1, 1))
        with open(os.path.join(out_dir, "entries.jsonl")) as f:
            entries = [json.loads(x) for x in f]
        self.assertEqual([(e["kind"], e["att_sha256"]) for e in entries][2],
                         ("file", plan_sha))
        self.assertEqual(bytes.fromhex(entries[2]["body"]).decode(), "lageplan.pdf")
        entries = entries[:2]
        bodies = sorted(bytes.fromhex(e["body"]).decode() for e in entries)
        self.assertEqual(bodies, sorted([WEST_POST, EAST_POST]))
        senders = {bytes.fromhex(e["body"]).decode(): e["sender"] for e in entries}
        self.assertNotEqual(senders[WEST_POST], senders[EAST_POST])
        self.assertEqual({e["conv"] for e in entries},
                         {arch.j("group", "show", "Bauamt")[0]["group_id"]})
        # Another key than the archive's: refused.
        out, p = arch.j("archive", "verify", out_dir, "--key", ana.user_id, check=False)
        self.assertEqual((p.returncode, out["error"]), (1, "E_BADSIG"))

        # One flipped byte in entry 1's archived body.
        path = os.path.join(out_dir, "entries.jsonl")
        with open(path, "rb") as f:
            data = bytearray(f.read())
        at = data.index(b'"body":"', data.index(b'{"seq":1,')) + 8
        orig = data[at]
        data[at] = ord("0") if data[at] != ord("0") else ord("1")
        with open(path, "wb") as f:
            f.write(bytes(data))
        out, p = arch.j("archive", "verify", out_dir, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(out["error"], "E_CHECKSUM")
        self.assertIn("entry 1: body does not match", out["message"])
        p = arch.run("archive", "verify", out_dir, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("NOT INTACT: entry 1", p.stderr)
        # Restored, then the attachment changed: entry 2 is named.
        data[at] = orig
        with open(path, "wb") as f:
            f.write(bytes(data))
        self.assertEqual(arch.j("archive", "verify", out_dir)[0]["ok"], True)
        with open(os.path.join(out_dir, "att", plan_sha), "r+b") as f:
            f.seek(1000)
            f.write(b"X")
        out, p = arch.j("archive", "verify", out_dir, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("entry 2: the attachment does not match", out["message"])
        # Emptied: nothing left to fail on but the signed manifest; without the manifest,
        # nothing proves the set complete.
        with open(path, "wb") as f:
            pass
        out, p = arch.j("archive", "verify", out_dir, check=False)
        self.assertEqual((p.returncode, out["error"]), (1, "E_CORRUPT"))
        self.assertIn("manifest.json signs 3 entries", out["message"])
        os.unlink(os.path.join(out_dir, "manifest.json"))
        out, p = arch.j("archive", "verify", out_dir, check=False)
        self.assertEqual((p.returncode, out["error"]), (1, "E_NOTFOUND"))
        self.assertIn("manifest.json is missing", out["message"])

        # Retention: nothing is 5 years old; only 5 or 10 are accepted.
        self.assertEqual(arch.j("archive", "prune", "--retention-years", "5")[0]["pruned"], 0)
        out, p = arch.j("archive", "prune", "--retention-years", "7", check=False)
        self.assertEqual((p.returncode, out["error"]), (2, "E_INVAL"))

        # Unmarked: later posts are not archived.
        bob.j("group", "unrecord", "Bauamt")
        arch.sync_lines()
        self.assertFalse(arch.j("group", "show", "Bauamt")[0]["recorded"])
        after = "nach der Aufzeichnung"
        lead.j("send", "Bauamt", after)
        archived = []

        def arch_reads():
            archived.append(arch.j("archive", "run")[0]["archived"])
            return after in [h["body"].get("text") for h in arch.history("Bauamt")]
        cl.wait_for(arch_reads, "the archive account reads the post after the unmark")
        self.assertEqual(sum(archived), 0)


if __name__ == "__main__":
    unittest.main()
