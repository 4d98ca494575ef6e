"""tests/integration/netlab.py — real network faults for the integration tests: every
node in a network namespace of its own, joined by a veth pair to one proxy namespace
where tests/integration/faultproxy.py carries each neighbor link (a node reaches its
neighbors only through it), so links can be shaped (delay, stalls, resets, truncation,
reordering) and cut (`ip link set down` on a node's interface). Needs root and `ip`;
NetLab.unavailable() says why not. Everything it creates is removed on close(), also
when a test fails (ClusterTest's cleanup), and at interpreter exit."""
import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import momedo_testlib as T

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_PORT = 4710
PROXY_PORT_BASE = 6000
SUBNET = "10.203"


def sh(*args, check=True):
    p = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and p.returncode != 0:
        raise T.TestFailure("%s: %s" % (" ".join(args), p.stderr.strip()))
    return p


class NsNode(T.Node):
    """A momedod in namespace ns, listening on addr."""

    def __init__(self, cluster, name, lab):
        super().__init__(cluster, name, NODE_PORT)
        self.lab = lab
        self.ns = lab.ns[name]
        self.host = lab.node_ip(name)

    def init(self):
        p = T.run([T.ADMIN, "init", "--dir", self.dir, "--listen", self.address(), "--name",
                   self.name, "--json"])
        out = json.loads(p.stdout)
        self._fp = out["fingerprint"]
        self.node_key = out["node_key"]
        return out

    def address(self):
        return "%s:%d" % (self.host, NODE_PORT)

    def start(self, wait=True, nofile=None):
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, T.MOMEDOD, "--dir",
                                      self.dir], stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        self.cluster.procs.append(self.proc)
        if wait:
            T.wait_for(lambda: self.running_status() is not None, "node %s to start" % self.name)
        return self


class NsUser:
    """A momedo-probe user registered at its home node, run inside that node's namespace."""

    def __init__(self, cluster, name, home):
        self.name, self.home = name, home
        self.keys = os.path.join(cluster.dir, name + ".keys")
        T.run([T.PROBE, "keygen", "--keys", self.keys])
        ident = T.json_lines(T.run([T.PROBE, "--keys", self.keys, "--json", "id"]).stdout)[-1]
        self.user_id, self.mailbox = ident["user_id"], ident["mailbox"]
        code = home.invite(uses=10)
        self.run("register", invite=code)
        self.run("publish")

    def run(self, *args, invite=None, check=True):
        where = ["--invite", invite] if invite else ["--node", self.home.address(), "--node-key",
                                                     self.home.node_key]
        cmd = ["ip", "netns", "exec", self.home.ns, T.PROBE, "--keys", self.keys, "--json",
               "--timeout-ms", "20000"] + where + list(args)
        p = T.run(cmd, check=check, timeout=60)
        return T.json_lines(p.stdout) if check else (p.returncode, T.json_lines(p.stdout))

    def post(self, mailbox, text, count=1):
        out = self.run("post", "--mailbox", mailbox, "--text", text, "--count", str(count))
        return [x["id"] for x in out if "id" in x and "i" in x]


