#!/usr/bin/env python3
"""tests/bench/run_client_bench.py — end-to-end client benchmarks with real momedod nodes
and real `momedo` clients on 127.0.0.1 (measurement, not a test; nothing here asserts a
timing). Two federated nodes, west and east (neighbors over mutual TLS); Alice's home is
the west, Bob's the east. Every message is encrypted by Alice's client, posted to the
west, replicated to the east, pushed to Bob's `listen`, decrypted and printed.

  messages  N messages (default 1000) written to Alice's `momedo bot` (JSON lines in),
            at most W (--window, default 100) of them not yet printed by Bob's `momedo
            listen --json`. Messages per second end to end = N / (last line printed by
            listen - first line written to the bot). Latency per message = time listen
            printed it - time its line was written to the bot; it includes the wait in
            the bot's input queue (up to W lines). A window above the client's event
            queue (NODEAPI_EVENTS_MAX = 256) is fine: listen fetches from its cursor
            when events were dropped (--window 1000 = unpaced).
  latency   M messages (default 200) one at a time: the next line is written only after
            listen printed the previous one. p50 / p99 of that latency (no queueing).
  receive   N messages (--messages) sent by Alice's bot while Bob is offline; once the
            east holds them all, Bob's `momedo sync --json` takes them in one run: fetch
            pages of 200, decrypt, store (history.db: one transaction per page), save,
            acknowledge, send delivery receipts. Messages per second = N / wall time of
            that sync (the client's receive path alone, no sender in the way).
  photo     a 5 MB file (random bytes) with `momedo send bob --file`: time of the send
            command, time until Bob's listen has saved it (byte for byte, checked), frame
            bytes in/out of both nodes (status bytes_in/bytes_out: Hello, requests,
            responses, replication; TLS records add ~22 bytes per 16 KiB), the bytes sent
            over the west->east link, chunk objects, and growth of the data directories.

Both timestamps of a latency are taken in this process (time.monotonic, one clock):
when a line was written to the bot's stdin, and when listen's JSON line was read from
its stdout. Nodes run with the per-device rate limit and mailbox quota lifted (as in
run_node_bench.py); everything else at its default, including synced RocksDB writes.
Clients use scrypt log2 N = 10 for their vaults (unlock in ~1 ms; the default 15 costs
~0.1 s per command, which the bot and listen pay once).

Binaries come from $MOMEDO_BIN (node/momedod, admin/momedo-admin, client/momedo).
Prints one JSON line per run, then a short table.
"""
import argparse
import hashlib
import json
import os
import queue
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import momedo_testlib as T  # noqa: E402
import run_node_bench as NB  # noqa: E402

PASS = "benchmark passphrase, not a secret"
WAIT_S = int(os.environ.get("BENCH_WAIT_S", "300"))


def pct(xs, p):
    """Nearest-rank percentile of a list (p in 0..100)."""
    s = sorted(xs)
    if not s:
        return None
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def ms(x):
    return None if x is None else round(1000 * x, 1)


def new_user(cluster, name, node):
    """A client (the test driver's) with this benchmark's passphrase, registered at node."""
    c = T.Client(cluster, name, passphrase=PASS, timeout=600).init()
    c.join(node, uses=2)
    return c


class Reader:
    """Reads JSON lines of a process in a thread; each with the time it was read."""

    def __init__(self, proc):
        self.q = queue.Queue()
        self.proc = proc
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        for line in self.proc.stdout:
            t = time.monotonic()
            if line.startswith("{"):
                try:
                    self.q.put((t, json.loads(line)))
                except ValueError:
                    pass

    def get(self, timeout=WAIT_S):
        return self.q.get(timeout=timeout)


def connected(node, n):
    return node.status()["clients_connected"] >= n


def federation(cluster):
    west = NB.configured_node(cluster, "west")
    east = NB.configured_node(cluster, "east")
    cluster.connect(west, east)
    alice = new_user(cluster, "alice", west)
    bob = new_user(cluster, "bob", east)
    alice.add_contact(bob, "bob", timeout=60)
    bob.add_contact(alice, "alice", timeout=60)
    return west, east, alice, bob


def start_pair(cluster, west, east, alice, bob, save_dir=None):
    extra = ["--save-dir", save_dir] if save_dir else []
    listen = bob.spawn("listen", "--json", *extra)
    T.wait_for(lambda: connected(east, 1), "listen connected", timeout=60)
    bot = alice.spawn("bot", stdin=True)
    T.wait_for(lambda: connected(west, 1), "bot connected", timeout=60)
    return Reader(listen), listen, Reader(bot), bot


