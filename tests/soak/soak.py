#!/usr/bin/env python3
"""tests/soak/soak.py — crash soak: real momedod processes federated on 127.0.0.1,
clients posting and fetching all the time, and a killer that sends kill -9 to a random
node at random moments (and, where the build has test hooks, lets a node kill itself
right after a durable write, before it answers), restarts it, and repeats.

An independent ledger, kept by this script from what the clients were told, holds
every post a node acknowledged (object ID, recipient, text). At the end every node runs,
the killer has stopped, and the soak checks, per recipient at its home node:
  lost        acknowledged posts neither fetchable now nor fetched (and acked) before: must be 0
  duplicated  an ID or a text listed twice in one fetch: must be 0
  phantom     a fetched item whose text no client ever posted: must be 0
  resurrected an item fetched again after its recipient's ack (tombstone) was confirmed: 0
  stored-unacknowledged  posted, stored, but the answer was lost to a kill (allowed,
              counted: the client was never told "accepted" and may post again)
The checks speak only of "every acknowledged post is fetchable by its recipient", so they
hold for flooding and for scoped delivery alike.

usage: soak.py [--cycles N] [--nodes K] [--users U] [--seed S] [--short] [--json FILE]
  --short: 5 cycles (the ctest run). Exit 0 only if every check holds; the summary
  line and --json give the figures recorded in docs/reliability.md."""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import momedo_testlib as T  # noqa: E402

PROBE_TIMEOUT_MS = 10000
BURST_MAX = 20
WINDOW = 8
CONVERGE_S = 300


def probe_cmd(user, node, *args):
    return [T.PROBE, "--keys", user.keys, "--json", "--timeout-ms", str(PROBE_TIMEOUT_MS),
            "--node", node.address(), "--node-key", node.node_key] + list(args)


