#!/usr/bin/python3
"""LMTP proxy benchmark (issues #4 and #16), printed, never asserted.

Deliveries per second of a 10 KB message to 1 and to 5 recipients, with
bench/lmtp_load against one real Dovecot lmtp backend directly and
through a release directord in front of it, alternating direct/proxy
runs ROUNDS times after a warm-up; medians and the ratio proxy/direct.
Twice: every process sharing every CPU, and Dovecot on a CPU of its own
with directord and the load generator on the other (as deployed:
backends, directors and MTAs on separate hosts).

Then one large message (--big-mb, 20 MB) to one recipient, Dovecot on
a CPU of its own: a raw socket client sends a prebuilt dot-stuffed body
with one sendall(), alternating direct and through the director
--big-rounds times after a warm-up; the median MB/s from DATA to the
delivery reply, its ratio to direct, and the CPU milliseconds per MB of
directord and of Dovecot (all its processes) over all rounds.  With
--bdat also direct deliveries with BDAT (RFC 3030: no dot-stuffing),
to see what the DATA form costs the backend; with --strace, the system
calls of the backend's lmtp process (and of directord) during one
delivery each way (strace -c).  Run as root:
    bench/lmtp_bench.py [--build build/rel] [--seconds 5] [--big-mb 20]
        [--big-rounds 7] [--big-only] [--bdat] [--strace]
"""
import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import benchlib  # noqa: E402

CONCURRENCY = 8
ROUNDS = 3
SIZE = 10 * 1024
USERS = 1000
BIG_USER = "user1"


def run(load, ip, port, rcpts, seconds):
    res = subprocess.run([load, ip, str(port), str(CONCURRENCY),
                          str(seconds), str(rcpts), str(SIZE), str(USERS)],
                         capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"deliveries (\d+) deliveries_per_s ([\d.]+) p50_ms "
                  r"([\d.]+) p99_ms ([\d.]+) errors (\d+)", res.stdout)
    if res.returncode != 0 or not m:
        raise RuntimeError("lmtp_load: %r %r" % (res.stdout, res.stderr))
    return {"rate": float(m.group(2)), "p50": float(m.group(3)),
            "p99": float(m.group(4)), "errors": int(m.group(5))}


def compare(load, backend, director, rcpts, seconds, label):
    bip, bport = backend.ip, backend.lmtp_port
    dip, dport = director.listeners()["lmtp"]
    run(load, bip, bport, rcpts, 1)
    run(load, dip, dport, rcpts, 1)
    direct, proxy = [], []
    for _ in range(ROUNDS):
        direct.append(run(load, bip, bport, rcpts, seconds))
        proxy.append(run(load, dip, dport, rcpts, seconds))

    def med(runs, key):
        return statistics.median(r[key] for r in runs)

    d, p = med(direct, "rate"), med(proxy, "rate")
    print("10 KB message to %d recipient(s), concurrency %d, %d s runs, "
          "median of %d (%s)" % (rcpts, CONCURRENCY, seconds, ROUNDS, label))
    print("  direct:           %8.1f deliveries/s  p50 %6.2f ms  p99 %6.2f "
          "ms" % (d, med(direct, "p50"), med(direct, "p99")))
    print("  through director: %8.1f deliveries/s  p50 %6.2f ms  p99 %6.2f "
          "ms" % (p, med(proxy, "p50"), med(proxy, "p99")))
    print("  ratio proxy/direct: %.3f%s" %
          (p / d, "  (target >= 0.85)" if rcpts == 1 else ""))
    print("  errors: direct %d, proxy %d\n" %
          (sum(r["errors"] for r in direct),
           sum(r["errors"] for r in proxy)), flush=True)


