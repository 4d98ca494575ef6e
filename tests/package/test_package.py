"""tests/package/test_package.py — the Debian packages as an administrator meets them
(ctest package_deb, label "package"; run by scripts/test.sh, root only).

Builds momedo-node and momedo-client from a copy of this source tree with
`dpkg-buildpackage -us -uc -b`, requires lintian to report no error and no warning,
installs both with `dpkg -i`, checks what the node package made (the system user
momedo, /var/lib/momedo with its link to the conffile /etc/momedo/momedo.conf, the unit,
which `systemd-analyze verify` accepts), starts the installed momedod the way the unit
would (as user momedo, umask 077, --init-if-empty; systemd is not PID 1 here) on a
loopback port, and drives it with the installed momedo-admin *without --dir*: status,
fingerprint, invite, metrics, reload, an online backup. Then `dpkg --purge` removes
both and the test checks that no process of the momedo user is left and the node's
directory is gone. Skips (exit 77, with the reason) when not root; fails when a tool is missing (scripts/deps.sh installs them); everything it
installs is purged again, also when it fails.
"""
import fcntl
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

SRC = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TMP = os.environ.get("MOMEDO_TEST_TMP") or tempfile.gettempdir()
SKIP = 77
PKGS = ["momedo-node", "momedo-client"]
NODE_DIR = "/var/lib/momedo"
CONF = "/etc/momedo/momedo.conf"
UNIT = "/lib/systemd/system/momedo.service"
LOCK = "/tmp/momedo-package-test.lock"
WAIT_S = 120


def log(msg):
    print(msg, flush=True)


def run(args, check=True, timeout=1800, env=None, cwd=None):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout, env=env, cwd=cwd)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d:\n%s" % (" ".join(args), p.returncode, p.stdout[-6000:]))
    return p


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def wait_for(cond, what, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = cond()
            if v:
                return v
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.2)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        for line in f:
            if line.startswith("project(momedo VERSION "):
                return line.split()[2]
    raise AssertionError("no version in CMakeLists.txt")


def copy_tree(dst):
    """This tree as git sees it (tracked and new files, nothing ignored: no build dirs);
    without git (a source tarball), everything but build*/ and .git."""
    p = run(["git", "-C", SRC, "ls-files", "-co", "--exclude-standard", "-z"], check=False)
    if p.returncode != 0:
        shutil.copytree(SRC, dst, symlinks=True,
                        ignore=lambda d, names: [x for x in names if x == ".git" or
                                                 (d == SRC and x.startswith("build"))])
        return
    files = p.stdout
    for rel in filter(None, files.split("\0")):
        s = os.path.join(SRC, rel)
        if not os.path.isfile(s):
            continue  # deleted in the work tree
        d = os.path.join(dst, rel)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copy2(s, d)


def build(work, version):
    src = os.path.join(work, "momedo-" + version)
    copy_tree(src)
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=%d" % min(os.cpu_count() or 1, 2))
    t0 = time.monotonic()
    run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env)
    log("dpkg-buildpackage: %.0f s" % (time.monotonic() - t0))
    debs = {p: os.path.join(work, "%s_%s_%s.deb" % (p, version, arch())) for p in PKGS}
    for p, path in debs.items():
        check(os.path.exists(path), "no %s" % path)
    changes = os.path.join(work, "momedo_%s_%s.changes" % (version, arch()))
    return debs, changes


def arch():
    return run(["dpkg", "--print-architecture"]).stdout.strip()


def lint(changes):
    check(shutil.which("lintian"), "lintian is missing (scripts/deps.sh installs it)")
    t0 = time.monotonic()
    p = run(["lintian", "--fail-on", "error,warning", "--info", changes], check=False)
    log("lintian (%.0f s):\n%s" % (time.monotonic() - t0, p.stdout.strip() or "(nothing)"))
    bad = [x for x in p.stdout.splitlines() if x[:2] in ("E:", "W:")]
    check(p.returncode == 0 and not bad, "lintian reports errors or warnings:\n" + "\n".join(bad))


def contents(deb):
    return run(["dpkg-deb", "-c", deb]).stdout


