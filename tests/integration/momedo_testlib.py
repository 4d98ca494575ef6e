"""tests/integration/momedo_testlib.py — real momedod processes on 127.0.0.1 for the
integration tests (Python 3 standard library only).

A Cluster owns a temporary directory under $MOMEDO_TEST_TMP, the nodes in it (each
created with `momedo-admin init` on a free port) and every process it started. It
always kills them and removes the directory: on close(), at interpreter exit (atexit)
and when a test fails. Binaries come from $MOMEDO_BIN (the build directory):
node/momedod, admin/momedo-admin, tests/momedo-probe, client/momedo.

Probe drives the test client momedo-probe; Client drives one device of the real
`momedo` command line (every integration test and the client benchmark use it);
JsonReader reads the JSON lines of a long-running one (listen, bot) in a thread.

Waiting is by condition with a generous timeout (wait_for), never by fixed sleeps.
"""
import atexit
import json
import os
import queue
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

BIN = os.environ.get("MOMEDO_BIN") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
TMP = os.environ.get("MOMEDO_TEST_TMP") or tempfile.gettempdir()
MOMEDOD = os.path.join(BIN, "node", "momedod")
ADMIN = os.path.join(BIN, "admin", "momedo-admin")
PROBE = os.path.join(BIN, "tests", "momedo-probe")
MOMEDO = os.path.join(BIN, "client", "momedo")
CLIENT_PASS = "correct horse battery staple"
CLIENT_SCRYPT_LOG2N = "10"  # vault unlock in ~1 ms; the default 15 costs ~0.1 s a command
WAIT_S = float(os.environ.get("MOMEDO_TEST_WAIT_S", "60"))

_live_clusters = []


def _cleanup_all():
    for c in list(_live_clusters):
        c.close()


atexit.register(_cleanup_all)


class TestFailure(AssertionError):
    pass


def free_port():
    """A TCP port that was free a moment ago on 127.0.0.1."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def wait_for(cond, what, timeout=WAIT_S, interval=0.1):
    """Poll cond() until it returns a true value (returned) or raise after timeout."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = cond()
            if v:
                return v
        except Exception as e:  # a node may be restarting: keep polling
            last_exc = e
        if time.monotonic() > deadline:
            raise TestFailure("timed out after %.0f s waiting for %s%s" % (
                timeout, what, " (last error: %s)" % last_exc if last_exc else ""))
        time.sleep(interval)


