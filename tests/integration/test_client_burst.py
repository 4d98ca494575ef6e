"""tests/integration/test_client_burst.py — a burst bigger than the client's event queue
(NODEAPI_EVENTS_MAX = 256): 1,000 messages written at once to Alice's `momedo bot`
while Bob's `momedo listen --json` is stopped (SIGSTOP), so the node's pushes pile up
and more than 256 arrive before listen handles one. listen must print every one of the
1,000 exactly once, without a `sync`: pushes are triggers, the mailbox is read from the
cursor, and when events were dropped listen fetches what they announced.
One node with the per-device rate limit and mailbox quota lifted (as the benchmarks do).
"""
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

MOMEDO = os.path.join(T.BIN, "client", "momedo")
PASS = "burst test passphrase"
BURST = 1000
LIFTED = "\ndevice_posts_per_minute = 100000\nmailbox_items_max = 10000000\n"


class User:
    def __init__(self, cluster, name, node):
        self.cluster = cluster
        self.home = os.path.join(cluster.dir, "c-" + name)
        self.env = dict(os.environ, MOMEDO_PASSPHRASE=PASS)
        self.env.pop("MOMEDO_HOME", None)
        self.user_id = T.json_lines(self.run("init", "--scrypt-log2n", "10", "--json").stdout)[-1]["user_id"]
        self.run("join", node.invite(uses=2), "--json")

    def run(self, *args, check=True):
        cmd = [MOMEDO] + list(args) + ["--home", self.home]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=self.env, timeout=120)
        if check and p.returncode != 0:
            raise T.TestFailure("%s exited %d: %s\n%s" % (" ".join(cmd), p.returncode, p.stderr,
                                                          self.cluster.logs()))
        return p

    def spawn(self, *args):
        p = subprocess.Popen([MOMEDO] + list(args) + ["--home", self.home],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=self.env, bufsize=1)
        self.cluster.procs.append(p)
        return p


def reader(proc):
    q = queue.Queue()

    def run():
        for line in proc.stdout:
            if line.startswith("{"):
                q.put(json.loads(line))
    threading.Thread(target=run, daemon=True).start()
    return q


def collect(q, pred, n, what, cluster):
    got = []
    while len([x for x in got if pred(x)]) < n:
        try:
            got.append(q.get(timeout=T.WAIT_S))
        except queue.Empty:
            raise T.TestFailure("%s: %d of %d within %d s\n%s" % (
                what, len([x for x in got if pred(x)]), n, T.WAIT_S, cluster.logs()))
    return [x for x in got if pred(x)]


class ClientBurst(T.ClusterTest, unittest.TestCase):

    def test_listen_prints_every_message_of_a_burst(self):
        node = self.cluster.add_node("burst", start=False)
        with open(os.path.join(node.dir, "momedo.conf"), "a") as f:
            f.write(LIFTED)
        node.start()
        alice = User(self.cluster, "alice", node)
        bob = User(self.cluster, "bob", node)
        alice.run("contact", "add", bob.user_id, "--name", "bob")
        bob.run("contact", "add", alice.user_id, "--name", "alice")
        listen = bob.spawn("listen", "--json")
        lq = reader(listen)
        self.cluster.wait_for(lambda: node.status()["clients_connected"] >= 1, "listen connected")
        bot = alice.spawn("bot")
        bq = reader(bot)
        self.cluster.wait_for(lambda: node.status()["clients_connected"] >= 2, "bot connected")
        # Stopped, listen handles nothing: every push waits, far more than 256 of them.
        os.kill(listen.pid, signal.SIGSTOP)
        try:
            want = ["burst %d" % i for i in range(BURST)]
            bot.stdin.write("".join(json.dumps({"to": "bob", "text": t}) + "\n" for t in want))
            bot.stdin.flush()
            sent = collect(bq, lambda x: x.get("type") == "sent", BURST, "bot answers",
                           self.cluster)
            self.assertEqual(sum(1 for x in sent if x["ok"]), BURST, sent[:3])
        finally:
            os.kill(listen.pid, signal.SIGCONT)
        texts = [x["text"] for x in collect(
            lq, lambda x: x.get("type") == "message" and x.get("kind") == "text", BURST,
            "messages printed by listen", self.cluster)]
        self.assertEqual(sorted(texts), sorted(want))  # all, and none twice
        bot.stdin.close()
        self.assertEqual(bot.wait(timeout=60), 0)
        listen.terminate()
        listen.wait(timeout=30)
        # Nothing was left for a later sync: listen fetched and acknowledged it all.
        out = T.json_lines(bob.run("sync", "--json").stdout)
        self.assertEqual([x for x in out if x.get("kind") == "text"], [])


if __name__ == "__main__":
    unittest.main()
