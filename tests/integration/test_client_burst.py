"""tests/integration/test_client_burst.py — a burst bigger than the client's event queue
(NODEAPI_EVENTS_MAX = 256): 600 messages written at once to Alice's `momedo bot`
while Bob's `momedo listen --json` is stopped (SIGSTOP), so the node's pushes pile up
and more than 256 arrive before listen handles one. listen must print every one of the
600 exactly once, without a `sync`: pushes are triggers, the mailbox is read from the
cursor, and when events were dropped listen fetches what they announced.
One node with the per-device rate limit and mailbox quota lifted (as the benchmarks do).
"""
import json
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

BURST = 600
LIFTED = "device_posts_per_minute = 100000\nmailbox_items_max = 10000000"


class ClientBurst(T.ClusterTest, unittest.TestCase):

    def test_listen_prints_every_message_of_a_burst(self):
        node = self.cluster.add_node("burst", start=False)
        node.configure(LIFTED)
        node.start()
        alice = T.new_client(self.cluster, "alice", node)
        bob = T.new_client(self.cluster, "bob", node)
        alice.run("contact", "add", bob.user_id, "--name", "bob")
        bob.run("contact", "add", alice.user_id, "--name", "alice")
        listen = bob.spawn("listen", "--json")
        lq = T.JsonReader(listen, self.cluster)
        self.cluster.wait_for(lambda: node.status()["clients_connected"] >= 1, "listen connected")
        bot = alice.spawn("bot", stdin=True)
        bq = T.JsonReader(bot, self.cluster)
        self.cluster.wait_for(lambda: node.status()["clients_connected"] >= 2, "bot connected")
        # Stopped, listen handles nothing: every push waits, far more than 256 of them.
        os.kill(listen.pid, signal.SIGSTOP)
        try:
            want = ["burst %d" % i for i in range(BURST)]
            bot.stdin.write("".join(json.dumps({"to": "bob", "text": t}) + "\n" for t in want))
            bot.stdin.flush()
            sent = bq.wait_count(lambda x: x.get("type") == "sent", BURST, "bot answers")
            self.assertEqual(sum(1 for x in sent if x["ok"]), BURST, sent[:3])
        finally:
            os.kill(listen.pid, signal.SIGCONT)
        texts = [x["text"] for x in lq.wait_count(
            lambda x: x.get("type") == "message" and x.get("kind") == "text", BURST,
            "messages printed by listen")]
        self.assertEqual(sorted(texts), sorted(want))  # all, and none twice
        bot.stdin.close()
        self.assertEqual(bot.wait(timeout=60), 0)
        listen.terminate()
        listen.wait(timeout=30)
        # Nothing was left for a later sync: listen fetched and acknowledged it all.
        self.assertEqual([x for x in bob.sync_lines()[0] if x.get("kind") == "text"], [])

    def test_bot_answer_ok_means_the_node_took_it(self):
        """The bot posts a batch's envelopes pipelined after one save; each line's answer
        must still say what happened to that line's post. A node that takes 40 posts a
        minute from Alice's device refuses most of 150 lines written at once: every line
        answered ok is a message Bob receives, every refused line (E_RATE) is not, and
        the answers come in the order of the lines."""
        node = self.cluster.add_node("rate", start=False)
        node.configure("device_posts_per_minute = 40\nmailbox_items_max = 10000000")
        node.start()
        alice = T.new_client(self.cluster, "alice", node)
        bob = T.new_client(self.cluster, "bob", node)
        alice.run("contact", "add", bob.user_id, "--name", "bob")
        bob.run("contact", "add", alice.user_id, "--name", "alice")
        bot = alice.spawn("bot", stdin=True)
        bq = T.JsonReader(bot, self.cluster)
        self.cluster.wait_for(lambda: node.status()["clients_connected"] >= 1, "bot connected")
        n = 150
        want = ["line %d" % i for i in range(n)]
        bot.stdin.write("".join(json.dumps({"to": "bob", "text": t}) + "\n" for t in want))
        bot.stdin.flush()
        sent = bq.wait_count(lambda x: x.get("type") == "sent", n, "bot answers")
        bot.stdin.close()
        self.assertEqual(bot.wait(timeout=60), 0)
        ok = [want[i] for i, x in enumerate(sent) if x["ok"]]
        refused = [x for x in sent if not x["ok"]]
        self.assertTrue(ok and refused, "a limit of 40 a minute takes some of 150, not all")
        self.assertTrue(all(x["error"] == "E_RATE" for x in refused), refused[:3])
        ids = [x["id"] for x in sent if x["ok"]]
        self.assertEqual(len(set(ids)), len(ids))
        got = [x["text"] for x in bob.sync_lines()[0]
               if x.get("type") == "message" and x.get("kind") == "text"]
        self.assertEqual(sorted(got), sorted(ok))  # ok = received; refused = not


if __name__ == "__main__":
    unittest.main()