def run(args, check=True, timeout=60, env=None):
    """Run a command; returns CompletedProcess (text)."""
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, env=env)
    if check and p.returncode != 0:
        raise TestFailure("%s exited %d\nstdout: %s\nstderr: %s" % (
            " ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


class Node:
    def __init__(self, cluster, name, port):
        self.cluster = cluster
        self.name = name
        self.port = port
        self.dir = os.path.join(cluster.dir, name)
        self.log_path = os.path.join(cluster.dir, name + ".log")
        self.proc = None
        self._fp = None

    # -- lifecycle --
    def init(self):
        p = run([ADMIN, "init", "--dir", self.dir, "--listen", "127.0.0.1:%d" % self.port,
                 "--name", self.name, "--json"])
        out = json.loads(p.stdout)
        self._fp = out["fingerprint"]
        return out

    def start(self, wait=True, nofile=None, args=(), env=None):
        """Start momedod; nofile=(soft, hard) sets its open-file limit first; args are
        added to its command line, env replaces its environment."""
        if self.proc is not None and self.proc.poll() is None:
            raise TestFailure("node %s is already running" % self.name)
        preexec = None
        if nofile is not None:
            def preexec():
                resource.setrlimit(resource.RLIMIT_NOFILE, nofile)
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([MOMEDOD, "--dir", self.dir] + list(args), stdout=logf,
                                     stderr=subprocess.STDOUT, preexec_fn=preexec, env=env)
        logf.close()
        self.cluster.procs.append(self.proc)
        if wait:
            wait_for(lambda: self.running_status() is not None, "node %s to start" % self.name)
        return self

    def configure(self, text):
        """Add lines to the node's momedo.conf (read at its next start). A key set again
        replaces its earlier line (momedod refuses a key set twice), so a test can
        override the cluster's defaults (Cluster.conf, TEST_CONF)."""
        path = os.path.join(self.dir, "momedo.conf")
        new = [ln for ln in text.splitlines() if ln.strip()]
        keys = {ln.split("=", 1)[0].strip() for ln in new if "=" in ln}
        with open(path) as f:
            old = [ln for ln in f.read().splitlines()
                   if "=" not in ln or ln.split("=", 1)[0].strip() not in keys]
        with open(path, "w") as f:
            f.write("\n".join(old + new) + "\n")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None or self.proc.poll() is not None:
            return None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise TestFailure("node %s did not stop within %d s after signal %d" % (
                self.name, timeout, sig))

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def is_running(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # -- admin --
    def admin(self, *args, check=True, as_json=True):
        cmd = [ADMIN, "--dir", self.dir] + list(args) + (["--json"] if as_json else [])
        p = run(cmd, check=check)
        if not as_json:
            return p
        try:
            out = json.loads(p.stdout)
        except ValueError:
            raise TestFailure("%s printed no JSON object: %r / %r" % (cmd, p.stdout, p.stderr))
        out["_exit"] = p.returncode
        return out

    def running_status(self):
        p = run([ADMIN, "--dir", self.dir, "status", "--json"], check=False)
        if p.returncode != 0:
            return None
        return json.loads(p.stdout)

    def status(self):
        return self.admin("status")

    def fingerprint(self):
        if self._fp is None:
            self._fp = run([ADMIN, "--dir", self.dir, "fingerprint"]).stdout.strip()
        return self._fp

    def address(self):
        return "127.0.0.1:%d" % self.port

    def invite(self, uses=100):
        return self.admin("invite", "--uses", str(uses), "--expires", "1d")["code"]

    def count(self, kind):
        return self.status()["objects"][kind]

    def neighbor_state(self, name):
        for nb in self.status()["neighbors"]:
            if nb["name"] == name:
                return nb["state"]
        return None


class Probe:
    """A test client (momedo-probe) with its own key file, registered at one node."""

    def __init__(self, cluster, name, node):
        self.cluster = cluster
        self.name = name
        self.keys = os.path.join(cluster.dir, name + ".keys")
        self.node = node
        self.code = None
        run([PROBE, "keygen", "--keys", self.keys])
        ident = self.run("id")[-1]
        self.user_id = ident["user_id"]
        self.mailbox = ident["mailbox"]

    def run(self, *args, node=None, check=True, timeout_ms=15000):
        node = node or self.node
        cmd = [PROBE, "--keys", self.keys, "--json", "--timeout-ms", str(timeout_ms)]
        if args and args[0] not in ("id", "keygen"):
            cmd += ["--invite", self.code_for(node)]
        p = run(cmd + list(args), check=check, timeout=timeout_ms / 1000 + 30)
        out = json_lines(p.stdout)
        if not check:
            return p.returncode, out, p.stderr
        return out

    def spawn(self, *args, node=None, invite=None, timeout_ms=60000):
        """A long-running momedo-probe command (listen) at node, killed with the cluster;
        invite overrides the node's shared invite code."""
        cmd = [PROBE, "--keys", self.keys, "--json", "--timeout-ms", str(timeout_ms),
               "--invite", invite or self.code_for(node or self.node)] + list(args)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.cluster.procs.append(p)
        return p

    def code_for(self, node):
        # Registration consumes the token only at the home node; any code of a node
        # works for connecting (it carries address and key).
        codes = self.cluster.codes
        if node.name not in codes:
            codes[node.name] = node.invite(uses=1000)
        return codes[node.name]

    def register(self):
        return self.run("register")[-1]

    def publish(self):
        return self.run("publish")[-1]

    def post_to(self, user_id, text, node=None, seal=True):
        args = ["post", "--to-user", user_id, "--text", text] + (["--seal"] if seal else [])
        return self.run(*args, node=node)[-1]

    def post_mailbox(self, mailbox_hex, text, node=None):
        return self.run("post", "--mailbox", mailbox_hex, "--text", text, node=node)[-1]

    def fetch(self, node=None, ack=False, open_=True):
        args = ["fetch"] + (["--ack"] if ack else []) + (["--open"] if open_ else [])
        lines = self.run(*args, node=node)
        return [x for x in lines if "seq" in x]

    def lookup(self, user_id, node=None, check=True):
        if check:
            return self.run("lookup", "--user-id", user_id, node=node)[-1]
        return self.run("lookup", "--user-id", user_id, node=node, check=False)


class Client:
    """One device of the `momedo` command line: its own home directory in the cluster's,
    its vault passphrase in the environment (MOMEDO_PASSPHRASE). run() raises
    TestFailure with stdout, stderr and every node's log when a command fails (unless
    check=False); j() adds --json and returns the last JSON line with the process."""

    def __init__(self, cluster, name, passphrase=CLIENT_PASS, timeout=120):
        self.cluster = cluster
        self.name = name
        self.home = os.path.join(cluster.dir, "c-" + name)
        self.env = dict(os.environ, MOMEDO_PASSPHRASE=passphrase)
        self.env.pop("MOMEDO_HOME", None)
        self.env.pop("MOMEDO_CHANNEL_PASSPHRASE", None)
        self.timeout = timeout
        self.user_id = None

    def run(self, *args, check=True, timeout=None, input=None):
        """input: text for the command's stdin (else /dev/null)."""
        cmd = [MOMEDO] + list(args) + ["--home", self.home]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=self.env, timeout=timeout or self.timeout,
                           input=input if input is not None else "")
        if check and p.returncode != 0:
            raise TestFailure("%s exited %d\nstdout: %s\nstderr: %s\n%s" % (
                " ".join(cmd), p.returncode, p.stdout, p.stderr, self.cluster.logs()))
        return p

    def j(self, *args, check=True, input=None):
        """(last JSON line or None, CompletedProcess) of the command run with --json."""
        p = self.run(*(list(args) + ["--json"]), check=check, input=input)
        lines = json_lines(p.stdout)
        return (lines[-1] if lines else None), p

    def lines(self, *args):
        """Every JSON line the command prints with --json."""
        return json_lines(self.run(*(list(args) + ["--json"])).stdout)

    def init(self):
        self.user_id = self.j("init", "--scrypt-log2n", CLIENT_SCRYPT_LOG2N)[0]["user_id"]
        return self

    def join(self, node, uses=5):
        return self.j("join", node.invite(uses=uses))[0]

    def ident(self):
        return self.j("id")[0]

    def sync_lines(self, *extra):
        """Every JSON line of one `sync`, and its stderr."""
        p = self.run("sync", "--json", *extra)
        return json_lines(p.stdout), p.stderr

    def sync(self, *extra):
        """The messages of one `sync`."""
        return [m for m in self.sync_lines(*extra)[0] if m.get("type") == "message"]

    def texts(self, *extra):
        return [m["text"] for m in self.sync(*extra) if m["kind"] == "text"]

    def history(self, to):
        return self.lines("history", to)

    def add_contact(self, other, name, timeout=WAIT_S):
        """Add other as a contact once its bundle has replicated to this client's node."""
        self.cluster.wait_for(lambda: self.j("contact", "add", other.user_id, "--name", name,
                                             check=False)[1].returncode == 0,
                              "%s's bundle visible to %s" % (other.name, self.name), timeout)

    def spawn(self, *args, stdin=False):
        """A long-running command (listen, bot), killed with the cluster. Its stdin is
        a pipe when stdin is true, else /dev/null."""
        p = subprocess.Popen([MOMEDO] + list(args) + ["--home", self.home],
                             stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=self.env, bufsize=1)
        self.cluster.procs.append(p)
        return p


def forget_vault_records(home, *names):
    """Remove sealed records from a client's vault.db (as if trimmed or evicted), the
    way someone with the disk could: SQLite directly, no passphrase needed."""
    import sqlite3
    db = sqlite3.connect(os.path.join(home, "vault.db"), timeout=30)
    try:
        with db:
            for n in names:
                if db.execute("DELETE FROM vault_files WHERE name = ?", (n,)).rowcount != 1:
                    raise AssertionError("no record %r in %s/vault.db" % (n, home))
    finally:
        db.close()


def new_client(cluster, name, node):
    """A new user with one device, registered at node."""
    c = Client(cluster, name).init()
    c.join(node)
    return c


def new_pair(cluster, node_name="westcity"):
    """(node, alice, bob): a new node and two users on it, contacts of each other."""
    node = cluster.add_node(node_name)
    alice, bob = new_client(cluster, "alice", node), new_client(cluster, "bob", node)
    alice.add_contact(bob, "bob")
    bob.add_contact(alice, "alice")
    return node, alice, bob


def link_device(cluster, primary, name):
    """A second device of primary's user: `device link --yes` runs on primary (it shows a
    code and waits), `device join` on the new device reads the code from stdin."""
    link = primary.spawn("device", "link", "--yes", "--json")
    reader = JsonReader(link, cluster)
    code = reader.until(lambda ls: any(x.get("event") == "code" for x in ls),
                        "the link code")[-1]["code"]
    dev = Client(cluster, name)
    dev.j("device", "join", "--scrypt-log2n", CLIENT_SCRYPT_LOG2N, input=code + "\n")
    reader.until(lambda ls: any(x.get("event") == "linked" for x in ls), "the link to finish")
    if link.wait(timeout=WAIT_S) != 0:
        raise TestFailure("device link exited %d: %s" % (link.returncode, link.stderr.read()))
    link.stdout.close()
    link.stderr.close()
    dev.user_id = primary.user_id
    dev.link_code = code
    return dev


class JsonReader:
    """The JSON lines a process prints, read in a thread. until(pred) reads until
    pred(lines) holds; if no line comes for `timeout` seconds it kills the process and
    raises TestFailure with the lines so far, its stderr and the nodes' logs."""

    def __init__(self, proc, cluster, timeout=WAIT_S):
        self.proc = proc
        self.cluster = cluster
        self.timeout = timeout
        self.lines = []
        self._q = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("{"):
                self._q.put(json.loads(line))

    def until(self, pred, what):
        while not pred(self.lines):
            try:
                self.lines.append(self._q.get(timeout=self.timeout))
            except queue.Empty:
                self.proc.kill()
                raise TestFailure("%s: no line within %d s; output so far %r\nstderr: %s\n%s" % (
                    what, self.timeout, self.lines[-20:], self.proc.stderr.read(),
                    self.cluster.logs())) from None
        return self.lines

    def count(self, pred):
        return len([x for x in self.lines if pred(x)])

    def wait_count(self, pred, n, what):
        """Read until n lines satisfy pred; returns those lines."""
        self.until(lambda ls: self.count(pred) >= n, what)
        return [x for x in self.lines if pred(x)]


# Every test node re-signs its node record for a changed user summary within 1 s
# instead of the default 60 s, so a user registered a moment ago can be looked up from
# another city at once (what the tests assert is the lookup, not the record rate limit;
# with the default, each cross-city contact add waited up to a minute).
TEST_CONF = "record_min_interval_ms = 1s\n"


class Cluster:
    def __init__(self, label):
        os.makedirs(TMP, exist_ok=True)
        # Short: the admin socket path inside must stay under 108 bytes.
        self.dir = tempfile.mkdtemp(prefix="m-%s-" % label[:16], dir=TMP)
        self.nodes = {}
        self.procs = []
        self.codes = {}
        self.conf = TEST_CONF  # momedo.conf lines every node added from now on gets
        _live_clusters.append(self)

    def add_node(self, name, start=True):
        n = Node(self, name, free_port())
        n.init()
        if self.conf:
            n.configure(self.conf)
        self.nodes[name] = n
        if start:
            n.start()
        return n

    def two_cities(self):
        """Two running nodes, westcity and eastcity, neighbors of each other."""
        a = self.add_node("westcity")
        b = self.add_node("eastcity")
        self.connect(a, b)
        return a, b

    def probe(self, name, node):
        return Probe(self, name, node)

    def connect(self, a, b, wait=True, partner=True):
        """Make a and b neighbors of each other (both directions, both running); with
        partner, each names the other to registering clients as a partner (a home of
        its users); without, the link only carries traffic."""
        flag = ("--partner",) if partner else ()
        a.admin("neighbor", "add", b.name, b.address(), b.fingerprint(), *flag)
        b.admin("neighbor", "add", a.name, a.address(), a.fingerprint(), *flag)
        if wait:
            wait_for(lambda: a.neighbor_state(b.name) == "up" and
                     b.neighbor_state(a.name) == "up",
                     "link %s-%s up" % (a.name, b.name))

    def wait_for(self, cond, what, timeout=WAIT_S):
        """wait_for, with every node's log tail in the failure message."""
        try:
            return wait_for(cond, what, timeout)
        except TestFailure as e:
            raise TestFailure("%s\n%s" % (e, self.logs())) from None

    def check(self, cond, what):
        if not cond:
            raise TestFailure("%s\n%s" % (what, self.logs()))

    def stop_all_cleanly(self):
        """SIGTERM every running node; each must exit 0 (under ASan: no leaks)."""
        bad = []
        for n in self.nodes.values():
            if n.is_running():
                rc = n.stop()
                if rc != 0:
                    bad.append("%s exited %s" % (n.name, rc))
        if bad:
            raise TestFailure("unclean stop: %s\n%s" % (", ".join(bad), self.logs()))

    def logs(self):
        return "\n".join("---- %s ----\n%s" % (n.name, n.log()[-6000:])
                         for n in self.nodes.values())

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.kill()
                except OSError:
                    pass
                p.wait()
        self.procs = []
        shutil.rmtree(self.dir, ignore_errors=True)
        if self in _live_clusters:
            _live_clusters.remove(self)


class ClusterTest:
    """Mixin for unittest.TestCase: self.cluster, cleaned up always; logs on failure."""

    def setUp(self):
        self.cluster = Cluster(self.id().split(".")[-1])
        self.addCleanup(self.cluster.close)
        self.addCleanup(self.cluster.stop_all_cleanly)  # runs first
