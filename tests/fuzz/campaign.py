#!/usr/bin/env python3
"""tests/fuzz/campaign.py — a long fuzz campaign over every libFuzzer target: runs the
targets in time slices until each has done --goal executions (default 10^8), keeps the
running totals in a state file so a campaign resumes where it stopped, merges each
target's new inputs into the repository corpus (tests/fuzz/corpus/<target>/, libFuzzer
-merge=1 on edge coverage: only inputs that add an edge), and prints (or writes with
--report) a table of executions, coverage and findings per target for docs/reliability.md.
Besides wall time it counts each slice's CPU time (user + system of the fuzzer process):
at --nice 19 on a shared machine the wall rate says how much CPU was left over, the rate
per CPU second says how fast a target is. Totals are kept per target name; a campaign
resumed from another build adds to them, and the state lists which source revision did
how many executions ("by_build").

usage: campaign.py --build BUILD [--goal N] [--slice S] [--work DIR] [--targets a,b]
                   [--nice N] [--report FILE] [--merge-only] [--status]
  BUILD holds tests/fuzz_<target> (configure with -DMOMEDO_FUZZ=ON, and
  -DMOMEDO_SANITIZE=ON for ASan+UBSan as the campaign figures in docs/ use).
  A finding (crash, leak, timeout, out of memory) is kept in WORK/artifacts/, named in
  the state and the report, and the target goes on with a fresh process.
The next slice always goes to the unfinished target with the least time left to its
goal (at its measured speed), so fast targets finish first and every slice counts."""
import argparse
import glob
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
STAT_RE = re.compile(r"stat::(\w+):\s*(\d+)")
COV_RE = re.compile(r"\bcov: (\d+) ft: (\d+)")
RSS_LIMIT_MB = 2048
SLICE_TIMEOUT_S = 25          # libFuzzer's -timeout per input: a hang is a finding
ARTIFACT_KINDS = ("crash-", "leak-", "timeout-", "oom-", "slow-unit-")


def targets_in(build):
    found = sorted(glob.glob(os.path.join(build, "tests", "fuzz_*")))
    return [os.path.basename(p)[len("fuzz_"):] for p in found if os.access(p, os.X_OK)]