class NetLab:
    """Namespaces for nodes `names` and the proxy, routes for the neighbor pairs
    `edges` (both directions), and the running proxy."""

    _why_not = False  # not asked yet

    @staticmethod
    def unavailable():
        """None when namespaces can be made here, else why not (asked once: root, `ip`,
        and a probe namespace really created and removed, since a container may give
        root without CAP_SYS_ADMIN / CAP_NET_ADMIN)."""
        if NetLab._why_not is not False:
            return NetLab._why_not
        why = None
        if os.geteuid() != 0:
            why = "needs root to create network namespaces"
        elif not shutil.which("ip"):
            why = "needs iproute2 (ip); scripts/deps.sh installs it"
        else:
            probe = "mnprobe%04x" % (os.getpid() & 0xffff)
            p = sh("ip", "netns", "add", probe, check=False)
            if p.returncode != 0:
                why = "cannot create a network namespace here (ip netns add: %s)" % (
                    p.stderr.strip() or "exit %d" % p.returncode)
            else:
                p = sh("ip", "-n", probe, "link", "set", "lo", "up", check=False)
                if p.returncode != 0:
                    why = "cannot configure a network namespace here (%s)" % p.stderr.strip()
                sh("ip", "netns", "del", probe, check=False)
        NetLab._why_not = why
        return why

    def __init__(self, cluster, names, edges, seed=1):
        self.cluster = cluster
        self.tag = "%04x" % (os.getpid() & 0xffff)
        self.names = list(names)
        self.ns = {x: "mn%s%s" % (self.tag, x) for x in names}
        self.pxns = "mn%spx" % self.tag
        self.proxy = None
        self.created = []
        atexit.register(self.close)
        sh("ip", "netns", "add", self.pxns)
        self.created.append(self.pxns)
        sh("ip", "-n", self.pxns, "link", "set", "lo", "up")
        for i, x in enumerate(names, 1):
            sh("ip", "netns", "add", self.ns[x])
            self.created.append(self.ns[x])
            sh("ip", "-n", self.ns[x], "link", "set", "lo", "up")
            sh("ip", "link", "add", self.ifname(x), "netns", self.ns[x], "type", "veth", "peer",
               "name", "p" + self.ifname(x), "netns", self.pxns)
            sh("ip", "-n", self.ns[x], "addr", "add", "%s.%d.2/24" % (SUBNET, i), "dev",
               self.ifname(x))
            sh("ip", "-n", self.pxns, "addr", "add", "%s.%d.1/24" % (SUBNET, i), "dev",
               "p" + self.ifname(x))
            sh("ip", "-n", self.ns[x], "link", "set", self.ifname(x), "up")
            sh("ip", "-n", self.pxns, "link", "set", "p" + self.ifname(x), "up")
        self.control = os.path.join(cluster.dir, "proxy.ctl")
        routes = []
        for x, y in edges:
            for u, v in ((x, y), (y, x)):
                routes += ["--route", "%s%s=%s=%s:%d" % (u, v, self.via(u, v), self.node_ip(v),
                                                         NODE_PORT)]
        self.proxy = subprocess.Popen(
            ["ip", "netns", "exec", self.pxns, sys.executable,
             os.path.join(HERE, "faultproxy.py"), "--control", self.control, "--seed",
             str(seed)] + routes, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cluster.procs.append(self.proxy)
        if self.proxy.stdout.readline().strip() != "ready":
            raise T.TestFailure("fault proxy did not start: " + self.proxy.stderr.read())

    def ifname(self, x):
        return "v%s%s" % (self.tag, x)

    def index(self, x):
        return self.names.index(x) + 1

    def node_ip(self, x):
        return "%s.%d.2" % (SUBNET, self.index(x))

    def via(self, x, y):
        """The proxy address on x's side that leads to y."""
        return "%s.%d.1:%d" % (SUBNET, self.index(x), PROXY_PORT_BASE + self.index(y))

    def link(self, x, up):
        sh("ip", "-n", self.ns[x], "link", "set", self.ifname(x), "up" if up else "down")

    def ctl(self, msg):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.control)
        s.sendall((json.dumps(msg) + "\n").encode())
        ans = json.loads(s.makefile().readline())
        s.close()
        if not ans.get("ok"):
            raise T.TestFailure("proxy: %s" % ans)
        return ans

    def faults(self, x, y, **f):
        """The same faults on both directions of the x-y link (an empty set clears)."""
        for r in (x + y, y + x):
            self.ctl({"cmd": "set", "route": r, "faults": f})

    def close(self):
        if self.proxy is not None and self.proxy.poll() is None:
            self.proxy.kill()
            self.proxy.wait()
        for ns in reversed(self.created):
            sh("ip", "netns", "del", ns, check=False)
        self.created = []


def converged(nodes, want):
    """True when every node holds want = {kind: count}."""
    for n in nodes:
        objs = n.status()["objects"]
        if any(objs.get(k, 0) != v for k, v in want.items()):
            return False
    return True


def time_until(cond, timeout, interval=0.05):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if cond():
                return time.monotonic() - t0
        except Exception:  # noqa: BLE001 - a node may be restarting
            pass
        time.sleep(interval)
    return None


def sim_prediction(scenario, runs, workdir):
    """Run momedo-sim on the scenario text `runs` times; the per-run convergence times
    after the last heal (s) and delivery delays t_last (s)."""
    sim = os.path.join(T.BIN, "simulations", "momedo-sim")
    path = os.path.join(workdir, "pred.scn")
    with open(path, "w") as f:
        f.write(scenario)
    out = os.path.join(workdir, "pred")
    p = subprocess.run([sim, path, "--runs", str(runs), "--out", out], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise T.TestFailure("momedo-sim failed: %s %s" % (p.stdout[-2000:], p.stderr[-2000:]))
    conv, last = [], []
    for d in sorted(os.listdir(out)):
        sp = os.path.join(out, d, "summary.json")
        if d.startswith("run_") and os.path.exists(sp):
            with open(sp) as f:
                s = json.load(f)
            if s.get("converge_ms") is not None:
                conv.append(s["converge_ms"] / 1000.0)
            last.append(s["t_last_max_ms"] / 1000.0)
    return conv, last
