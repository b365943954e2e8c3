#!/usr/bin/python3
"""Bulk transfer through the director: one large message fetched with
FETCH 1 BODY[], MB/s and CPU per MB; printed, never asserted.

One real Dovecot backend and a release directord in front of it on
loopback (bench/benchlib.py).  A message of --size MB is appended once;
then, alternating in the same run, ROUNDS fetches each: directly from
Dovecot, through the director in plaintext, and through the director
with implicit TLS to the client (TLS 1.3, the director talks plaintext
to the backend).  The client is a raw socket reading into one buffer,
so it costs little next to the proxy.  Per path: the median MB/s and its
ratio to direct, and the CPU milliseconds per MB of directord and of
Dovecot (from /proc, over all rounds); then directord's resident memory
before, at the end of the fetches and a while after the sessions closed.
Dovecot runs on a CPU of its own (benchlib.backend_on_own_cpu).
Run as root:
    bench/bulk_bench.py [--build build/rel] [--size 50] [--rounds 4]
"""
import argparse
import os
import re
import signal
import socket
import ssl
import subprocess
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import benchlib  # noqa: E402
from harness import dovecot, rawclient  # noqa: E402

USER = "user1"
IMAPS_PORT = 1993
LITERAL = re.compile(rb"\{(\d+)\}\r\n$")
CHUNK = 1 << 20


def make_message(size):
    """A message of size bytes: headers and 76-column lines."""
    head = (b"From: bench@example.com\r\nTo: %s@example.com\r\n"
            b"Subject: bulk\r\n\r\n" % USER.encode())
    line = b"x" * 74 + b"\r\n"
    body = line * ((size - len(head)) // len(line))
    return head + body + b"." * (size - len(head) - len(body))


def append(ip, port, msg):
    """APPENDs msg to USER's INBOX (deleting what was there)."""
    s = socket.create_connection((ip, port), timeout=120)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"a LOGIN %s %s\r\n" % (USER.encode(),
                                      dovecot.USER_PASSWORD.encode()))
    expect(f, b"a ")
    s.sendall(b"b SELECT INBOX\r\n")
    expect(f, b"b ")
    s.sendall(b"c STORE 1:* +FLAGS (\\Deleted)\r\nd EXPUNGE\r\n")
    expect(f, b"d ")
    s.sendall(b"e APPEND INBOX {%d+}\r\n" % len(msg))
    s.sendall(msg + b"\r\n")
    expect(f, b"e ")
    s.sendall(b"f LOGOUT\r\n")
    s.close()


def expect(f, tag):
    """Reads lines up to the tagged reply tag; fails unless it is OK."""
    while True:
        line = f.readline()
        if not line:
            raise RuntimeError("connection closed waiting for %r" % tag)
        if line.startswith(tag):
            if not line[len(tag):].startswith(b"OK"):
                raise RuntimeError(line.decode(errors="replace"))
            return


def fetch(ip, port, tls, size):
    """Logs in, FETCHes message 1 and returns the seconds the FETCH took
    (command to tagged OK)."""
    s = socket.create_connection((ip, port), timeout=120)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s)
    f = s.makefile("rb", buffering=CHUNK)
    f.readline()
    s.sendall(b"a LOGIN %s %s\r\nb SELECT INBOX\r\n" % (
        USER.encode(), dovecot.USER_PASSWORD.encode()))
    expect(f, b"a ")
    expect(f, b"b ")
    buf = bytearray(CHUNK)
    t0 = time.monotonic()
    s.sendall(b"c FETCH 1 BODY[]\r\n")
    got = 0
    while True:
        line = f.readline()
        m = LITERAL.search(line)
        if m:
            left = int(m.group(1))
            got = left
            while left > 0:
                n = f.readinto(memoryview(buf)[:min(left, CHUNK)])
                if n == 0:
                    raise RuntimeError("connection closed in the literal")
                left -= n
            continue
        if line.startswith(b"c "):
            break
        if not line:
            raise RuntimeError("connection closed")
    dt = time.monotonic() - t0
    if got < size:
        raise RuntimeError("fetched %d bytes of %d" % (got, size))
    s.sendall(b"d LOGOUT\r\n")
    s.close()
    return dt


