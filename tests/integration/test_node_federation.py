"""Federation tests with real momedod processes on 127.0.0.1 in flood mode (scope =
flood; scoped delivery: test_scoped_delivery.py): replication along a line
A-B-C (items and key bundles), lookup by user ID and alias anywhere (aliases only from
a home node, surviving kill -9), catch-up after a restart, convergence after a partition,
durability across kill -9, refusal of a wrong-key peer, disconnection of a peer that
sends malformed or oversized frames, and no plaintext in any node's data directory."""
import os
import socket
import ssl
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

GROUP = "6d6f6d65646f2d746573742d67726f75702d6d61696c626f782d303030303031"  # 32 bytes


def texts(items):
    return sorted(x.get("text", "") for x in items)


class FederationTest(T.ClusterTest, unittest.TestCase):
    # What these tests assert is flooding (every bundle and item at every node, lookups
    # answered anywhere): `scope = flood`, the baseline mode. Scoped delivery, where a
    # node holds only what names it, is test_scoped_delivery.py.
    def setUp(self):
        super().setUp()
        self.cluster.conf += "scope = flood\n"

    def line(self, names=("a", "b", "c")):
        nodes = [self.cluster.add_node(n) for n in names]
        for x, y in zip(nodes, nodes[1:]):
            self.cluster.connect(x, y)
        return nodes

    def published_user(self, name, node):
        p = self.cluster.probe(name, node)
        p.register()
        p.publish()
        return p

    def wait_bundle(self, asker, user, node):
        self.cluster.wait_for(lambda: asker.lookup(user.user_id, node=node, check=False)[0] == 0,
                              "bundle of %s at %s" % (user.name, node.name))

    def test_line_item_and_bundle(self):
        a, b, c = self.line()
        pa = self.published_user("pa", a)
        pc = self.published_user("pc", c)
        # A bundle published at C is found at A (and the other way round).
        self.wait_bundle(pa, pc, a)
        self.wait_bundle(pc, pa, c)
        got = pa.lookup(pc.user_id, node=a)
        self.assertEqual(got["user_id"], pc.user_id)
        # Live push at C for an item posted at A.
        listen = pc.spawn("listen", "--count", "1", "--open", node=c)
        self.cluster.wait_for(lambda: c.status()["clients_connected"] >= 1, "listener connected")
        pa.post_to(pc.user_id, "hello from A")
        out, err = listen.communicate(timeout=90)
        self.assertEqual(listen.returncode, 0, err)
        self.assertIn("hello from A", texts(T.json_lines(out)))
        self.assertEqual(texts(pc.fetch(node=c)), ["hello from A"])
        # Ack at C removes the item everywhere.
        pc.fetch(node=c, ack=True)
        for n in (a, b, c):
            self.cluster.wait_for(lambda n=n: n.count("ozone_item") == 0, "item gone at " + n.name)

    def test_alias_and_user_id_lookup(self):
        a, b, c = self.line()
        pa = self.published_user("pa", a)
        pc = self.published_user("pc", c)
        alias = pa.run("alias")[-1]["alias"]
        self.assertRegex(alias, r"^[0-9A-HJKMNP-TV-Z]{8}$")
        self.assertEqual(pa.run("alias")[-1]["alias"], alias)  # reused, not a new one
        # Found at C through the alias (typed in lower case with a dash) and the user ID.
        typed = (alias[:4] + "-" + alias[4:]).lower()
        self.cluster.wait_for(
            lambda: pc.run("lookup", "--alias", typed, node=c, check=False)[0] == 0,
            "alias of pa at c")
        got = pc.run("lookup", "--alias", typed, node=c)[-1]
        self.assertEqual(got["user_id"], pa.user_id)
        self.assertEqual(got["alias"], alias)
        self.assertEqual(pc.lookup(pa.user_id, node=c)["user_id"], pa.user_id)
        rc, out, err = pc.run("lookup", "--alias", "ZZZZZZZZ", node=c, check=False)
        self.assertNotEqual(rc, 0)
        # B is not a home node in pa's bundle: it does not issue pa an alias.
        pa.run("register", node=b)
        rc, out, err = pa.run("alias", node=b, check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("not a home node", err + str(out))
        # The indexes are part of the objects' batches: they survive kill -9.
        c.kill9()
        c.start()
        self.assertEqual(pc.run("lookup", "--alias", alias, node=c)[-1]["user_id"], pa.user_id)
        self.assertEqual(pc.lookup(pa.user_id, node=c)["user_id"], pa.user_id)

    def test_catch_up_after_restart(self):
        a, b, c = self.line()
        pa = self.published_user("pa", a)
        pc = self.published_user("pc", c)
        self.wait_bundle(pa, pc, a)
        self.assertEqual(c.stop(), 0)
        sent = ["while C was down %d" % i for i in range(5)]
        for t in sent:
            pa.post_to(pc.user_id, t)
        self.cluster.wait_for(lambda: b.count("ozone_item") == 5, "5 items at B")
        c.start()
        self.cluster.wait_for(lambda: texts(pc.fetch(node=c)) == sorted(sent),
                              "C caught up after restart")

    def test_partition_converges(self):
        a, b, c = self.line()
        pa = self.published_user("pa", a)
        pc = self.published_user("pc", c)
        self.cluster.wait_for(lambda: a.count("key_bundle") == 2 and c.count("key_bundle") == 2,
                              "bundles everywhere")
        self.assertEqual(b.stop(), 0)
        for i in range(4):
            pa.post_mailbox(GROUP, "west %d" % i, node=a)
            pc.post_mailbox(GROUP, "east %d" % i, node=c)
        self.assertEqual(a.count("ozone_item"), 4)
        self.assertEqual(c.count("ozone_item"), 4)
        b.start()
        for n in (a, b, c):
            self.cluster.wait_for(lambda n=n: n.count("ozone_item") == 8, "8 items at " + n.name)
        want = sorted(["west %d" % i for i in range(4)] + ["east %d" % i for i in range(4)])
        for n, p in ((a, pa), (c, pc)):
            got = p.run("fetch", "--mailbox", GROUP, "--raw-text", node=n)
            self.assertEqual(texts([x for x in got if "seq" in x]), want)

    def test_kill9_after_ack(self):
        a = self.cluster.add_node("a")
        pa = self.published_user("pa", a)
        sent = ["durable %d" % i for i in range(20)]
        for t in sent:
            self.assertTrue(pa.post_mailbox(pa.mailbox, t)["ok"])
        a.kill9()
        a.start()
        got = pa.run("fetch", "--raw-text")
        self.assertEqual(texts([x for x in got if "seq" in x]), sorted(sent))

    def test_wrong_key_peer_refused(self):
        a = self.cluster.add_node("a")
        c = self.cluster.add_node("c")
        d = self.cluster.add_node("d", start=False)
        # A pins D's fingerprint for the node at C's address.
        a.admin("neighbor", "add", "c", c.address(), d.fingerprint())
        c.admin("neighbor", "add", "a", a.address(), a.fingerprint())

        def refused():
            nb = a.status()["neighbors"][0]
            return nb["state"] == "refused" and "expected " + d.fingerprint() in nb["last_error"]
        self.cluster.wait_for(refused, "A refuses the node at C's address")
        # C dialing A is refused too: A does not know C's key.
        self.cluster.wait_for(lambda: "not a configured neighbor" in a.log(), "inbound refusal")
        self.assertGreaterEqual(a.status()["peers_refused"], 2)
        self.assertNotEqual(c.neighbor_state("a"), "up")

    def raw_tls(self, node):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        s = socket.create_connection(("127.0.0.1", node.port), timeout=30)
        return ctx.wrap_socket(s)

    def closed_by_node(self, s):
        """Read until the node closes the connection; True if it did."""
        try:
            while s.recv(65536):
                pass
            return True
        except (ConnectionError, ssl.SSLError):
            return True
        except socket.timeout:
            return False
        finally:
            s.close()

    def test_garbage_peer_disconnected(self):
        a, b = self.line(("a", "b"))
        pa = self.published_user("pa", a)
        pa.post_mailbox(pa.mailbox, "kept")
        self.cluster.wait_for(lambda: b.count("ozone_item") == 1, "item at B")
        before = a.status()["objects"]
        # Oversized: a length header far beyond frame_bytes_max.
        s = self.raw_tls(a)
        s.sendall(struct.pack(">I", 0x7FFFFFFF) + b"x" * 100)
        self.assertTrue(self.closed_by_node(s))
        # Malformed: a frame whose body is not protobuf.
        s = self.raw_tls(a)
        s.sendall(struct.pack(">I", 16) + b"\xff" * 16)
        self.assertTrue(self.closed_by_node(s))
        # Plain garbage instead of TLS.
        r = socket.create_connection(("127.0.0.1", a.port), timeout=30)
        r.sendall(b"GET / HTTP/1.0\r\n\r\n" * 10)
        self.assertTrue(self.closed_by_node(r))
        # The node keeps serving everyone else and lost nothing.
        self.assertEqual(a.neighbor_state("b"), "up")
        self.assertEqual(a.status()["objects"], before)
        got = pa.run("fetch", "--raw-text")
        self.assertEqual(texts([x for x in got if "seq" in x]), ["kept"])
        self.assertTrue(a.is_running())

    def test_no_plaintext_on_disk(self):
        a, b = self.line(("a", "b"))
        pa = self.published_user("pa", a)
        pb = self.published_user("pb", b)
        self.wait_bundle(pa, pb, a)
        marker = "PLAINTEXT-MARKER-7f3a9c"
        pa.post_to(pb.user_id, marker, seal=True)
        self.cluster.wait_for(lambda: marker in texts(pb.fetch(node=b)), "marker delivered")
        self.assertEqual(a.stop(), 0)
        self.assertEqual(b.stop(), 0)
        needle = marker.encode()
        for n in (a, b):
            for root, _, files in os.walk(n.dir):
                for f in files:
                    path = os.path.join(root, f)
                    with open(path, "rb") as fh:
                        self.assertNotIn(needle, fh.read(), path)


if __name__ == "__main__":
    unittest.main(verbosity=2)