def stop(p):
    if p.poll() is None:
        try:
            if p.stdin:
                p.stdin.close()
        except OSError:
            pass
        p.terminate()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def wait_one(reader, want, got, dupes):
    """Read listen lines until one more text of want was printed (see wait_texts)."""
    k = len(got)
    while len(got) == k:
        try:
            t, m = reader.get()
        except queue.Empty:
            raise SystemExit("listen printed %d of %d messages within %d s" % (
                len(got), len(want), WAIT_S))
        if m.get("type") == "message" and m.get("kind") == "text" and m.get("text") in want:
            if m["text"] in got:
                dupes[0] += 1
            else:
                got[m["text"]] = t


def wait_texts(reader, want, got, dupes):
    """Read listen lines until every text in want was printed; got[text] = time of the
    first print, dupes[0] counts texts printed again."""
    while not want.issubset(got):
        try:
            t, m = reader.get()
        except queue.Empty:
            raise SystemExit("listen printed %d of %d messages within %d s; missing e.g. %s" % (
                len(want & set(got)), len(want), WAIT_S, sorted(want - set(got))[:5]))
        if m.get("type") == "message" and m.get("kind") == "text" and m.get("text") in want:
            if m["text"] in got:
                dupes[0] += 1
            else:
                got[m["text"]] = t


def run_messages(n, m, window):
    c = T.Cluster("bench-client")
    try:
        west, east, alice, bob = federation(c)
        lr, listen, br, bot = start_pair(c, west, east, alice, bob)
        procs = {"bot": bot, "listen": listen, "west": west.proc, "east": east.proc}
        sent = {}
        # Throughput: at most `window` messages written but not yet printed by listen.
        texts = ["bench-%05d" % i for i in range(n)]
        got, dupes, i = {}, [0], 0
        t0 = time.monotonic()
        cpu0 = {k: NB.proc(p.pid)[0] for k, p in procs.items()}
        while len(got) < n:
            while i < n and i - len(got) < window:
                bot.stdin.write(json.dumps({"to": "bob", "text": texts[i]}) + "\n")
                bot.stdin.flush()
                sent[texts[i]] = time.monotonic()
                i += 1
            wait_one(lr, set(texts[:i]), got, dupes)
        cpu1 = {k: NB.proc(p.pid)[0] for k, p in procs.items()}
        t_last = max(got[t] for t in texts)
        lat = [got[t] - sent[t] for t in texts]
        bursts = {"messages": n, "window": window, "seconds": round(t_last - t0, 2),
                  "msgs_per_s": round(n / (t_last - t0), 1),
                  "lat_p50_ms": ms(pct(lat, 50)), "lat_p99_ms": ms(pct(lat, 99)),
                  "lat_max_ms": ms(max(lat)), "duplicates_printed": dupes[0],
                  "cpu_pct": {k: round(100 * (cpu1[k] - cpu0[k]) / (t_last - t0))
                              for k in procs}}
        # Bot answers (encrypt + post at the west), for the breakdown.
        acks = 0
        while True:
            try:
                _, x = br.get(timeout=0.5)
            except queue.Empty:
                break
            acks += x.get("type") == "sent" and x.get("ok") is True
        bursts["bot_ok_answers_seen"] = acks
        # Latency: one at a time.
        one = []
        for i in range(m):
            t = "lat-%05d" % i
            ts = time.monotonic()
            bot.stdin.write(json.dumps({"to": "bob", "text": t}) + "\n")
            bot.stdin.flush()
            g = {}
            wait_texts(lr, {t}, g, dupes)
            one.append(g[t] - ts)
        closed = {"messages": m, "lat_p50_ms": ms(pct(one, 50)), "lat_p99_ms": ms(pct(one, 99)),
                  "lat_min_ms": ms(min(one)), "lat_max_ms": ms(max(one))}
        stop(bot)
        stop(listen)
        c.stop_all_cleanly()
        return {"run": "messages", "windowed": bursts, "one_at_a_time": closed}
    finally:
        c.close()


