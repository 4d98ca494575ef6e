"""tests/integration/test_node_metrics.py — momedod's Prometheus metrics with real
processes on 127.0.0.1: the page carries what it should (build info, uptime, clients,
neighbors up and per-neighbor traffic, objects by kind, posts accepted and refused by
reason, reconciliation, the fsync histogram, store size) with the values the node's
traffic implies; Debian's `promtool check metrics` passes it; a real `prometheus`
server with a real scrape config scrapes it and answers a query for one of its series;
idle and abusive HTTP connections neither stop the node's loop nor take the endpoint
down for good; a reload moves or ends the endpoint. prometheus and promtool come from
Debian's `prometheus` package (scripts/deps.sh installs it); without them the test fails."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
METRICS_CONNS_MAX = 8  # node_int.h NODE_METRICS_CONNS_MAX


def scrape(port, path="/metrics", method="GET"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def samples(text):
    """{'name{labels}': float} of a text page (comments skipped)."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, val = line.rpartition(" ")
            out[key] = float(val)
    return out


def set_key(node, key, value):
    """Set key in the node's momedo.conf (None: remove it)."""
    path = os.path.join(node.dir, "momedo.conf")
    with open(path) as f:
        lines = [x for x in f.read().splitlines() if not x.startswith(key + " =")]
    if value is not None:
        lines.append("%s = %s" % (key, value))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


