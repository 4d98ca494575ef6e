"""tests/integration/test_node_start.py — what momedod says when it starts, with real
processes on 127.0.0.1. A second momedod on the same node directory exits non-zero with
one line that names the directory and the running momedod's PID (not RocksDB's lock
error), and the running node is unharmed; the lock goes with the process, even after
kill -9. The open-file limit: nothing when the limit holds clients_max; the start-up
line says how many clients fit; a warning only when a clients_max the operator set
cannot be kept; and the clients beyond what fits are refused with E_BUSY. The engine's
parameters: old keys warn once each and still work, values out of bounds stop the node."""
import os
import resource
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import momedo_testlib as T  # noqa: E402

# node/node.c NODE_FD_RESERVE: descriptors kept for the store, the neighbors and the rest.
FD_RESERVE = 256 + 16 + 16 + 16 + 2 * 64
CLIENTS_MAX_DEFAULT = 20000
LIMIT_LINE = "open file limit"


def warnings(log):
    return [line for line in log.splitlines() if " warn " in line or " error " in line]


def started_line(log):
    lines = [line for line in log.splitlines() if " started: node " in line]
    return lines[-1] if lines else ""


class NodeStartTest(T.ClusterTest, unittest.TestCase):

    def test_second_momedod_on_the_same_directory(self):
        n = self.cluster.add_node("alpha")
        pid = n.proc.pid
        with open(os.path.join(n.dir, "momedod.pid")) as f:
            self.assertEqual(f.read(), "%d\n" % pid)
        p = T.run([T.MOMEDOD, "--dir", n.dir], check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("another momedod (PID %d) is running with the node directory %s" % (
            pid, n.dir), p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        for raw in ("LOCK", "Resource temporarily unavailable", "IO error", "store_rocks"):
            self.assertNotIn(raw, p.stderr)
        # The running node is unharmed: same process, its admin socket answers.
        self.assertTrue(n.is_running())
        self.assertEqual(n.status()["name"], "alpha")
        # A clean stop leaves no PID behind and frees the directory.
        self.assertEqual(n.stop(), 0)
        with open(os.path.join(n.dir, "momedod.pid")) as f:
            self.assertEqual(f.read(), "")
        n.start()
        # kill -9 leaves the PID in the file, but the kernel dropped the lock.
        n.kill9()
        n.start()
        self.assertEqual(n.status()["name"], "alpha")

    def limits(self, hard):
        """(soft, hard) for a child: hard at most what this process may set."""
        cur_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if cur_hard != resource.RLIM_INFINITY:
            hard = min(hard, cur_hard)
        return min(1024, hard), hard

    def test_open_file_limit_too_small_for_the_default(self):
        # The hard limit of a shell on the benchmark machine: below the default
        # clients_max plus the reserve. Not a warning: the node serves what fits.
        n = self.cluster.add_node("alpha", start=False)
        soft, hard = self.limits(CLIENTS_MAX_DEFAULT)
        n.start(nofile=(soft, hard))
        log = n.log()
        self.assertEqual(warnings(log), [])
        self.assertNotIn(LIMIT_LINE, log)
        self.assertIn("up to %d clients" % min(CLIENTS_MAX_DEFAULT, hard - FD_RESERVE),
                      started_line(log))

    def test_open_file_limit_large_enough(self):
        n = self.cluster.add_node("alpha", start=False)
        n.configure("clients_max = 1000")
        n.start(nofile=self.limits(4096))  # raised from the soft 1024 to the hard 4096
        log = n.log()
        self.assertNotIn(LIMIT_LINE, log)
        self.assertEqual(warnings(log), [])
        self.assertIn("up to 1000 clients", started_line(log))

    def test_open_file_limit_below_a_chosen_clients_max_warns(self):
        n = self.cluster.add_node("alpha", start=False)
        n.configure("clients_max = 5000")
        n.start(nofile=(1024, 2000))
        fit = 2000 - FD_RESERVE
        want = ("warn open file limit 2000 leaves room for %d clients, not clients_max 5000: "
                "raise the hard limit (ulimit -Hn, LimitNOFILE=) to %d or lower clients_max"
                % (fit, 5000 + FD_RESERVE))
        log = n.log()
        self.assertEqual([w.split("Z ", 1)[1] for w in warnings(log)], [want])
        self.assertIn("up to %d clients" % fit, started_line(log))

    def test_clients_beyond_the_limit_refused(self):
        n = self.cluster.add_node("alpha", start=False)
        n.start(nofile=(FD_RESERVE + 2, FD_RESERVE + 2))  # room for two clients
        self.assertIn("up to 2 clients", started_line(n.log()))
        probes = [self.cluster.probe("p%d" % i, n) for i in range(3)]
        for p in probes:
            p.register()
        listeners = [p.spawn("listen", "--count", "1") for p in probes[:2]]
        self.cluster.wait_for(lambda: n.status()["clients_connected"] == 2, "two listeners")
        rc, out, err = probes[2].run("fetch", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("E_BUSY", err + str(out))
        self.assertIn("too many clients connected (clients_max)", n.log())
        for p in listeners:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
        self.assertTrue(n.is_running())

    def test_engine_parameters_old_keys_and_bounds(self):
        # Keys of earlier momedods still work, with one warning each that names the
        # file:line and the line to write instead; a value outside the engine's
        # parameter table stops the node with file:line, never clamped.
        n = self.cluster.add_node("alpha", start=False)
        n.configure("recon_interval_s = 120\nlink_queue_bytes_max = 1048576")
        conf = os.path.join(n.dir, "momedo.conf")
        with open(conf) as f:
            lines = f.read().splitlines()
        at = {k: lines.index(k + v) + 1 for k, v in (("recon_interval_s", " = 120"),
                                                    ("link_queue_bytes_max", " = 1048576"))}
        n.start()
        self.assertEqual([w.split("Z ", 1)[1] for w in warnings(n.log())], [
            "warn %s:%d: recon_interval_s is deprecated (still read): write recon_interval_ms "
            "= 120000; it also sets recon_jitter_ms to a quarter of the interval unless "
            "recon_jitter_ms is set" % (conf, at["recon_interval_s"]),
            "warn %s:%d: link_queue_bytes_max is deprecated (still read): write "
            "peer_queue_bytes_max = 1048576" % (conf, at["link_queue_bytes_max"])])
        self.assertEqual(n.stop(), 0)
        with open(conf, "w") as f:
            f.write("\n".join(lines[:-3]) + "\nrecon_interval_ms = 500\n")
        p = T.run([T.MOMEDOD, "--dir", n.dir], check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("%s:%d: recon_interval_ms must be a whole number of milliseconds from "
                      "1000 to 86400000 (or with a suffix: ms, s, m, h, d), not '500'"
                      % (conf, len(lines) - 2), p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
