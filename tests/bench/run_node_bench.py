#!/usr/bin/env python3
"""tests/bench/run_node_bench.py — starts real momedod nodes on 127.0.0.1 and drives
bench_node_load against them (measurement, not a test; nothing here asserts timings).

  post [--conns 1,4,16] [--items N] [--window W] [--bytes B] [--repeat R]
      Per connection count C, two runs on fresh nodes: one node alone, then A-B
      (neighbors over TLS). C clients post N items in total at A; reports items/s
      acknowledged by A (every item durably stored before its answer), when B holds all
      N, and CPU / RSS of the nodes from /proc. The one-node run then drains what it
      stored as receiving clients do: fetch each page, verify every item's signature,
      acknowledge the page with device-signed tombstones (durable before the answer);
      reports those items/s too ("fetch + verify + ack"). --drain 2 (the default)
      pipelines it (the next fetch leaves when a page arrives, acks await their answers
      meanwhile); --drain 1 waits for each answer before the next request.
  idle [--conns N]
      One node; N TLS clients from 127.0.0.x do the Hello and stay idle; node RSS before,
      with the clients connected, and after they left -> KiB per idle connection.

Binaries come from $MOMEDO_BIN (a build directory with node/momedod, admin/momedo-admin
and tests/bench_node_load: `cmake --build B --target momedod momedo-admin bench`).
Prints one JSON line per run, then a short table.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import momedo_testlib as T  # noqa: E402

LOAD = os.path.join(T.BIN, "tests", "bench_node_load")
HZ = os.sysconf("SC_CLK_TCK")
POLL_S = 0.2

# Limits the benchmark needs lifted (per-device rate, mailbox quota and a device's share
# of a mailbox the node does not know as a device's); everything else stays at its
# default, including durable (synced) RocksDB writes.
BENCH_CONF = ("\ndevice_posts_per_minute = 100000\nmailbox_items_max = 10000000\n"
              "mailbox_items_per_poster_max = 10000000\ndevice_acks_per_minute = 1000000\n")


def proc(pid):
    """(cpu seconds user+sys, VmRSS KiB, VmHWM KiB) of a process."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / HZ
    rss = hwm = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return cpu, rss, hwm


def configured_node(cluster, name):
    n = cluster.add_node(name, start=False)
    with open(os.path.join(n.dir, "momedo.conf"), "a") as f:
        f.write(BENCH_CONF)
    n.start()
    return n


def run_load(args):
    p = subprocess.run([LOAD] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=1800)
    try:
        out = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise SystemExit("bench_node_load printed no result: %r %r" % (p.stdout, p.stderr))
    return out


def single_run(conns, items, window, nbytes, drain=2):
    """One node, no neighbor: what clients alone get acknowledged."""
    c = T.Cluster("bench-one")
    try:
        a = configured_node(c, "a")
        pa = a.proc.pid
        cpu0, _, _ = proc(pa)
        t0 = time.monotonic()
        out = run_load(["post", "--invite", a.invite(uses=conns), "--conns", conns, "--items",
                        items, "--window", window, "--bytes", nbytes, "--pid", pa,
                        "--drain", drain])
        wall = time.monotonic() - t0
        cpu1, rss, hwm = proc(pa)
        st = out["procs"][0]
        res = {"run": "post-single", "conns": conns, "items": items, "window": window,
               "drain_mode": drain,
               "item_bytes": nbytes, "accepted_per_s": out.get("items_per_s"),
               "acked": out.get("acked"), "refused": out.get("refused"),
               "post_seconds": out.get("seconds"), "a_cpu_pct_post": st["cpu_pct"],
               "a_cpu_pct_run": round(100 * (cpu1 - cpu0) / wall), "a_rss_kib": rss,
               "a_hwm_kib": hwm, "load_ok": out.get("ok"), "error": out.get("error")}
        d = out.get("drain") or {}
        res.update({"drained": d.get("items"), "drain_invalid": d.get("invalid"),
                    "drain_seconds": d.get("seconds"), "drained_per_s": d.get("items_per_s"),
                    "a_cpu_s_drain": (d.get("cpu_s") or [None])[0]})
        c.stop_all_cleanly()
        return res
    finally:
        c.close()