def load_state(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {"targets": {}}


def save_state(path, st):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(st, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def entry(st, name):
    return st["targets"].setdefault(name, {
        "execs": 0, "seconds": 0.0, "slices": 0, "cov": 0, "ft": 0, "findings": [],
        "corpus_files": 0, "merged_added": 0})


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def source_revision():
    """The commit of the tree this script is in (the build's source), or 'unknown'."""
    try:
        p = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        rev = p.stdout.strip()
    except OSError:
        rev = ""
    return rev or "unknown"


def time_left(e, goal):
    rate = e["execs"] / e["seconds"] if e["seconds"] > 0 else 0
    if rate <= 0:
        return 0.0  # unmeasured: run it first
    return max(0.0, goal - e["execs"]) / rate


def run_slice(args, name, e):
    exe = os.path.join(args.build, "tests", "fuzz_" + name)
    work_corpus = os.path.join(args.work, "corpus", name)
    art = os.path.join(args.work, "artifacts")
    os.makedirs(work_corpus, exist_ok=True)
    os.makedirs(art, exist_ok=True)
    seeds = os.path.join(CORPUS, name)
    os.makedirs(seeds, exist_ok=True)
    before = set(os.listdir(art))
    cmd = ["nice", "-n", str(args.nice), exe, "-max_total_time=%d" % args.slice,
           "-print_final_stats=1", "-rss_limit_mb=%d" % RSS_LIMIT_MB,
           "-timeout=%d" % SLICE_TIMEOUT_S, "-artifact_prefix=%s/%s-" % (art, name),
           work_corpus, seeds]
    t0, c0 = time.monotonic(), children_cpu()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace")
    secs = time.monotonic() - t0
    cpu = children_cpu() - c0
    stats = {k: int(v) for k, v in STAT_RE.findall(p.stdout)}
    execs = stats.get("number_of_executed_units")
    if execs is None:  # died before the final stats: count the last status line
        m = re.findall(r"^#(\d+)\s", p.stdout, re.M)
        execs = int(m[-1]) if m else 0
    cov = COV_RE.findall(p.stdout)
    e["execs"] += execs
    e["seconds"] += secs
    e["cpu_seconds"] = e.get("cpu_seconds", 0.0) + cpu
    e["slices"] += 1
    by = e.setdefault("by_build", {})
    by[args.revision] = by.get(args.revision, 0) + execs
    if cov:
        e["cov"], e["ft"] = max(e["cov"], int(cov[-1][0])), max(e["ft"], int(cov[-1][1]))
    new = sorted(set(os.listdir(art)) - before)
    for a in new:
        e["findings"].append({"artifact": os.path.join(art, a), "execs_at": e["execs"],
                              "exit": p.returncode})
    if p.returncode != 0 and not new:
        e["findings"].append({"artifact": None, "execs_at": e["execs"], "exit": p.returncode,
                              "tail": p.stdout[-2000:]})
    if p.returncode != 0:
        with open(os.path.join(art, "%s-log-%d.txt" % (name, e["slices"])), "w") as f:
            f.write(p.stdout[-20000:])
    return execs, secs, p.returncode


def merge(args, name, e):
    """Add to the repository corpus the campaign inputs that bring new coverage."""
    exe = os.path.join(args.build, "tests", "fuzz_" + name)
    work_corpus = os.path.join(args.work, "corpus", name)
    seeds = os.path.join(CORPUS, name)
    if not os.path.isdir(work_corpus):
        return
    os.makedirs(seeds, exist_ok=True)
    n0 = len(os.listdir(seeds))
    # Edges only (-use_counters=0): an input that merely runs a known edge more often
    # stays in the campaign's corpus, not in the repository's, which stays small.
    p = subprocess.run(["nice", "-n", str(args.nice), exe, "-merge=1", "-use_counters=0",
                        "-rss_limit_mb=%d" % RSS_LIMIT_MB, seeds, work_corpus],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace")
    n1 = len(os.listdir(seeds))
    e["merged_added"] += n1 - n0
    e["corpus_files"] = n1
    if p.returncode != 0:
        print("merge of %s failed (%d):\n%s" % (name, p.returncode, p.stdout[-2000:]))


def fmt_n(n):
    return "{:,}".format(n)


def report(st, goal, names):
    rows = ["| target | executions | goal reached | wall time | CPU time | execs/s (wall) "
            "| execs per CPU s | coverage (edges / features) | corpus files (added) | findings |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for name in names:
        e = st["targets"].get(name)
        if not e:
            rows.append("| %s | 0 | no | — | — | — | — | — | — | — |" % name)
            continue
        rate = e["execs"] / e["seconds"] if e["seconds"] else 0
        cpu = e.get("cpu_seconds")  # states from before CPU accounting lack it
        fnd = len(e["findings"])
        rows.append("| %s | %s | %s | %.1f h | %s | %s | %s | %d / %d | %d (+%d) | %s |" % (
            name, fmt_n(e["execs"]), "yes" if e["execs"] >= goal else "no",
            e["seconds"] / 3600, "%.1f h" % (cpu / 3600) if cpu else "—", fmt_n(int(rate)),
            fmt_n(int(e["execs"] / cpu)) if cpu else "—", e["cov"], e["ft"],
            e["corpus_files"], e["merged_added"], fnd if fnd else "none"))
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--goal", type=float, default=1e8)
    ap.add_argument("--slice", type=int, default=600, help="seconds per libFuzzer run")
    ap.add_argument("--work", default=None, help="campaign directory (state, corpora, artifacts)")
    ap.add_argument("--targets", default=None)
    ap.add_argument("--nice", type=int, default=19)
    ap.add_argument("--merge-every", type=int, default=6, help="slices between merges")
    ap.add_argument("--report", default=None, help="write the table to this file")
    ap.add_argument("--merge-only", action="store_true")
    ap.add_argument("--status", action="store_true", help="print the table and exit")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    args.revision = source_revision()
    args.work = os.path.abspath(args.work or os.path.join(args.build, "fuzz-campaign"))
    os.makedirs(args.work, exist_ok=True)
    state_path = os.path.join(args.work, "state.json")
    st = load_state(state_path)
    names = targets_in(args.build)
    if args.targets:
        want = args.targets.split(",")
        unknown = [t for t in want if t not in names]
        if unknown:
            sys.exit("no fuzz_%s in %s/tests" % (unknown[0], args.build))
        names = want
    if not names:
        sys.exit("no fuzz_* executables in %s/tests (configure with -DMOMEDO_FUZZ=ON)" %
                 args.build)
    goal = int(args.goal)
    if args.status:
        print(report(st, goal, names))
        return 0
    if args.merge_only:
        for n in names:
            merge(args, n, entry(st, n))
        save_state(state_path, st)
        print(report(st, goal, names))
        return 0
    since_merge = {n: 0 for n in names}
    while True:
        todo = [n for n in names if entry(st, n)["execs"] < goal]
        if not todo:
            break
        name = min(todo, key=lambda n: time_left(entry(st, n), goal))
        e = entry(st, name)
        execs, secs, rc = run_slice(args, name, e)
        print("%s %s: +%s execs in %.0f s (total %s, %.2f%% of goal)%s" % (
            time.strftime("%H:%M:%S"), name, fmt_n(execs), secs, fmt_n(e["execs"]),
            100.0 * e["execs"] / goal, "" if rc == 0 else " EXIT %d" % rc), flush=True)
        since_merge[name] += 1
        if since_merge[name] >= args.merge_every or e["execs"] >= goal:
            merge(args, name, e)
            since_merge[name] = 0
        save_state(state_path, st)
        if args.report:
            with open(args.report, "w") as f:
                f.write(report(st, goal, names) + "\n")
    for n in names:
        merge(args, n, entry(st, n))
    save_state(state_path, st)
    print(report(st, goal, names))
    if args.report:
        with open(args.report, "w") as f:
            f.write(report(st, goal, names) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
