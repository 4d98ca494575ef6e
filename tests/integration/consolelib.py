"""tests/integration/consolelib.py — `momedo-admin web` for the console tests: start it
on a free loopback port (--listen 127.0.0.1:0 --json prints the URL), plain HTTP
requests with any headers (urllib, no redirects or cookies), and a QR code drawn as
the console's SVG turned into a PGM image that zbarimg decodes."""
import json
import os
import re
import shutil
import signal
import subprocess
import urllib.error
import urllib.request

import momedo_testlib as T


class Console:
    def __init__(self, cluster, node, listen="127.0.0.1:0"):
        self.cluster = cluster
        self.err_path = os.path.join(cluster.dir, "web-%s.err" % node.name)
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [T.ADMIN, "--dir", node.dir, "web", "--listen", listen, "--json"],
                stdout=subprocess.PIPE, stderr=err, text=True)
        cluster.procs.append(self.proc)
        line = self.proc.stdout.readline()
        self.proc.stdout.close()  # --json prints this one line only
        if not line:
            with open(self.err_path) as f:
                raise T.TestFailure("momedo-admin web printed nothing: %s" % f.read())
        out = json.loads(line)
        self.url = out["url"]
        self.port = out["port"]
        self.token = re.search(r"[?&]t=([0-9a-f]+)$", self.url).group(1)
        self.base = "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def request(self, path, body=None, token="header", headers=None, method=None):
        """(status, headers, parsed JSON or text). token: "header" (X-Momedo-Token),
        "query" (?t=), None, or a string sent in the header."""
        url = self.base + path
        h = {}
        if token == "query":
            url += ("&" if "?" in url else "?") + "t=" + self.token
        elif token == "header":
            h["X-Momedo-Token"] = self.token
        elif token:
            h["X-Momedo-Token"] = token
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        req = urllib.request.Request(url, data=data, headers=h, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, hdrs, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, raw = e.code, e.headers, e.read()
        text = raw.decode("utf-8", "replace")
        if (hdrs.get("Content-Type") or "").startswith("application/json"):
            return status, hdrs, json.loads(text)
        return status, hdrs, text


def svg_to_pgm(svg, path, scale=8):
    """Draw the console's QR SVG (one path of "Mx yhNv1h-Nz" runs) as a PGM file."""
    side = int(re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).group(1))
    dark = set()
    for x, y, n in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", svg):
        for i in range(int(n)):
            dark.add((int(x) + i, int(y)))
    rows = []
    for y in range(side * scale):
        rows.append(bytes(0 if (x // scale, y // scale) in dark else 255
                          for x in range(side * scale)))
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (side * scale, side * scale))
        f.write(b"".join(rows))
    return len(dark)


def zbar_decode(path):
    """The payloads zbarimg finds in an image file (QR codes only)."""
    if not shutil.which("zbarimg"):
        raise T.TestFailure("zbarimg is missing: apt-get install zbar-tools (scripts/deps.sh)")
    p = subprocess.run(["zbarimg", "-q", "--raw", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    return [l for l in p.stdout.splitlines() if l]
