#!/usr/bin/env python3
"""scripts/check_wolfssl_layers.py — proves that the build keeps wolfSSL where it is used
(STYLE.md section 1, CMakeLists.txt "Layer guards"). For every library and program of
momedo it takes the real compile command of one of its sources from the build's
compile_commands.json and compiles probe files with it: a stray TLS include
(<wolfssl/ssl.h>) must fail with the layer guard's error outside node/ and the
client's transport, a wolfCrypt include must fail outside protocol/, node/ and the
client's transport, and a protocol header must compile everywhere (so the command
itself works). Then it reads the libraries' undefined symbols: no TLS symbol
(wolfSSL_*) outside node/ and the transport objects, no wolfCrypt symbol (wc_*,
wolfCrypt_*) outside protocol/, node/ and the transport.

usage: check_wolfssl_layers.py BUILD_DIR [NAME=ARCHIVE ...] [--tls-objects A,B,...]
"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

GUARD_MARK = "layering (STYLE.md 1)"
PROBES = {
    "tls": "#include <wolfssl/options.h>\n#include <wolfssl/ssl.h>\nint probe;\n",
    "wolfcrypt": "#include <wolfssl/options.h>\n#include <wolfssl/wolfcrypt/sha256.h>\nint probe;\n",
    "own": "#include \"status.h\"\nint probe;\n",
}
# Target -> (may include TLS, may include wolfCrypt). Targets not listed (tests,
# benchmarks, fuzz targets, generated protobuf code) are not checked.
RULES = {
    "momedo_protocol": (False, True),
    "momedo_repl": (False, False),
    "momedo_sim": (False, False),
    "momedo-sim": (False, False),
    "momedo_admin": (False, False),
    "momedo_nodeconf": (False, False),
    "momedo-admin": (False, False),
    "momedo_client_core": (False, False),
    "momedo_cli": (False, False),
    "momedo": (False, False),
    "momedo-probe": (False, False),
    "momedo_client_tls": (True, True),
    "momedo_node": (True, True),
    "momedod": (True, True),
}
TLS_SYM = re.compile(r"^(wolfSSL_|wolfTLS)")
CRYPT_SYM = re.compile(r"^(wc_|wolfCrypt_)")


def target_of(entry):
    out = entry.get("output") or ""
    if not out:
        args = shlex.split(entry["command"]) if "command" in entry else entry["arguments"]
        if "-o" in args:
            out = args[args.index("-o") + 1]
    m = re.search(r"CMakeFiles/([^/]+)\.dir/", out)
    return m.group(1) if m else None


def probe_args(entry, src):
    args = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    file_abs = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
    out, skip = [], 0
    for a in args:
        if skip:
            skip -= 1
            continue
        if a in ("-o", "-MT", "-MF", "-MQ"):
            skip = 1
            continue
        if a in ("-MD", "-MMD", "-c"):
            continue
        if os.path.normpath(os.path.join(entry["directory"], a)) == file_abs:
            continue
        out.append(a)
    return out + ["-fsyntax-only", src]


def compile_probe(entry, name, tmp):
    src = os.path.join(tmp, "probe_%s.c" % name)
    with open(src, "w") as f:
        f.write(PROBES[name])
    p = subprocess.run(probe_args(entry, src), cwd=entry["directory"], capture_output=True,
                       text=True)
    return p.returncode, p.stderr


def check_compiles(build):
    with open(os.path.join(build, "compile_commands.json")) as f:
        db = json.load(f)
    first = {}
    for e in db:
        t = target_of(e)
        if t in RULES and t not in first:
            first[t] = e
    bad, seen = 0, []
    missing = [t for t in ("momedo_protocol", "momedo_repl", "momedo_sim", "momedo_admin",
                           "momedo_nodeconf", "momedo_client_core", "momedo_cli", "momedo_client_tls", "momedo_node") if t not in first]
    if missing:
        print("layering: no compile command for %s in compile_commands.json" % ", ".join(missing))
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        for t, e in sorted(first.items()):
            may_tls, may_crypt = RULES[t]
            rc, err = compile_probe(e, "own", tmp)
            if rc != 0:
                print("layering: %s: the control probe does not compile:\n%s" % (t, err))
                bad = 1
                continue
            for name, allowed in (("tls", may_tls), ("wolfcrypt", may_crypt)):
                rc, err = compile_probe(e, name, tmp)
                if allowed and rc != 0:
                    print("layering: %s may include wolfSSL's %s headers but cannot:\n%s"
                          % (t, name, err))
                    bad = 1
                elif not allowed and (rc == 0 or GUARD_MARK not in err):
                    print("layering: %s: a stray %s include %s" % (
                        t, name, "compiled" if rc == 0 else "failed without the guard:\n" + err))
                    bad = 1
            seen.append("%s (tls %s, wolfcrypt %s)" % (t, "ok" if may_tls else "refused",
                                                      "ok" if may_crypt else "refused"))
    print("compile probes: " + "; ".join(seen))
    return bad


def check_symbols(archives, tls_objects):
    bad = 0
    for name, path in archives:
        p = subprocess.run(["nm", "-A", "-u", path], capture_output=True, text=True)
        if p.returncode != 0:
            print("layering: nm %s: %s" % (path, p.stderr.strip()))
            bad = 1
            continue
        may_tls, may_crypt = RULES[name]
        for line in p.stdout.splitlines():
            parts = line.split()
            if len(parts) < 3:
                continue
            member = parts[0].rstrip(":").split(":")[-1]
            sym = parts[-1]
            if member in tls_objects:
                continue
            if (not may_tls and TLS_SYM.match(sym)) or (not may_crypt and CRYPT_SYM.match(sym)):
                print("layering: %s (%s) uses %s" % (name, member, sym))
                bad = 1
    print("symbols: %d archives checked" % len(archives))
    return bad


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    archives, tls_objects = [], set()
    rest = argv[2:]
    while rest:
        a = rest.pop(0)
        if a == "--tls-objects":
            tls_objects = {os.path.basename(p) for p in rest.pop(0).split(",") if p}
        else:
            name, path = a.split("=", 1)
            archives.append((name, path))
    bad = check_compiles(argv[1]) | check_symbols(archives, tls_objects)
    print("wolfSSL layering ok" if not bad else "wolfSSL layering BROKEN")
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv))