def run_receive(n):
    c = T.Cluster("bench-receive")
    try:
        west, east, alice, bob = federation(c)
        bot = alice.spawn("bot", stdin=True)
        br = Reader(bot)
        bot.stdin.write("".join(json.dumps({"to": "bob", "text": "recv-%05d" % i}) + "\n"
                                for i in range(n)))
        bot.stdin.flush()
        ok = 0
        while ok < n:
            _, x = br.get()
            ok += x.get("type") == "sent" and x.get("ok") is True
        stop(bot)
        T.wait_for(lambda: east.status()["objects"]["ozone_item"] >= n, "%d items at the east" % n,
                   timeout=WAIT_S)
        t0 = time.monotonic()
        p = bob.run("sync", "--json")
        secs = time.monotonic() - t0
        texts = set(m.get("text") for m in T.json_lines(p.stdout)
                    if m.get("type") == "message" and m.get("kind") == "text")
        c.stop_all_cleanly()
        return {"run": "receive", "messages": n, "received": len(texts), "seconds": round(secs, 2),
                "msgs_per_s": round(n / secs, 1)}
    finally:
        c.close()


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def snap(west, east):
    s = {}
    for n in (west, east):
        st = n.status()
        link = [x for x in st["neighbors"]][0]
        s[n.name] = {"in": st["bytes_in"], "out": st["bytes_out"], "link_in": link["bytes_in"],
                     "link_out": link["bytes_out"], "chunks": st["objects"]["chunk"],
                     "items": st["objects"]["ozone_item"], "disk": du(n.dir)}
    return s


def run_photo(mb):
    c = T.Cluster("bench-photo")
    try:
        west, east, alice, bob = federation(c)
        photo = os.path.join(c.dir, "photo.jpg")
        data = os.urandom(int(mb * 1000 * 1000))
        with open(photo, "wb") as f:
            f.write(data)
        inbox = os.path.join(c.dir, "inbox")
        listen = bob.spawn("listen", "--json", "--save-dir", inbox)
        lr = Reader(listen)
        T.wait_for(lambda: connected(east, 1), "listen connected", timeout=60)
        time.sleep(1)  # let the first sync's traffic settle before the counters
        before = snap(west, east)
        t0 = time.monotonic()
        alice.run("send", "bob", "--file", photo)
        t_send = time.monotonic() - t0
        while True:
            t, msg = lr.get()
            if msg.get("type") == "message" and msg.get("kind") == "file":
                break
        t_e2e = t - t0
        with open(msg["file"]["path"], "rb") as f:
            same = hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()
        time.sleep(1)  # receipts and acknowledgements
        after = snap(west, east)
        stop(listen)
        d = {k: {f: after[k][f] - before[k][f] for f in after[k]} for k in after}
        res = {"run": "photo", "file_bytes": len(data), "identical": same,
               "send_s": round(t_send, 2), "end_to_end_s": round(t_e2e, 2),
               "west_in": d["west"]["in"], "west_out": d["west"]["out"],
               "link_west_to_east": d["west"]["link_out"],
               "east_in": d["east"]["in"], "east_out": d["east"]["out"],
               "chunks_west": d["west"]["chunks"], "chunks_east": d["east"]["chunks"],
               "disk_growth_west": d["west"]["disk"], "disk_growth_east": d["east"]["disk"]}
        c.stop_all_cleanly()
        return res
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["messages", "receive", "photo", "all"])
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--latency", type=int, default=200)
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--photo-mb", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=1)
    o = ap.parse_args()
    rows = []
    for _ in range(o.repeat):
        if o.what in ("messages", "all"):
            rows.append(run_messages(o.messages, o.latency, o.window))
            print(json.dumps(rows[-1]), flush=True)
        if o.what in ("receive", "all"):
            rows.append(run_receive(o.messages))
            print(json.dumps(rows[-1]), flush=True)
        if o.what in ("photo", "all"):
            rows.append(run_photo(o.photo_mb))
            print(json.dumps(rows[-1]), flush=True)
    for r in rows:
        if r["run"] == "messages":
            u, a = r["windowed"], r["one_at_a_time"]
            print("messages: %d (window %d) in %.2f s = %.0f msg/s end to end (latency incl. "
                  "queue p50 %.0f ms, p99 %.0f ms); one at a time: p50 %.1f ms, p99 %.1f ms" % (
                      u["messages"], u["window"], u["seconds"], u["msgs_per_s"], u["lat_p50_ms"],
                      u["lat_p99_ms"], a["lat_p50_ms"], a["lat_p99_ms"]))
        elif r["run"] == "receive":
            print("receive: %d messages queued, one sync took them in %.2f s = %.0f msg/s "
                  "(%d distinct printed)" % (r["messages"], r["seconds"], r["msgs_per_s"],
                                             r["received"]))
        else:
            print("photo: %d bytes, send %.2f s, at the receiver after %.2f s, identical=%s; "
                  "west in/out %d/%d, link west->east %d, east in/out %d/%d; chunks %d; disk "
                  "+%d / +%d" % (r["file_bytes"], r["send_s"], r["end_to_end_s"], r["identical"],
                                 r["west_in"], r["west_out"], r["link_west_to_east"],
                                 r["east_in"], r["east_out"], r["chunks_west"],
                                 r["disk_growth_west"], r["disk_growth_east"]))


if __name__ == "__main__":
    main()
