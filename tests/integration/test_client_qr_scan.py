"""tests/integration/test_client_qr_scan.py — every QR code `momedo` draws scans: the
half-block drawing in the terminal output is turned back into an image (block = light
module, as a dark terminal shows it) and decoded with zbarimg (Debian's zbar-tools),
and the payload must be exactly the text printed next to it. The codes drawn are the
user's contact QR (`momedo id`) and the device link code (`momedo device link`). A
damaged drawing (a finder pattern wiped) does not decode: the check can fail."""
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

ZBARIMG = shutil.which("zbarimg")
# (top light, bottom light) of each character cli_qr_print draws.
BLOCKS = {"\u2588": (1, 1), "\u2580": (1, 0), "\u2584": (0, 1), " ": (0, 0)}
SCALE = 4     # pixels per module
BORDER = 8    # light modules added around (the drawing has 2; a scanner wants 4)
QR_MIN = 21 + 4  # version 1 plus the drawn border, in characters


def qr_rows(text):
    """The lines of the first QR drawing in text."""
    rows = []
    for line in text.splitlines():
        if len(line) >= QR_MIN and line[0] != " " and all(c in BLOCKS for c in line):
            rows.append(line)
        elif rows:
            break
    return rows


def modules(rows):
    """Rows of modules, 1 = light."""
    px = []
    for line in rows:
        px.append([BLOCKS[c][0] for c in line])
        px.append([BLOCKS[c][1] for c in line])
    return px


def write_pgm(px, path):
    w = (len(px[0]) + 2 * BORDER) * SCALE
    h = (len(px) + 2 * BORDER) * SCALE
    img = bytearray(b"\xff" * (w * h))
    for y, row in enumerate(px):
        for x, light in enumerate(row):
            if light:
                continue
            for dy in range(SCALE):
                o = ((y + BORDER) * SCALE + dy) * w + (x + BORDER) * SCALE
                img[o:o + SCALE] = b"\x00" * SCALE
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (w, h) + bytes(img))


class QrScanTest(T.ClusterTest, unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.assertIsNotNone(ZBARIMG, "zbarimg missing: scripts/deps.sh installs zbar-tools")

    def decode(self, px, name):
        path = os.path.join(self.cluster.dir, name + ".pgm")
        write_pgm(px, path)
        r = subprocess.run([ZBARIMG, "-q", "--raw", path], capture_output=True, text=True,
                           timeout=60)
        return r.returncode, r.stdout.rstrip("\n")

    def scan(self, text, name):
        rows = qr_rows(text)
        self.assertTrue(rows, "no QR drawing in:\n" + text)
        self.assertEqual(len({len(r) for r in rows}), 1, "ragged QR drawing")
        rc, got = self.decode(modules(rows), name)
        self.assertEqual(rc, 0, "zbarimg found no QR code in the %s drawing" % name)
        return got, rows

    def test_contact_qr(self):
        alice = T.Client(self.cluster, "alice").init()
        out = alice.run("id").stdout
        payload = re.search(r"^QR payload:\s+(\S+)$", out, re.M).group(1)
        got, rows = self.scan(out, "id")
        self.assertEqual(got, payload)
        self.assertTrue(payload.startswith("momedo:1:" + alice.user_id + ":"))
        # 89 bytes: version 6 (41 modules) + 2 border modules each side, in characters.
        self.assertEqual(len(rows[0]), 41 + 4)
        # The check can fail: wipe the top-left finder pattern and nothing decodes.
        px = modules(rows)
        for y in range(2, 9):
            for x in range(2, 9):
                px[y][x] = 1
        rc, got = self.decode(px, "id-damaged")
        self.assertNotEqual(rc, 0, "a QR without its finder pattern decoded as %r" % got)

    def test_device_link_qr(self):
        a = self.cluster.add_node("alpha")
        alice = T.new_client(self.cluster, "alice", a)
        # `device link` shows the code and its QR, then waits for the new device.
        link = alice.spawn("device", "link")
        lines = []
        for line in link.stdout:
            lines.append(line)
            if line.startswith("waiting for the new device"):
                break
        link.kill()
        link.wait()
        link.stdout.close()
        link.stderr.close()
        out = "".join(lines)
        code = re.search(r"^\s+(momedo-link2:\S+)$", out, re.M).group(1)
        got, _ = self.scan(out, "link")
        self.assertEqual(got, code)


if __name__ == "__main__":
    unittest.main(verbosity=2)
