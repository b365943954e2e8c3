#!/usr/bin/python3
"""Memory of idle sessions and after a burst; printed, never asserted.

One real Dovecot backend and a release directord in front of it on
loopback (bench/benchlib.py).  First --sessions logged-in idle IMAP
sessions in plaintext (bench/imap_load, idle mode), then as many with
implicit TLS (TLS 1.3, opened by this script); for each: directord's
VmRSS before, with the sessions open, and per session.  Then the burst:
the TLS sessions close and the VmRSS is read right away and --after
seconds later, against the idle baseline measured before any session
(the target: back within 20 % of it a minute after the burst).
Run as root:
    bench/memory_bench.py [--build build/rel] [--sessions 5000]
        [--after 60]
"""
import argparse
import os
import re
import resource
import signal
import socket
import ssl
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import benchlib  # noqa: E402
import proxy_bench  # noqa: E402
from harness import dovecot, rawclient  # noqa: E402

IMAPS_PORT = 1993
USERS = 1000
NOFILE = 65536


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
                   .group(1))


def plaintext_idle(load, d, count, hold):
    """imap_load holds count logged-in sessions for hold seconds;
    returns (logged in, RSS with them open)."""
    ip, port = d.listeners()["imap"]
    proc = subprocess.Popen([load, ip, str(port), "idle", str(count),
                             str(hold), str(USERS)], stdout=subprocess.PIPE,
                            text=True)
    m = re.search(r"idle_ready logged_in (\d+) errors (\d+)",
                  proc.stdout.readline())
    if not m:
        proc.kill()
        raise RuntimeError("imap_load idle failed")
    time.sleep(1)
    rss = rss_kib(d.pid)
    proc.wait(timeout=hold + 120)
    return int(m.group(1)), rss


def tls_open(d, count):
    """count logged-in implicit-TLS sessions, left open."""
    ip, port = d.listeners()["imaps"]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    socks = []
    for i in range(count):
        s = ctx.wrap_socket(socket.create_connection((ip, port), timeout=30))
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"a LOGIN user%d %s\r\n" %
                  (i % USERS, dovecot.USER_PASSWORD.encode()))
        while not f.readline().startswith(b"a "):
            pass
        socks.append((s, f))
    return socks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "rel"))
    ap.add_argument("--sessions", type=int, default=5000)
    ap.add_argument("--after", type=int, default=60,
                    help="seconds to wait after the burst")
    ap.add_argument("--workers", default="1",
                    help="the directord's workers setting")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    load = os.path.join(build, "bench", "imap_load")
    benchlib.require("memory_bench.py", build,
                     ("bench/imap_load", "directord"))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(NOFILE, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    n = min(args.sessions, (want - 512) // 2)
    cert, key = rawclient.make_cert("/tmp/director-bench-certs")
    settings = {"disable_plaintext_auth": "no", "ssl_cert": cert,
                "ssl_key": key, "max_connections": str(n + 1000),
                "max_connections_per_ip": str(n + 1000)}
    if args.workers != "1":         # builds before workers know no such
        settings["workers"] = args.workers
    listeners = {"imaps": {"protocol": "imap", "port": IMAPS_PORT,
                           "tls": "implicit"}}
    with benchlib.cluster(build, settings, proxy_bench.DOVECOT_EXTRA,
                          extra_listeners=listeners) as (backend, d):
        print("directord %s (release build) in front of Dovecot on %s; "
              "%d sessions\n" % (build, backend.ip, n), flush=True)
        base = rss_kib(d.pid)
        logged, rss = plaintext_idle(load, d, n, 5)
        print("idle plaintext sessions: %d logged in; VmRSS %d KiB before, "
              "%d KiB with them: %.2f KiB per session" %
              (logged, base, rss, (rss - base) / max(logged, 1)))
        time.sleep(2)
        before = rss_kib(d.pid)
        t0 = time.monotonic()
        socks = tls_open(d, n)
        opened = time.monotonic() - t0
        time.sleep(1)
        peak = rss_kib(d.pid)
        print("idle TLS sessions: %d logged in (%.1f s); VmRSS %d KiB "
              "before, %d KiB with them: %.2f KiB per session" %
              (len(socks), opened, before, peak,
               (peak - before) / max(len(socks), 1)), flush=True)
        for s, f in socks:
            f.close()
            s.close()
        socks = None
        time.sleep(1)
        at1 = rss_kib(d.pid)
        time.sleep(max(args.after - 1, 0))
        later = rss_kib(d.pid)
        print("after the burst: VmRSS %d KiB 1 s after the sessions "
              "closed, %d KiB %d s after; idle baseline %d KiB: %.2fx "
              "the baseline" % (at1, later, args.after, base,
                                later / base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