def post_run(conns, items, window, nbytes):
    c = T.Cluster("bench-post")
    try:
        a = configured_node(c, "a")
        b = configured_node(c, "b")
        c.connect(a, b)
        code = a.invite(uses=conns)
        pa, pb = a.proc.pid, b.proc.pid
        cpu_a0, _, _ = proc(pa)
        cpu_b0, _, _ = proc(pb)
        t_start = time.monotonic()
        seen = {"first": None, "all": None}

        def watch():  # when does B hold every item?
            while seen["all"] is None and time.monotonic() - t_start < 1800:
                k = b.count("ozone_item")
                now = time.monotonic()
                if k > 0 and seen["first"] is None:
                    seen["first"] = now
                if k >= items:
                    seen["all"] = now
                    break
                time.sleep(POLL_S)
        w = threading.Thread(target=watch)
        w.start()
        out = run_load(["post", "--invite", code, "--conns", conns, "--items", items,
                        "--window", window, "--bytes", nbytes, "--pid", pa, "--pid", pb])
        t_acked = time.monotonic()
        w.join()
        cpu_a1, rss_a, hwm_a = proc(pa)
        cpu_b1, rss_b, hwm_b = proc(pb)
        wall = (seen["all"] or time.monotonic()) - t_start
        res = {
            "run": "post", "conns": conns, "items": items, "window": window,
            "item_bytes": nbytes, "accepted_per_s": out.get("items_per_s"),
            "acked": out.get("acked"), "refused": out.get("refused"),
            "post_seconds": out.get("seconds"),
            "b_has_all": seen["all"] is not None,
            "b_lag_after_last_ack_s": round((seen["all"] or t_acked) - t_acked, 2),
            "replicated_per_s": round(items / wall) if seen["all"] else None,
            "window_seconds": round(wall, 2),
            "a_cpu_pct": round(100 * (cpu_a1 - cpu_a0) / wall),
            "b_cpu_pct": round(100 * (cpu_b1 - cpu_b0) / wall),
            "a_rss_kib": rss_a, "a_hwm_kib": hwm_a, "b_rss_kib": rss_b, "b_hwm_kib": hwm_b,
            "during_post": out.get("procs"), "load_ok": out.get("ok"),
            "error": out.get("error"),
        }
        c.stop_all_cleanly()
        return res
    finally:
        c.close()


def idle_run(conns, hold_s):
    c = T.Cluster("bench-idle")
    try:
        a = c.add_node("a")
        out = run_load(["idle", "--invite", a.invite(uses=1), "--conns", conns,
                        "--pid", a.proc.pid, "--hold-s", hold_s])
        st = out["procs"][0]
        res = {"run": "idle", "conns": conns, "up": out["up"], "failed": out["failed"],
               "dropped": out["dropped"], "connect_seconds": out["connect_seconds"],
               "rss_before_kib": st["rss_before_kib"], "rss_connected_kib": st["rss_after_kib"],
               "rss_after_close_kib": st["rss_closed_kib"], "hwm_kib": st["hwm_kib"],
               "kib_per_conn": st["kib_per_conn"], "rss_held_kib": st["rss_held_kib"],
               "kib_per_conn_held": st["kib_per_conn_held"], "load_ok": out["ok"],
               "error": out.get("error")}
        c.stop_all_cleanly()
        return res
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["post", "idle", "all"])
    ap.add_argument("--conns", default=None)
    ap.add_argument("--items", type=int, default=30000)
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--bytes", type=int, default=256)
    ap.add_argument("--hold-s", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=1, help="post runs per configuration")
    ap.add_argument("--drain", type=int, choices=[1, 2], default=2,
                    help="the one-node drain: 1 waits for each answer, 2 pipelines")
    o = ap.parse_args()
    results = []
    if o.what in ("post", "all"):
        for _ in range(o.repeat):  # the machine is shared: repeat and read the spread
            for k in (o.conns or "1,4,16").split(","):
                for fn in (lambda: single_run(int(k), o.items, o.window, o.bytes, o.drain),
                           lambda: post_run(int(k), o.items, o.window, o.bytes)):
                    r = fn()
                    print(json.dumps(r), flush=True)
                    results.append(r)
    if o.what in ("idle", "all"):
        r = idle_run(int(o.conns or 10000) if o.what == "idle" else 10000, o.hold_s)
        print(json.dumps(r), flush=True)
        results.append(r)
    for r in results:
        if r["run"] == "post-single":
            print("post conns=%-3d one node   accepted %6s items/s  CPU %d%%  RSS %d KiB "
                  "(peak %d); fetch + verify + ack %s items/s (node CPU %s s)" % (
                      r["conns"], r["accepted_per_s"], r["a_cpu_pct_post"], r["a_rss_kib"],
                      r["a_hwm_kib"], r["drained_per_s"], r["a_cpu_s_drain"]))
        elif r["run"] == "post":
            print("post conns=%-3d A-B pair   accepted %6s items/s  B complete %5.2f s after last ack "
                  "(%s items/s end to end)  CPU A %d%% B %d%%  RSS A %d KiB B %d KiB" % (
                      r["conns"], r["accepted_per_s"], r["b_lag_after_last_ack_s"],
                      r["replicated_per_s"], r["a_cpu_pct"], r["b_cpu_pct"], r["a_rss_kib"],
                      r["b_rss_kib"]))
        else:
            print("idle conns=%d up=%d  RSS %d -> %d KiB (%.1f KiB/conn), %d KiB after close" % (
                r["conns"], r["up"], r["rss_before_kib"], r["rss_connected_kib"],
                r["kib_per_conn"], r["rss_after_close_kib"]))


if __name__ == "__main__":
    main()