class MetricsTest(T.ClusterTest, unittest.TestCase):
    def start_pair(self):
        a = self.cluster.add_node("alpha", start=False)
        self.mport = T.free_port()
        a.configure("metrics_listen = 127.0.0.1:%d\ndevice_posts_per_minute = 3" % self.mport)
        a.start()
        b = self.cluster.add_node("beta")
        self.cluster.connect(a, b)
        return a, b

    def test_page_promtool_and_prometheus(self):
        a, b = self.start_pair()
        p = self.cluster.probe("p1", a)
        p.register()
        for i in range(5):  # 3 stored, 2 refused by the rate limit
            p.run("post", "--self", "--text", "m%d" % i, check=False)
        want = {
            "momedo_posts_accepted_total": 3,
            'momedo_posts_refused_total{reason="E_RATE"}': 2,
            'momedo_neighbor_up{neighbor="beta"}': 1,
            "momedo_neighbors_up": 1,
        }
        page = self.cluster.wait_for(
            lambda: (lambda t: t if all(samples(t).get(k) == v for k, v in want.items())
                     else None)(scrape(self.mport)[2]),
            "metrics with 3 posts accepted, 2 refused, beta up")
        status, ctype, _ = scrape(self.mport)
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")
        s = samples(page)
        self.assertEqual(s['momedo_build_info{version="%s"}' % a.status()["version"][7:]], 1)
        self.assertEqual(s['momedo_node_info{name="alpha",fingerprint="%s"}' % a.fingerprint()], 1)
        self.assertGreaterEqual(s['momedo_objects{kind="ozone_item"}'], 3)
        self.assertGreaterEqual(s['momedo_objects_stored_total{origin="client"}'], 3)
        self.assertGreaterEqual(s['momedo_neighbor_sent_objects_total{neighbor="beta"}'], 3)
        self.assertGreater(s['momedo_neighbor_sent_bytes_total{neighbor="beta"}'], 0)
        self.assertGreater(s['momedo_neighbor_received_bytes_total{neighbor="beta"}'], 0)
        self.assertIn('momedo_neighbor_backlog_bytes{neighbor="beta"}', s)
        self.assertGreaterEqual(s["momedo_store_fsync_seconds_count"], 3)
        self.assertEqual(s['momedo_store_fsync_seconds_bucket{le="+Inf"}'],
                         s["momedo_store_fsync_seconds_count"])
        self.assertIn('momedo_store_bytes{part="sst"}', s)
        self.assertIn("momedo_recon_rounds_total", s)
        self.assertIn('momedo_recon_bytes_total{direction="sent"}', s)
        self.assertGreaterEqual(s["momedo_uptime_seconds"], 0)
        self.assertEqual(s["momedo_clients_connected"], 0)
        # status --json carries the same per-neighbor figures and names the endpoint.
        st = a.status()
        self.assertEqual(st["metrics_listen"], "127.0.0.1:%d" % self.mport)
        self.assertGreater(st["start_ms"], 0)
        nb = [x for x in st["neighbors"] if x["name"] == "beta"][0]
        self.assertGreaterEqual(nb["objects_out"], 3)
        self.assertGreater(nb["last_seen_ms"], st["start_ms"] - 1)
        # promtool: the format and the naming conventions.
        self.assertTrue(PROMTOOL and PROMETHEUS, "promtool/prometheus missing: "
                        "scripts/deps.sh installs Debian's prometheus package")
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=page, text=True,
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.check_prometheus(self.mport)

    def check_prometheus(self, mport):
        d = os.path.join(self.cluster.dir, "prom")
        os.mkdir(d)
        conf = os.path.join(d, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: momedo\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % mport)
        pport = T.free_port()
        log = open(os.path.join(d, "prometheus.log"), "wb")
        proc = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + conf, "--storage.tsdb.path=" + os.path.join(d, "data"),
             "--web.listen-address=127.0.0.1:%d" % pport, "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.cluster.procs.append(proc)

        def query(q):
            url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (pport, urllib.request.quote(q))
            with urllib.request.urlopen(url, timeout=5) as r:
                res = json.load(r)
            return res["data"]["result"] if res.get("status") == "success" else None

        try:
            got = T.wait_for(lambda: query("momedo_posts_accepted_total"),
                             "prometheus to scrape momedo_posts_accepted_total", timeout=90)
            self.assertEqual(got[0]["metric"]["job"], "momedo")
            self.assertEqual(got[0]["value"][1], "3")
            up = query('up{job="momedo"}')
            self.assertEqual(up[0]["value"][1], "1")
            rate = query('momedo_posts_refused_total{reason="E_RATE"}')
            self.assertEqual(rate[0]["value"][1], "2")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def test_abuse_does_not_reach_the_loop(self):
        a, b = self.start_pair()
        # Wrong method, wrong path: refused, the endpoint stays up.
        for method, path, code in (("POST", "/metrics", 405), ("GET", "/", 404),
                                   ("GET", "/metrics/../x", 404)):
            with self.assertRaises(urllib.error.HTTPError) as e:
                scrape(self.mport, path, method)
            self.assertEqual(e.exception.code, code)
        # Idle and half-sent requests fill every scrape slot (and more) ...
        socks = []
        for i in range(METRICS_CONNS_MAX + 4):
            s = socket.create_connection(("127.0.0.1", self.mport), timeout=5)
            s.sendall(b"GET /metr")
            socks.append(s)
        # ... and a header far beyond the connection's memory limit.
        big = socket.create_connection(("127.0.0.1", self.mport), timeout=5)
        try:
            big.sendall(b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n")
        except OSError:
            pass  # the server may close it mid-way: that is the point
        # The node's loop does not notice: admin answers, neighbors replicate, posts land.
        t0 = time.monotonic()
        self.assertEqual(a.status()["name"], "alpha")
        self.assertLess(time.monotonic() - t0, 5)
        p = self.cluster.probe("p1", a)
        p.register()
        p.run("post", "--self", "--text", "during abuse")
        self.cluster.wait_for(lambda: b.count("ozone_item") >= 1, "the post to reach beta")
        for s in socks + [big]:
            s.close()
        # Once they are gone the endpoint serves again, with fresh snapshots.
        page = self.cluster.wait_for(lambda: scrape(self.mport)[2], "metrics after the abuse")
        t1 = samples(page)["momedo_snapshot_time_seconds"]
        self.cluster.wait_for(
            lambda: samples(scrape(self.mport)[2])["momedo_snapshot_time_seconds"] > t1,
            "a newer snapshot")
        self.assertTrue(a.is_running())

    def test_reload_moves_and_ends_the_endpoint(self):
        a = self.cluster.add_node("alpha")
        with self.assertRaises(OSError):
            scrape(T.free_port())  # nothing anywhere yet (sanity of the helper)
        port = T.free_port()
        set_key(a, "metrics_listen", "127.0.0.1:%d" % port)
        a.proc.send_signal(signal.SIGHUP)
        self.cluster.wait_for(lambda: scrape(port)[0] == 200, "metrics after a reload")
        # The endpoint opens while the reload applies the change, before its log line.
        self.cluster.wait_for(lambda: "reload: changed now: metrics_listen" in a.log(),
                              "the reload's log line")
        port2 = T.free_port()
        set_key(a, "metrics_listen", "127.0.0.1:%d" % port2)
        a.proc.send_signal(signal.SIGHUP)
        self.cluster.wait_for(lambda: scrape(port2)[0] == 200, "metrics on the new port")
        with self.assertRaises(OSError):
            scrape(port)
        set_key(a, "metrics_listen", None)
        a.proc.send_signal(signal.SIGHUP)
        self.cluster.wait_for(lambda: "metrics off" in a.log(), "metrics off")
        with self.assertRaises(OSError):
            scrape(port2)
        self.assertEqual(a.status()["name"], "alpha")


if __name__ == "__main__":
    unittest.main(verbosity=2)