def run_probe(user, node, *args):
    """One probe run: (exit code, JSON lines, stderr). A probe that cannot be started
    (fork/exec failing under memory pressure: OSError) or hangs past its bound is a failed
    probe run (-1, nothing read), never the end of the client thread that ran it: posts
    it may have had acknowledged are then "stored but unacknowledged", which the checks
    allow, because the ledger never saw their answers."""
    try:
        p = subprocess.run(probe_cmd(user, node, *args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True,
                           timeout=PROBE_TIMEOUT_MS / 1000 + 60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return -1, [], "probe not run: %s" % e
    return p.returncode, T.json_lines(p.stdout), p.stderr


class Ledger:
    """What the clients were told, and what they saw. Thread-safe."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.acked = {}          # id -> (recipient name, text)
        self.posted = {}         # text -> recipient name (every post sent, acked or not)
        self.refused = {}        # error name -> count (explicit refusals)
        self.fetched = {}        # recipient -> set of ids seen in any fetch
        self.tombstoned = {}     # id -> fetch number after which it must never come back
        self.violations = []     # (kind, detail)
        self.fetches = 0
        self.probe_failures = 0
        self.f = open(path, "w")

    def note(self, rec):
        self.f.write(json.dumps(rec) + "\n")

    def violation(self, kind, detail):
        with self.lock:
            self.violations.append((kind, detail))
            self.note({"violation": kind, "detail": detail})
            self.f.flush()


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.cluster = T.Cluster("soak")
        self.ledger = Ledger(os.path.join(self.cluster.dir, "ledger.jsonl"))
        self.stop = threading.Event()
        self.cycles = 0
        self.self_kills = 0
        self.kill_during_start = 0
        self.nodes = []
        self.users = []
        self.hooks = False

    # -- setup --
    def setup(self):
        a = self.args
        for i in range(a.nodes):
            n = self.cluster.add_node("n%d" % i, start=False)
            n.node_key = json.loads(T.run([T.ADMIN, "--dir", n.dir, "fingerprint",
                                           "--json"]).stdout)["node_key"]
            n.configure("scope = flood\nrecon_interval_ms = %d\nrecon_jitter_ms = %d\n"
                        "device_posts_per_minute = 100000\n" % (a.recon_ms, a.recon_ms // 4))
            n.start()
            self.nodes.append(n)
        for i, x in enumerate(self.nodes):
            for y in self.nodes[i + 1:]:
                self.cluster.connect(x, y)
        for i in range(a.users):
            home = self.nodes[i % len(self.nodes)]
            u = self.cluster.probe("u%d" % i, home)
            u.register()
            u.publish()
            u.acks = i % 2 == 0  # half the recipients ack what they fetch
            self.users.append(u)
        # Every node knows every bundle (so it knows every device mailbox) before posts.
        self.cluster.wait_for(lambda: all(n.count("key_bundle") == len(self.users)
                                          for n in self.nodes), "bundles everywhere")
        self.hooks = self.hooks_built()

    def hooks_built(self):
        """Does this momedod honour test hooks? Restart n0 with a zero clock offset and
        look for the line it logs."""
        n = self.nodes[0]
        zero = os.path.join(self.cluster.dir, "clock0")
        with open(zero, "w") as f:
            f.write("0\n")
        n.stop()
        os.environ["MOMEDO_TEST_CLOCK_FILE"] = zero
        try:
            n.start()
        finally:
            os.environ.pop("MOMEDO_TEST_CLOCK_FILE", None)
        return "test hook active: clock offset" in n.log()

    # -- clients --
    def sender(self, u, seed):
        rng = random.Random(seed)
        k = 0
        while not self.stop.is_set():
            to = rng.choice([x for x in self.users if x is not u])
            n = rng.randint(1, BURST_MAX)
            text = "soak/%s/%d" % (u.name, k)
            k += 1
            with self.ledger.lock:
                for i in range(n):
                    self.ledger.posted["%s #%d" % (text, i)] = to.name
            rc, lines, err = run_probe(u, u.node, "post", "--mailbox", to.mailbox, "--text",
                                       text, "--count", str(n), "--window", str(WINDOW))
            with self.ledger.lock:
                for x in lines:
                    if "i" not in x:
                        continue
                    t = "%s #%d" % (text, x["i"])
                    if "id" in x:
                        prev = self.ledger.acked.get(x["id"])
                        if prev is not None and prev[1] != t:
                            self.ledger.violations.append(
                                ("one-id-two-posts", "%s: %s and %s" % (x["id"], prev[1], t)))
                        self.ledger.acked[x["id"]] = (to.name, t)
                        self.ledger.note({"ack": x["id"], "to": to.name, "text": t})
                    else:
                        e = x.get("error", "?")
                        self.ledger.refused[e] = self.ledger.refused.get(e, 0) + 1
                if rc != 0:
                    self.ledger.probe_failures += 1
            if rc != 0:
                time.sleep(rng.uniform(0.05, 0.3))

    def check_listing(self, u, items, fetch_no):
        """Per-fetch checks; returns the ids listed."""
        ids, texts = set(), set()
        L = self.ledger
        for x in items:
            i, t = x.get("id"), x.get("text")
            if x.get("kind") != "item":
                continue
            if i in ids:
                L.violations.append(("duplicate-id", "%s listed twice for %s" % (i, u.name)))
            if t in texts:
                L.violations.append(("duplicate-text", "%r listed twice for %s" % (t, u.name)))
            ids.add(i)
            texts.add(t)
            if L.posted.get(t) != u.name:
                L.violations.append(("phantom", "%s got %r (id %s) nobody posted to it" %
                                     (u.name, t, i)))
            acked = L.acked.get(i)
            if acked is not None and acked != (u.name, t):
                L.violations.append(("wrong-item", "%s: id %s is %r, acked as %r" %
                                     (u.name, i, t, acked)))
            if i in L.tombstoned and L.tombstoned[i] < fetch_no:
                L.violations.append(("resurrected", "%s: %s (%r) again after its ack" %
                                     (u.name, i, t)))
        return ids

    def fetch(self, u, ack):
        with self.ledger.lock:
            self.ledger.fetches += 1
            no = self.ledger.fetches
        args = ["fetch", "--raw-text"] + (["--ack"] if ack else [])
        rc, lines, err = run_probe(u, u.node, *args)
        items = [x for x in lines if "seq" in x]
        with self.ledger.lock:
            ids = self.check_listing(u, items, no)
            self.ledger.fetched.setdefault(u.name, set()).update(ids)
            if rc == 0 and ack:
                for i in ids:
                    self.ledger.tombstoned.setdefault(i, no)
            if rc != 0:
                self.ledger.probe_failures += 1
        return rc, ids

    def fetcher(self, u, seed):
        rng = random.Random(seed)
        while not self.stop.is_set():
            time.sleep(rng.uniform(0.2, 1.5))
            self.fetch(u, u.acks and rng.random() < 0.5)

    # -- the killer --
    def wait_running(self, n):
        """Until n answers on its admin socket. A node armed with a crash point may kill
        itself meanwhile (counted, restarted plain); any other exit is a failure: a node
        must start again after every kill."""
        def up():
            if n.proc.poll() is not None:
                if not getattr(n, "hook", None):
                    raise T.TestFailure("%s exited with %s instead of starting" %
                                        (n.name, n.proc.returncode))
                self.self_kills += 1
                self.start_node(n, None)
                return False
            return n.running_status() is not None
        self.cluster.wait_for(up, "%s running" % n.name, timeout=120)

    def restart(self, n, rng):
        env_hook = None
        if self.hooks and rng.random() < self.args.self_kill_share:
            env_hook = "crash_after_store_write:%d" % rng.randint(1, 40)
        self.start_node(n, env_hook)
        if rng.random() < 0.1:  # kill it again while it opens its store and starts
            time.sleep(rng.uniform(0.0, 0.3))
            n.kill9()
            self.kill_during_start += 1
            self.start_node(n, None)
        self.wait_running(n)

    def start_node(self, n, hook):
        if hook:
            os.environ["MOMEDO_TEST_CRASH"] = hook
        try:
            n.start(wait=False)
        finally:
            os.environ.pop("MOMEDO_TEST_CRASH", None)
        n.hook = hook

    def killer(self):
        rng = random.Random(self.args.seed * 7919 + 1)
        while self.cycles < self.args.cycles and not self.stop.is_set():
            time.sleep(rng.uniform(0.05, self.args.gap_s))
            # A node armed with a crash point may have killed itself meanwhile.
            for n in self.nodes:
                if n.proc.poll() is not None and getattr(n, "hook", None):
                    self.self_kills += 1
                    n.hook = None
                    self.start_node(n, None)
                    self.wait_running(n)
            n = rng.choice(self.nodes)
            n.kill9()
            time.sleep(rng.uniform(0.0, 1.0))
            self.restart(n, rng)
            self.cycles += 1
            if self.cycles % 50 == 0 or self.args.verbose:
                L = self.ledger
                print("%s cycle %d: %d acked, %d refused, %d fetches, %d violations" % (
                    time.strftime("%H:%M:%S"), self.cycles, len(L.acked),
                    sum(L.refused.values()), L.fetches, len(L.violations)), flush=True)
        self.stop.set()

    # -- the end --
    def settle(self):
        for n in self.nodes:  # a crash point may still be armed: start plain
            if n.proc.poll() is not None or getattr(n, "hook", None):
                if n.proc.poll() is None:
                    n.kill9()
                self.start_node(n, None)
                self.wait_running(n)
        for x in self.nodes:
            for y in self.nodes:
                if x is not y:
                    self.cluster.wait_for(lambda x=x, y=y: x.neighbor_state(y.name) == "up",
                                          "%s-%s up" % (x.name, y.name), timeout=120)

    def missing_for(self, u):
        L = self.ledger
        want = {i for i, (to, t) in L.acked.items() if to == u.name}
        rc, ids = self.fetch(u, False)
        if rc != 0:
            return None
        return {i for i in want - ids if not (i in L.tombstoned or i in L.fetched.get(u.name, ()))}

    def guarded(self, loop, u, seed):
        """A client thread that ends before the soak does is a violation of the harness's
        own promise (the load it claims to apply): recorded, so the run fails loudly
        instead of going on with fewer clients."""
        try:
            loop(u, seed)
        except Exception as e:  # noqa: BLE001 - any death is reported
            with self.ledger.lock:
                self.ledger.violations.append(("client-thread", "%s %s died: %r" %
                                               (loop.__name__, u.name, e)))
            raise

    def converge(self):
        t0 = time.monotonic()
        missing = {}
        while time.monotonic() - t0 < (10 if self.args.selftest else CONVERGE_S):
            missing = {u.name: self.missing_for(u) for u in self.users}
            if all(m is not None and not m for m in missing.values()):
                return time.monotonic() - t0, {}
            time.sleep(1)
        return time.monotonic() - t0, {k: v for k, v in missing.items() if v}

    def run(self):
        t0 = time.monotonic()
        self.setup()
        threads = [threading.Thread(target=self.guarded, args=(self.sender, u, self.args.seed + i),
                                    daemon=True) for i, u in enumerate(self.users)]
        threads += [threading.Thread(target=self.guarded,
                                     args=(self.fetcher, u, self.args.seed + 100 + i),
                                     daemon=True) for i, u in enumerate(self.users)]
        for t in threads:
            t.start()
        self.killer()
        for t in threads:
            t.join()
        self.settle()
        if self.args.selftest:  # the checks must see a loss and a phantom
            with self.ledger.lock:
                u = self.users[0]
                for i, (to, t) in list(self.ledger.acked.items()):
                    if to == u.name and i not in self.ledger.tombstoned:
                        del self.ledger.posted[t]
                        break
                self.ledger.acked["00" * 32] = (u.name, "selftest: acked, never stored")
        conv_s, missing = self.converge()
        L = self.ledger
        lost = sorted(i for m in missing.values() for i in m)
        for i in lost:
            L.violations.append(("lost", "%s (%r to %s)" % (i, L.acked[i][1], L.acked[i][0])))
        final = {}
        for u in self.users:
            rc, lines, err = run_probe(u, u.node, "fetch", "--raw-text")
            final[u.name] = {x["text"] for x in lines if x.get("kind") == "item"}
        acked_texts = {t for (_, t) in L.acked.values()}
        unacked_stored = sum(1 for u in self.users for t in final[u.name]
                             if t not in acked_texts)
        self.cluster.stop_all_cleanly()
        res = {
            "cycles": self.cycles, "self_kills_after_write": self.self_kills,
            "kills_during_start": self.kill_during_start, "nodes": len(self.nodes),
            "users": len(self.users), "acknowledged": len(L.acked),
            "posted": len(L.posted), "refused": L.refused, "fetches": L.fetches,
            "probe_failures": L.probe_failures, "lost": len(lost),
            "stored_unacknowledged": unacked_stored,
            "violations": len(L.violations), "converge_s": round(conv_s, 1),
            "run_s": round(time.monotonic() - t0, 1), "seed": self.args.seed,
            "test_hooks": self.hooks,
        }
        return res, L.violations


def main():
    ap = argparse.ArgumentParser(description="momedo crash soak")
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--users", type=int, default=6)
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    ap.add_argument("--gap-s", type=float, default=2.0, help="longest wait between kills")
    ap.add_argument("--recon-ms", type=int, default=2000)
    ap.add_argument("--self-kill-share", type=float, default=0.3,
                    help="share of restarts armed with a crash point (test-hook builds)")
    ap.add_argument("--short", action="store_true", help="5 cycles (ctest)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--selftest", action="store_true",
                    help="fake one lost post and one phantom: the soak must report both")
    args = ap.parse_args()
    if args.short:
        args.cycles = 5
    print("soak: seed %d, %d cycles, %d nodes, %d users" % (args.seed, args.cycles, args.nodes,
                                                            args.users), flush=True)
    s = Soak(args)
    try:
        res, violations = s.run()
    except T.TestFailure as e:
        print("soak FAILED (seed %d): %s" % (args.seed, e))
        s.cluster.close()
        return 1
    for kind, detail in violations[:50]:
        print("VIOLATION %s: %s" % (kind, detail))
    print("soak: " + json.dumps(res, sort_keys=True), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1, sort_keys=True)
    ok = not violations and res["lost"] == 0
    if args.selftest:
        kinds = sorted({k for k, _ in violations})
        ok = res["lost"] == 1 and kinds == ["lost", "phantom"]
        print("soak selftest: violations %s, lost %d: %s" % (kinds, res["lost"],
                                                            "ok" if ok else "FAILED"))
        s.cluster.close()
        return 0 if ok else 1
    if not ok:
        print("soak FAILED (seed %d): the node directories and ledger are kept in %s" %
              (args.seed, s.cluster.dir))
        T._live_clusters.remove(s.cluster)  # keep the evidence
        for p in s.cluster.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
        return 1
    s.cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