def check_installed(debs):
    node = contents(debs["momedo-node"])
    for path in ("./usr/bin/momedod", "./usr/bin/momedo-admin", "." + UNIT, "." + CONF,
                 "./usr/share/man/man8/momedod.8.gz", "./usr/share/man/man8/momedo-admin.8.gz",
                 "./usr/share/man/man5/momedo.conf.5.gz", "./usr/share/doc/momedo-node/copyright"):
        check(path in node, "momedo-node lacks %s" % path)
    client = contents(debs["momedo-client"])
    for path in ("./usr/bin/momedo", "./usr/share/man/man1/momedo.1.gz"):
        check(path in client, "momedo-client lacks %s" % path)
    check("./usr/bin/momedod" not in client, "momedod in the client package")
    u = pwd.getpwnam("momedo")
    st = os.stat(NODE_DIR)
    check(st.st_uid == u.pw_uid and stat.S_IMODE(st.st_mode) == 0o700,
          "%s is not momedo's with mode 0700" % NODE_DIR)
    link = os.path.join(NODE_DIR, "momedo.conf")
    check(os.path.islink(link) and os.path.realpath(link) == CONF, "%s is no link to %s" % (link, CONF))
    conff = run(["dpkg-query", "-W", "-f", "${Conffiles}", "momedo-node"]).stdout
    check(CONF in conff, "%s is not a conffile" % CONF)
    p = run(["systemd-analyze", "verify", UNIT], check=False)
    check(p.returncode == 0, "systemd-analyze verify:\n" + p.stdout)
    sec = run(["systemd-analyze", "security", "--offline=true", UNIT], check=False).stdout
    log("systemd-analyze security: " + (sec.strip().splitlines() or ["?"])[-1])
    for b, name in (("/usr/bin/momedod", "momedod"), ("/usr/bin/momedo-admin", "momedo-admin"),
                    ("/usr/bin/momedo", "momedo")):
        check(run([b, "--version"]).stdout == "%s %s\n" % (name, project_version()), b)


def admin(*args, check_rc=True):
    p = subprocess.run(["/usr/bin/momedo-admin"] + list(args) + ["--json"], capture_output=True,
                       text=True, timeout=120)
    if check_rc and p.returncode != 0:
        raise AssertionError("momedo-admin %s: %s %s" % (" ".join(args), p.stdout, p.stderr))
    return json.loads(p.stdout)


def drive_node(work):
    port, mport = free_port(), free_port()
    with open(CONF, "a") as f:  # what an administrator edits
        f.write("\nname = pkgtest\nlisten = 127.0.0.1:%d\nmetrics_listen = 127.0.0.1:%d\n"
                % (port, mport))
    logf = open(os.path.join(work, "momedod.log"), "wb")
    # momedod itself as user momedo (no runuser/su in between, whose own exit status
    # would hide momedod's), with the unit's umask.
    proc = subprocess.Popen(["/usr/bin/momedod", "--dir", NODE_DIR, "--init-if-empty"],
                            stdout=logf, stderr=subprocess.STDOUT, user="momedo", group="momedo",
                            extra_groups=[], umask=0o077)
    try:
        s = wait_for(lambda: admin("status", check_rc=False).get("ok") and
                     admin("status"), "the installed node to answer momedo-admin status")
        check(s["name"] == "pkgtest" and s["listen"] == "127.0.0.1:%d" % port, str(s))
        check(s["fingerprint"] == admin("fingerprint")["fingerprint"], "fingerprints differ")
        key = os.path.join(NODE_DIR, "node.key")
        check(os.stat(key).st_uid == pwd.getpwnam("momedo").pw_uid, "node.key is not momedo's")
        check(admin("invite", "--uses", "2")["code"].startswith("momedo"), "no invite")
        page = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=10).read()
        check(b'momedo_node_info{name="pkgtest"' in page, "metrics")
        check("momedo.conf: changed now" in admin("reload")["message"], "reload")
        b = admin("backup", os.path.join(work, "backup"))
        check(b["fingerprint"] == s["fingerprint"], "backup of another node")
        log("installed node %s answered status, invite, metrics, reload and backup (%d files)"
            % (s["fingerprint"], b["files"]))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        logf.close()
    with open(os.path.join(work, "momedod.log")) as f:
        text = f.read()
    check(rc == 0, "momedod exited %s:\n%s" % (rc, text[-3000:]))
    check("stopped cleanly" in text, "no clean stop:\n" + text[-3000:])


def momedo_processes():
    p = run(["ps", "-o", "pid=,args=", "-u", "momedo"], check=False)
    return p.stdout.strip() if p.returncode == 0 else ""


def purge():
    run(["dpkg", "--purge"] + PKGS, check=False, timeout=300)


def main():
    if os.geteuid() != 0:
        print("SKIP: the package test installs packages: run it as root (CI does)")
        return SKIP
    for tool in ("dpkg-buildpackage", "dh", "lintian", "systemd-analyze", "ps"):
        if not shutil.which(tool):
            print("FAIL: %s is missing (scripts/deps.sh installs dpkg-dev, debhelper, lintian, "
                  "systemd and procps)" % tool)
            return 1
    os.makedirs(TMP, exist_ok=True)
    lock = open(LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # one package test per machine: dpkg is global
    work = tempfile.mkdtemp(prefix="pkg-", dir=TMP)
    try:
        purge()  # a leftover of an interrupted run
        debs, changes = build(work, project_version())
        lint(changes)
        run(["dpkg", "-i"] + list(debs.values()), timeout=600)
        check_installed(debs)
        drive_node(work)
        purge()
        check(momedo_processes() == "", "processes of user momedo after purge:\n" +
              momedo_processes())
        for gone in (NODE_DIR, "/etc/momedo", "/usr/bin/momedod", "/usr/bin/momedo"):
            check(not os.path.lexists(gone), "%s is still there after purge" % gone)
        log("package test passed")
        return 0
    finally:
        purge()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
