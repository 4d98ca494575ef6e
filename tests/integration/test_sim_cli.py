#!/usr/bin/env python3
"""tests/integration/test_sim_cli.py — momedo-sim as a researcher runs it: exit status 0
for a passing scenario (with its output files, byte-identical on a rerun), 1 with the
failing seed printed for a scenario whose check fails, 2 with file:line for a bad
scenario, several runs with an aggregate, --set and --sweep (one CSV row per value,
an SVG), and usage errors for the new options. Each test cleans up its scratch
directory even when it fails (unittest assertions, so `python -O` checks the same)."""
import filecmp
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SCN = os.path.join(HERE, "..", "..", "simulations", "scenarios")
SIM = os.path.join(T.BIN, "simulations", "momedo-sim")
FILES = ["summary.json", "objects.csv", "nodes.csv", "timeseries.csv", "cdf.csv",
         "cdf.svg", "traffic.svg", "convergence.svg"]


def run(*args):
    return subprocess.run([SIM, *args], capture_output=True, text=True, timeout=120)


class SimCliTest(unittest.TestCase):
    def setUp(self):
        os.makedirs(T.TMP, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="momedo-sim-", dir=T.TMP)
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def test_pass_and_byte_identical_rerun(self):
        ph = os.path.join(SCN, "partition_heal.scn")
        a, b = os.path.join(self.tmp, "a"), os.path.join(self.tmp, "b")
        r = run(ph, "--seed", "3", "--out", a)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("scenario partition_heal seed 3", r.stderr)
        r = run(ph, "--seed", "3", "--out", b, "--quiet")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        for f in FILES:
            self.assertTrue(filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False),
                            f)

    def test_failing_check_prints_seed(self):
        r = run(os.path.join(SCN, "conn_limit_trap.scn"), "--quiet")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("seed 7", r.stderr)
        self.assertIn("--seed 7", r.stderr)

    def test_bad_scenario_names_file_and_line(self):
        bad = os.path.join(self.tmp, "bad.scn")
        with open(bad, "w") as f:
            f.write("nodes 10\npublish item count=1\nlink loss=2\n")
        r = run(bad)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("bad.scn:3: loss must be 0..1", r.stderr)

    def test_runs_and_aggregate(self):
        out = os.path.join(self.tmp, "runs")
        r = run(os.path.join(SCN, "rumor_complete_1000.scn"), "--runs", "3", "--out", out,
                "--quiet")
        self.assertEqual(r.returncode, 0, r.stderr)
        for d in ("run_1", "run_2", "run_3"):
            self.assertTrue(os.path.exists(os.path.join(out, d, "summary.json")), d)
        self.assertTrue(os.path.exists(os.path.join(out, "aggregate.json")))

    def test_set_and_sweep(self):
        t1 = os.path.join(SCN, "demers_table1.scn")
        r = run(t1, "--set", "protocol.k=2", "--set", "nodes=300", "--out",
                os.path.join(self.tmp, "set"), "--quiet")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(self.tmp, "set", "summary.json")) as f:
            self.assertIn('"nodes": 300,', f.read())
        out = os.path.join(self.tmp, "sweep")
        r = run(t1, "--set", "nodes=300", "--sweep", "protocol.k=1,2,4", "--runs", "3",
                "--plot", "residue", "--out", out, "--quiet")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(out, "sweep.csv")) as f:
            rows = f.read().splitlines()
        self.assertEqual([x.split(",")[:5] for x in rows[1:]],
                         [["protocol.k", v, v, "3", "0"] for v in ("1", "2", "4")])
        head = rows[0].split(",")
        col = head.index("residue_mean")
        residue = [float(x.split(",")[col]) for x in rows[1:]]
        self.assertGreater(residue[0], residue[1])  # more patience, fewer missed sites
        with open(os.path.join(out, "sweep.svg")) as f:
            self.assertIn("residue against protocol.k", f.read())
        r = run(t1, "--sweep", "protocol.k=1,2", "--quiet")  # no --out: CSV on stdout
        self.assertEqual((r.returncode, len(r.stdout.splitlines())), (0, 3), r.stderr)

    def test_option_errors(self):
        t1 = os.path.join(SCN, "demers_table1.scn")
        for args, why in ((["--set", "protocol.k"], "expected PARAM=VALUE"),
                          (["--set", "protocol.k=x"], r"demers_table1\.scn:\d+: k must be 0\.\.1000"),
                          (["--sweep", "protocol.k=1,x"], "with protocol.k=x:"),
                          (["--plot", "residue"], "--plot needs --sweep"),
                          (["--validate"], "or --validate or --report alone"),
                          (["--report", "/tmp"], "or --validate or --report alone")):
            r = run(t1, *args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertRegex(r.stderr, why if why.startswith("demers") else re.escape(why))


    def test_report(self):
        # two runs of one scenario side by side: the table names both, bytes.svg is drawn
        t1 = os.path.join(SCN, "partition_heal.scn")
        out = os.path.join(self.tmp, "series")
        for mode in ("flood_a", "flood_b"):
            r = run(t1, "--seed", "3" if mode == "flood_a" else "4", "--out",
                    os.path.join(out, mode), "--quiet")
            self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([SIM, "--report", out], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [x for x in r.stdout.splitlines() if x.startswith("| flood |")]
        self.assertEqual(len(rows), 2, r.stdout)
        with open(os.path.join(out, "bytes.svg")) as f:
            self.assertIn("flood: KiB held per node", f.read())
        r = subprocess.run([SIM, "--report", os.path.join(self.tmp, "nothing-here")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("cannot open", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