def big_message(size):
    """A message of about size bytes in 76-column lines, one line in 50
    starting with a dot; returns (message, its DATA form: dot-stuffed,
    with the end marker)."""
    head = (b"From: bench@example.com\r\nTo: %s@example.com\r\n"
            b"Subject: lmtp bulk\r\n\r\n" % BIG_USER.encode())
    block = (b"x" * 74 + b"\r\n") * 49 + b"." + b"y" * 73 + b"\r\n"
    msg = head + block * ((size - len(head)) // len(block) + 1)
    wire = msg.replace(b"\r\n.", b"\r\n..") + b".\r\n"
    return msg, wire


def read_reply(f):
    """One (maybe multi-line) reply; its last line."""
    while True:
        line = f.readline()
        if not line:
            raise RuntimeError("connection closed")
        if line[3:4] != b"-":
            return line


def expect(f, code):
    line = read_reply(f)
    if not line.startswith(code):
        raise RuntimeError("expected %r, got %r" % (code, line))


def deliver_big(ip, port, msg, wire, bdat=False, before=None):
    """One delivery of msg to BIG_USER; returns the seconds from DATA
    (or BDAT) to the delivery reply.  before() runs just before DATA."""
    s = socket.create_connection((ip, port), timeout=300)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    expect(f, b"220")
    s.sendall(b"LHLO bench\r\n")
    expect(f, b"250")
    s.sendall(b"MAIL FROM:<bench@example.com>\r\n")
    expect(f, b"250")
    s.sendall(b"RCPT TO:<%s>\r\n" % BIG_USER.encode())
    expect(f, b"250")
    if before is not None:
        before()
    t0 = time.monotonic()
    if bdat:
        s.sendall(b"BDAT %d LAST\r\n" % len(msg))
        s.sendall(msg)
    else:
        s.sendall(b"DATA\r\n")
        expect(f, b"354")
        s.sendall(wire)
    expect(f, b"250")
    dt = time.monotonic() - t0
    s.sendall(b"QUIT\r\n")
    s.close()
    return dt


def lmtp_pids(backend):
    """Dovecot's lmtp processes of backend."""
    out = []
    for pid in benchlib.backend_pids(backend):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if b"/lmtp" in f.read():
                    out.append(pid)
        except OSError:
            pass
    return out


def strace_big(backend, director, ip, port, msg, wire, bdat=False):
    """strace -c of the backend's lmtp processes and of directord during
    one delivery (attached once the recipient is accepted)."""
    out = "/tmp/director-bench-lmtp-strace-%s.txt"
    tracers = []

    def attach():
        for who, pids in (("dovecot", lmtp_pids(backend)),
                          ("directord", [director.pid])):
            args = ["strace", "-c", "-f", "-o", out % who]
            for pid in pids:
                args += ["-p", str(pid)]
            tracers.append((who, subprocess.Popen(
                args, stderr=subprocess.DEVNULL)))
        time.sleep(1)

    deliver_big(ip, port, msg, wire, bdat, before=attach)
    time.sleep(0.5)
    text = ""
    for who, st in tracers:
        st.send_signal(signal.SIGINT)
        st.wait(timeout=30)
        with open(out % who) as f:
            text += "    %s:\n%s" % (who, "".join(
                "      " + line for line in f.readlines()[:10]))
    return text


def big(backend, director, mb, rounds, bdat, strace):
    """The large delivery: direct vs through (see the module comment)."""
    msg, wire = big_message(mb * 1000 * 1000)
    dip, dport = director.listeners()["lmtp"]
    paths = [("direct", backend.ip, backend.lmtp_port, False),
             ("through", dip, dport, False)]
    if bdat:
        paths.append(("direct BDAT", backend.ip, backend.lmtp_port, True))
    with benchlib.backend_on_own_cpu(backend, director) as label:
        print("%d MB message (%d bytes, %d dot-stuffed) to 1 recipient, "
              "median of %d (%s)" % (mb, len(msg), len(wire) - len(msg) - 3,
                                     rounds,
                                     label or benchlib.shared_label()))
        for _, ip, port, b in paths:
            deliver_big(ip, port, msg, wire, b)          # warm-up
        secs = {p[0]: [] for p in paths}
        cpu = {p[0]: [0.0, 0.0] for p in paths}
        bpids = benchlib.backend_pids
        for _ in range(rounds):
            for name, ip, port, b in paths:
                c0 = (benchlib.cpu_seconds([director.pid]),
                      benchlib.cpu_seconds(bpids(backend)))
                secs[name].append(deliver_big(ip, port, msg, wire, b))
                cpu[name][0] += benchlib.cpu_seconds([director.pid]) - c0[0]
                cpu[name][1] += benchlib.cpu_seconds(bpids(backend)) - c0[1]
        size = len(msg) / 1e6
        base = size / statistics.median(secs["direct"])
        print("  %-12s %9s %8s %9s %9s %16s %14s" %
              ("path", "MB/s", "x direct", "min MB/s", "max MB/s",
               "directord ms/MB", "Dovecot ms/MB"))
        for name, *_ in paths:
            rate = size / statistics.median(secs[name])
            total = size * len(secs[name])
            print("  %-12s %9.0f %8.2f %9.0f %9.0f %16s %14.2f" %
                  (name, rate, rate / base, size / max(secs[name]),
                   size / min(secs[name]),
                   "-" if name == "direct" else
                   "%.2f" % (cpu[name][0] * 1000 / total),
                   cpu[name][1] * 1000 / total))
        print("  (target through >= 0.85 x direct)\n", flush=True)
        if strace:
            for name, ip, port, b in paths:
                print("  system calls during one %s delivery:" % name)
                print(strace_big(backend, director, ip, port, msg, wire, b),
                      flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "rel"))
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--big-mb", type=int, default=20)
    ap.add_argument("--big-rounds", type=int, default=7)
    ap.add_argument("--big-only", action="store_true",
                    help="only the large delivery")
    ap.add_argument("--bdat", action="store_true",
                    help="also direct deliveries with BDAT")
    ap.add_argument("--strace", action="store_true",
                    help="also strace -c one large delivery each way")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    load = os.path.join(build, "bench", "lmtp_load")
    benchlib.require("lmtp_bench.py", build, ("bench/lmtp_load", "directord"))
    with benchlib.cluster(build, {}) as (backend, director):
        print("directord %s (release build, log_level = warning) in front "
              "of Dovecot lmtp on %s\n" % (build, backend.ip), flush=True)
        if not args.big_only:
            for rcpts in (1, 5):
                compare(load, backend, director, rcpts, args.seconds,
                        benchlib.shared_label())
            with benchlib.backend_on_own_cpu(backend, director) as label:
                if label is not None:
                    for rcpts in (1, 5):
                        compare(load, backend, director, rcpts,
                                args.seconds, label)
        big(backend, director, args.big_mb, args.big_rounds, args.bdat,
            args.strace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
