#!/usr/bin/env python3
"""tests/integration/faultproxy.py — a fault-injecting TCP proxy for the network tests
(this kernel has no netem). Each route listens on one address and forwards every
connection to a target; per route, settable while it runs:

  delay_ms, jitter_ms   every read is delivered this much later (order kept)
  rate_bps              bytes per second in each direction (0: unlimited)
  stall_p, stall_ms     after a read, with probability p, nothing moves for stall_ms
  reset_p               after a read, with probability p, both sides get a TCP RST
  truncate_p            after a read, with probability p, half of it is delivered and
                        both sides are closed
  rechunk               split reads into random pieces and merge them (what TCP may do)
  swap_p                with probability p, two consecutive reads are delivered swapped
                        (TLS sees garbage and drops the link)
  cut                   no connection: new ones are refused, open ones reset

Control: a Unix socket (--control PATH) taking one JSON object per line and answering
one: {"cmd": "set", "route": NAME, "faults": {...}} | {"cmd": "cut", "route": NAME,
"on": true} | {"cmd": "stats"}.
usage: faultproxy.py --control PATH --route NAME=LHOST:LPORT=THOST:TPORT [--route ...]
       [--seed N]; prints "ready" once every route listens."""
import argparse
import asyncio
import json
import random
import socket
import struct
import sys
import time

READ_BYTES = 65536
CONNECT_TIMEOUT_S = 5


class Route:
    def __init__(self, name, listen, target):
        self.name, self.listen, self.target = name, listen, target
        self.faults = {}
        self.conns = set()
        self.stats = {"conns": 0, "refused": 0, "bytes": 0, "stalls": 0, "resets": 0,
                      "truncations": 0, "swaps": 0}

    def f(self, key, default=0):
        return self.faults.get(key, default)


class Proxy:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.routes = {}

    async def handle(self, route, reader, writer):
        if route.f("cut", False):
            route.stats["refused"] += 1
            rst(writer)
            return
        try:
            treader, twriter = await asyncio.wait_for(
                asyncio.open_connection(*route.target), CONNECT_TIMEOUT_S)
        except (OSError, asyncio.TimeoutError):
            route.stats["refused"] += 1
            rst(writer)
            return
        route.stats["conns"] += 1
        pair = (writer, twriter)
        route.conns.add(pair)
        done = asyncio.Event()
        tasks = [asyncio.ensure_future(self.pump(route, reader, twriter, pair, done)),
                 asyncio.ensure_future(self.pump(route, treader, writer, pair, done))]
        await done.wait()
        for t in tasks:
            t.cancel()
        route.conns.discard(pair)
        for w in pair:
            w.close()

    async def pump(self, route, reader, writer, pair, done):
        """One direction: a reader task queues reads with their due time, this task
        writes them in order, applying the route's faults."""
        q = asyncio.Queue()

        async def read_side():
            last_due = 0.0
            try:
                while True:
                    data = await reader.read(READ_BYTES)
                    if not data:
                        break
                    delay = (route.f("delay_ms") + self.rng.uniform(0, route.f("jitter_ms"))) / 1e3
                    last_due = max(last_due, time.monotonic() + delay)
                    await q.put((last_due, data))
            except (OSError, asyncio.CancelledError):
                pass
            await q.put((0.0, b""))

        rt = asyncio.ensure_future(read_side())
        held = None
        try:
            while True:
                due, data = await q.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    break
                if route.f("swap_p") and self.rng.random() < route.f("swap_p") and held is None:
                    held = data  # delivered after the next read
                    route.stats["swaps"] += 1
                    continue
                for piece in ([data, held] if held is not None else [data]):
                    if not await self.deliver(route, writer, pair, piece):
                        return
                held = None
            if held is not None:
                await self.deliver(route, writer, pair, held)
            if writer.can_write_eof():
                writer.write_eof()
            await asyncio.sleep(0.5)  # let the other direction finish its last bytes
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            rt.cancel()
            done.set()

    async def deliver(self, route, writer, pair, data):
        """Write one read with the route's faults; False when the connection is gone."""
        if route.f("reset_p") and self.rng.random() < route.f("reset_p"):
            route.stats["resets"] += 1
            for w in pair:
                rst(w)
            return False
        if route.f("truncate_p") and self.rng.random() < route.f("truncate_p"):
            route.stats["truncations"] += 1
            writer.write(data[:len(data) // 2])
            await writer.drain()
            for w in pair:
                w.close()
            return False
        pieces = [data]
        if route.f("rechunk", False) and len(data) > 1:
            pieces, i = [], 0
            while i < len(data):
                n = self.rng.randint(1, max(1, len(data) - i))
                pieces.append(data[i:i + n])
                i += n
        for p in pieces:
            rate = route.f("rate_bps")
            if rate:
                await asyncio.sleep(len(p) / rate)
            writer.write(p)
            await writer.drain()
            route.stats["bytes"] += len(p)
        if route.f("stall_p") and self.rng.random() < route.f("stall_p"):
            route.stats["stalls"] += 1
            await asyncio.sleep(route.f("stall_ms") / 1e3)
        return True

    async def control(self, reader, writer):
        while True:
            line = await reader.readline()
            if not line:
                break
            try:
                msg = json.loads(line)
                ans = self.command(msg)
            except (ValueError, KeyError) as e:
                ans = {"ok": False, "error": str(e)}
            writer.write((json.dumps(ans) + "\n").encode())
            await writer.drain()
        writer.close()

    def command(self, msg):
        cmd = msg["cmd"]
        if cmd == "stats":
            return {"ok": True, "routes": {n: r.stats for n, r in self.routes.items()}}
        r = self.routes[msg["route"]]
        if cmd == "set":
            r.faults = dict(msg["faults"])
        elif cmd == "cut":
            r.faults["cut"] = bool(msg["on"])
            if msg["on"]:
                for pair in list(r.conns):
                    for w in pair:
                        rst(w)
        else:
            raise KeyError("unknown cmd " + cmd)
        return {"ok": True}


def rst(writer):
    """Close with a TCP reset (SO_LINGER 0)."""
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.close()


def hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--control", required=True)
    ap.add_argument("--route", action="append", default=[])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    px = Proxy(args.seed)
    for spec in args.route:
        name, listen, target = spec.split("=")
        r = Route(name, hostport(listen), hostport(target))
        px.routes[name] = r
        await asyncio.start_server(lambda rd, wr, r=r: px.handle(r, rd, wr), *r.listen)
    await asyncio.start_unix_server(px.control, args.control)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
