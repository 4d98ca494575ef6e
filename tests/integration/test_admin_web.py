"""The web console's HTTP API without a browser (`momedo-admin web` against real
momedods): the token (missing, wrong, only in the query for a change: 403), Host names
other than loopback (403), cross-origin and cross-site POSTs (403), the content type
(415), bounds (413 for a large body, 400 with a sentence for malformed JSON, unknown
or missing fields, out-of-range numbers, overlong strings), the security headers, the
language picked from Accept-Language, an invite made through the API whose QR code
(zbarimg) registers a real `momedo` client that the API then lists and removes, a
neighbor added and removed, a stopped node (503), and a non-loopback --listen refused."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402
import consolelib as C  # noqa: E402


class WebApiTest(T.ClusterTest, unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.node = self.cluster.add_node("alpha")
        self.con = C.Console(self.cluster, self.node)

    def assertRefused(self, r, status, words):
        self.assertEqual(r[0], status, r)
        self.assertIsInstance(r[2], dict, r)
        self.assertFalse(r[2]["ok"])
        self.assertIn(words, r[2]["error"])

    def test_token_host_and_headers(self):
        c = self.con
        self.assertEqual(len(c.token), 64)  # 256 bits in hex
        # The page itself needs the token.
        self.assertRefused(c.request("/", token=None), 403, "wrong token")
        self.assertRefused(c.request("/api/status", token=None), 403, "wrong token")
        wrong = ("0" if c.token[0] != "0" else "1") + c.token[1:]
        self.assertRefused(c.request("/api/status", token=wrong), 403, "wrong token")
        self.assertRefused(c.request("/api/status", token=c.token[:-1]), 403, "wrong token")
        self.assertRefused(c.request("/app.js", token=None), 403, "wrong token")
        st, h, page = c.request("/", token="query")
        self.assertEqual(st, 200)
        self.assertIn('content="%s"' % c.token, page)
        self.assertIn("script-src 'self'", h["Content-Security-Policy"])
        self.assertIn("frame-ancestors 'none'", h["Content-Security-Policy"])
        self.assertEqual(h["X-Frame-Options"], "DENY")
        self.assertEqual(h["Referrer-Policy"], "no-referrer")
        self.assertNotIn("<script>", page)  # no inline script
        self.assertIn('<html lang="en">', page)
        de = c.request("/", token="query", headers={"Accept-Language": "fr;q=1, de-DE;q=0.8, en;q=0.5"})
        self.assertIn('<html lang="de">', de[2])
        en = c.request("/", token="query", headers={"Accept-Language": "de;q=0.3, en-GB"})
        self.assertIn('<html lang="en">', en[2])
        # DNS rebinding: a foreign name in Host is refused even with the token.
        self.assertRefused(c.request("/api/status", headers={"Host": "evil.example:%d" % c.port}),
                           403, "Host")
        self.assertEqual(c.request("/api/status", headers={"Host": "localhost:8000"})[0], 200)
        st, _, s = c.request("/api/status")
        self.assertEqual(st, 200)
        self.assertEqual(s["name"], "alpha")
        self.assertEqual(s["fingerprint"], self.node.fingerprint())
        self.assertEqual(c.request("/nope")[0], 404)
        self.assertEqual(c.request("/api/status", body={})[0], 405)
        self.assertEqual(c.request("/api/status", method="DELETE")[0], 405)

    def test_changes_need_header_and_same_origin(self):
        c = self.con
        body = {"uses": 2, "expires_s": 3600}
        self.assertRefused(c.request("/api/invites/create", body, token="query"), 403, "header")
        self.assertRefused(c.request("/api/invites/create", body,
                                     headers={"Origin": "http://evil.example"}), 403, "cross-origin")
        self.assertRefused(c.request("/api/invites/create", body,
                                     headers={"Origin": "http://127.0.0.1:1"}), 403, "cross-origin")
        self.assertRefused(c.request("/api/invites/create", body,
                                     headers={"Sec-Fetch-Site": "cross-site"}), 403, "cross-origin")
        self.assertRefused(c.request("/api/invites/create", body,
                                     headers={"Content-Type": "text/plain"}), 415, "JSON")
        self.assertEqual(self.node.admin("invites")["invites"], [])  # nothing was made
        ok = c.request("/api/invites/create", body,
                       headers={"Origin": c.base, "Sec-Fetch-Site": "same-origin"})
        self.assertEqual(ok[0], 200, ok)
        self.assertEqual(len(self.node.admin("invites")["invites"]), 1)

    def test_bounds_and_malformed_json(self):
        c = self.con
        cases = [
            (b"{", 400, "malformed JSON"),
            (b"", 400, "JSON object body"),
            (b"[1,2]", 400, "must be a JSON object"),
            (b'{"uses":2,"expires_s":3600} x', 400, "text after"),
            (b'{"uses":2,"expires_s":3600,"x":1}', 400, "unknown field 'x'"),
            (b'{"uses":2}', 400, "'expires_s' is missing"),
            (b'{"uses":0,"expires_s":3600}', 400, "'uses' must be a whole number from 1 to 100000"),
            (b'{"uses":1.5,"expires_s":3600}', 400, "'uses' must be a whole number"),
            (b'{"uses":"3","expires_s":3600}', 400, "'uses' must be a whole number"),
            (b'{"uses":2,"expires_s":1e300}', 400, "'expires_s' must be a whole number"),
            (b'{"uses":2,"uses":3,"expires_s":3600}', 400, "given twice"),
            (b'{"uses":2,"expires_s":3600,"address":""}', 400, "'address' must have 1 to"),
        ]
        for raw, status, words in cases:
            with self.subTest(raw=raw):
                self.assertRefused(c.request("/api/invites/create", raw), status, words)
        big = b'{"uses":2,"expires_s":3600,"address":"' + b"a" * 5000 + b'"}'
        self.assertRefused(c.request("/api/invites/create", big), 413, "larger than 4096")
        self.assertRefused(c.request("/api/neighbors/add", {"name": "n" * 64, "address": "a:1",
                                                            "fingerprint": "x"}),
                           400, "'name' must have 1 to 63")
        self.assertRefused(c.request("/api/neighbors/add", {"name": "a\nb", "address": "a:1",
                                                            "fingerprint": "x"}),
                           400, "control character")
        self.assertRefused(c.request("/api/neighbors/add", {"name": "b", "address": "a:1",
                                                            "fingerprint": "x", "partner": 1}),
                           400, "true or false")
        # Deep nesting is still only a malformed or unknown field, never a crash.
        self.assertEqual(c.request("/api/neighbors/remove", b"[" * 3000)[0], 400)
        # The node's own checks come back as 400 with its sentence.
        r = c.request("/api/neighbors/add", {"name": "beta", "address": "127.0.0.1:1",
                                             "fingerprint": "nonsense-fp"})
        self.assertRefused(r, 400, "64 hex digits")
        self.assertEqual(r[2]["status"], "E_INVAL")
        self.assertEqual(self.node.admin("neighbor", "list")["neighbors"], [])
        self.assertTrue(self.con.proc.poll() is None, "the console died")

    def test_invite_qr_registers_client_and_removal(self):
        c = self.con
        st, _, inv = c.request("/api/invites/create", {"uses": 2, "expires_s": 86400})
        self.assertEqual(st, 200, inv)
        self.assertTrue(inv["code"].startswith("momedo2:"), inv)
        listed = c.request("/api/invites")[2]["invites"]
        self.assertEqual([(x["id"], x["uses_left"], x["printable"]) for x in listed],
                         [(inv["id"], 2, True)])
        self.assertEqual(c.request("/api/invite?id=" + inv["id"])[2]["code"], inv["code"])
        self.assertEqual(c.request("/api/invite?id=0000000000000000")[0], 404)
        st, h, svg = c.request("/qr.svg?id=" + inv["id"], token="query")
        self.assertEqual(st, 200)
        self.assertEqual(h["Content-Type"], "image/svg+xml")
        pgm = os.path.join(self.cluster.dir, "invite.pgm")
        self.assertGreater(C.svg_to_pgm(svg, pgm), 100)
        self.assertEqual(C.zbar_decode(pgm), [inv["code"]])
        # The scanned code registers a real client.
        cl = T.Client(self.cluster, "pupil").init()
        out = cl.j("join", C.zbar_decode(pgm)[0])[0]
        self.assertTrue(out["ok"], out)
        parts = self.cluster.wait_for(lambda: c.request("/api/participants")[2]["participants"],
                                      "the device listed")
        self.assertEqual([p["user_id"] for p in parts], [cl.user_id])
        self.assertEqual(c.request("/api/invites")[2]["invites"][0]["uses_left"], 1)
        dev = parts[0]["device_key"]
        r = c.request("/api/participants/remove", {"device": dev})
        self.assertEqual(r[0], 200, r)
        self.assertEqual(c.request("/api/participants")[2]["participants"], [])
        self.assertRefused(c.request("/api/participants/remove", {"device": dev}), 404, "")
        # Revoke the invite; the code no longer registers anyone.
        self.assertEqual(c.request("/api/invites/revoke", {"id": inv["id"]})[0], 200)
        self.assertEqual(c.request("/api/invites")[2]["invites"], [])
        other = T.Client(self.cluster, "late").init()
        self.assertNotEqual(other.j("join", inv["code"], check=False)[1].returncode, 0)

    def test_neighbor_add_remove_and_node_down(self):
        c = self.con
        beta = self.cluster.add_node("beta")
        beta.admin("neighbor", "add", "alpha", self.node.address(), self.node.fingerprint())
        r = c.request("/api/neighbors/add", {"name": "beta", "address": beta.address(),
                                             "fingerprint": beta.fingerprint(), "partner": True})
        self.assertEqual(r[0], 200, r)
        self.cluster.wait_for(
            lambda: [n["state"] for n in c.request("/api/status")[2]["neighbors"]] == ["up"],
            "beta up in the console")
        self.assertRefused(c.request("/api/neighbors/add", {"name": "beta",
                                                            "address": beta.address(),
                                                            "fingerprint": beta.fingerprint()}),
                           409, "already a neighbor")
        self.assertEqual(c.request("/api/neighbors/remove", {"name": "beta"})[0], 200)
        self.assertEqual(self.node.admin("neighbor", "list")["neighbors"], [])
        self.node.stop()
        r = c.request("/api/status")
        self.assertRefused(r, 503, "not running")
        self.assertEqual(r[2]["status"], "E_CONNREFUSED")
        self.assertEqual(c.stop(), 0)

    def test_listen_loopback_only(self):
        for addr in ("0.0.0.0:0", "[::]:0", "192.0.2.1:9472"):
            p = T.run([T.ADMIN, "--dir", self.node.dir, "web", "--listen", addr], check=False)
            self.assertEqual(p.returncode, 2, (addr, p.stderr))
            self.assertIn("loopback only", p.stderr)
        p = T.run([T.ADMIN, "--dir", self.node.dir, "web", "--listen", "nonsense"], check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("HOST:PORT", p.stderr)
        p = T.run([T.ADMIN, "--dir", self.node.dir, "web", "--listen", "127.0.0.1:%d" % self.con.port],
                  check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot listen", p.stderr)


if __name__ == "__main__":
    unittest.main()