def strace_fetch(pid, ip, port, tls, size):
    """strace -c's table of pid's system calls during one fetch."""
    out = "/tmp/director-bench-strace.txt"
    st = subprocess.Popen(["strace", "-c", "-o", out, "-p", str(pid)],
                          stderr=subprocess.DEVNULL)
    time.sleep(1)
    fetch(ip, port, tls, size)
    st.send_signal(signal.SIGINT)
    st.wait(timeout=30)
    with open(out) as f:
        return "".join("    " + line for line in f.readlines()[:12])


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "rel"))
    ap.add_argument("--size", type=int, default=50, help="message MB")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--strace", action="store_true",
                    help="also count directord's system calls during one "
                    "plaintext and one TLS fetch (strace -c)")
    ap.add_argument("--workers", default="1",
                    help="the directord's workers setting")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    benchlib.require("bulk_bench.py", build, ("directord",))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    size = args.size * 1000 * 1000
    msg = make_message(size)
    certdir = "/tmp/director-bench-certs"
    os.makedirs(certdir, exist_ok=True)
    cert, key = rawclient.make_cert(certdir)
    settings = {"disable_plaintext_auth": "no", "ssl_cert": cert,
                "ssl_key": key}
    if args.workers != "1":         # builds before workers know no such
        settings["workers"] = args.workers
    listeners = {"imaps": {"protocol": "imap", "port": IMAPS_PORT,
                           "tls": "implicit"}}
    with benchlib.cluster(build, settings,
                          extra_listeners=listeners) as (backend, d):
        append(backend.ip, backend.imap_port, msg)
        paths = [("direct", backend.ip, backend.imap_port, False),
                 ("through", *d.listeners()["imap"], False),
                 ("through TLS", *d.listeners()["imaps"], True)]
        print("directord %s (release build) in front of Dovecot on %s; "
              "one %d MB message, FETCH 1 BODY[], %d rounds\n" %
              (build, backend.ip, args.size, args.rounds), flush=True)
        with benchlib.backend_on_own_cpu(backend, d) as label:
            print(label or benchlib.shared_label())
            rss0 = rss_kib(d.pid)
            for name, ip, port, tls in paths:
                fetch(ip, port, tls, size)           # warm-up
            secs = {name: [] for name, *_ in paths}
            cpu = {name: [0.0, 0.0] for name, *_ in paths}
            for _ in range(args.rounds):
                for name, ip, port, tls in paths:
                    c0 = (benchlib.cpu_seconds([d.pid]),
                          benchlib.cpu_seconds(
                              benchlib.backend_pids(backend)))
                    secs[name].append(fetch(ip, port, tls, size))
                    cpu[name][0] += benchlib.cpu_seconds([d.pid]) - c0[0]
                    cpu[name][1] += benchlib.cpu_seconds(
                        benchlib.backend_pids(backend)) - c0[1]
            rss1 = rss_kib(d.pid)
            if args.strace:
                for name, ip, port, tls in paths[1:]:
                    print("\n  system calls of directord during one %s "
                          "fetch:" % name)
                    print(strace_fetch(d.pid, ip, port, tls, size))
            time.sleep(5)
            rss2 = rss_kib(d.pid)
        mb = size / 1e6
        base = mb / statistics.median(secs["direct"])
        print("\n  %-12s %9s %8s %18s %18s" %
              ("path", "MB/s", "x direct", "directord ms/MB",
               "Dovecot ms/MB"))
        for name, *_ in paths:
            rate = mb / statistics.median(secs[name])
            total = mb * len(secs[name])
            print("  %-12s %9.0f %8.2f %18s %18.2f" %
                  (name, rate, rate / base,
                   "-" if name == "direct" else
                   "%.2f" % (cpu[name][0] * 1000 / total),
                   cpu[name][1] * 1000 / total))
        print("\n  directord RSS: %d KiB before, %d KiB after the fetches, "
              "%d KiB 5 s later" % (rss0, rss1, rss2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
