#!/usr/bin/env python3
"""tests/integration/test_sim_cli.py — momedo-sim as a researcher runs it: exit status 0
for a passing scenario (with its output files, byte-identical on a rerun), 1 with the
failing seed printed for a scenario whose check fails, 2 with file:line for a bad
scenario. Cleans up its scratch directory even when it fails."""
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCN = os.path.join(HERE, "..", "..", "simulations", "scenarios")
BIN = os.path.join(os.environ.get("MOMEDO_BIN", "build"), "simulations", "momedo-sim")
FILES = ["summary.json", "objects.csv", "nodes.csv", "timeseries.csv", "cdf.csv",
         "cdf.svg", "traffic.svg", "convergence.svg"]


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)


def main():
    tmp = tempfile.mkdtemp(prefix="momedo-sim-")
    try:
        ph = os.path.join(SCN, "partition_heal.scn")
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        r = run(ph, "--seed", "3", "--out", a)
        assert r.returncode == 0, r.stderr
        assert "scenario partition_heal seed 3" in r.stderr, r.stderr
        r = run(ph, "--seed", "3", "--out", b, "--quiet")
        assert r.returncode == 0 and r.stderr == "", r.stderr
        for f in FILES:
            assert filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False), f

        r = run(os.path.join(SCN, "conn_limit_trap.scn"), "--quiet")
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert "seed 7" in r.stderr and "--seed 7" in r.stderr, r.stderr

        bad = os.path.join(tmp, "bad.scn")
        with open(bad, "w") as f:
            f.write("nodes 10\npublish item count=1\nlink loss=2\n")
        r = run(bad)
        assert r.returncode == 2, r.returncode
        assert "bad.scn:3: loss must be 0..1" in r.stderr, r.stderr

        r = run(os.path.join(SCN, "rumor_complete_1000.scn"), "--runs", "3", "--out",
                os.path.join(tmp, "runs"), "--quiet")
        assert r.returncode == 0, r.stderr
        for d in ("run_1", "run_2", "run_3"):
            assert os.path.exists(os.path.join(tmp, "runs", d, "summary.json")), d
        assert os.path.exists(os.path.join(tmp, "runs", "aggregate.json"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
