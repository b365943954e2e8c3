#!/usr/bin/python3
"""TLS handshakes and TLS sessions through the director with 1, 2, ...
worker threads; printed, never asserted.

One real Dovecot backend and a release directord with an implicit-TLS
IMAP listener and an RSA-2048 certificate (bench/benchlib.py).  For each
`workers` setting in turn (1, 2 and the number of CPUs by default) a new
directord is measured three ways, each for --seconds:

  handshakes  --clients parallel `openssl s_time -new` loops (each
              connection: TLS 1.3 handshake, the greeting, close; no
              login, so the figure is the TLS front alone), as fast as
              they go;
  paced handshakes
              the same connections from --clients Python loops at a
              fixed rate (--paced-handshakes, default 40 % of what one
              worker reached);
  sessions    --clients parallel Python loops of whole sessions (TLS 1.3
              handshake, LOGIN, SELECT INBOX, LOGOUT: the login is routed
              by the engine, so with several workers each session costs
              a message to the engine's thread and back), as fast as
              they go;
  paced       the same sessions at a fixed rate (--paced, default 40 % of
              what one worker reached): the machine is not saturated, so
              directord's CPU per session compares the workers' overhead
              and nothing else.

Each measurement runs --rounds times, the workers settings taking turns
(this machine's noise drifts).  Printed: the median handshakes or sessions
per second (summed over the clients), its ratio to one worker, and the
median and range of directord's CPU milliseconds per handshake or session
(from /proc).  The load generators and Dovecot share the
machine's CPUs with directord: on a small machine the saturated rates stop
growing when the CPUs are busy, and the CPU per handshake there includes
what sharing a busy CPU costs (caches, context switches); the paced figure
does not.  Run as root:
    bench/tls_bench.py [--build build/rel] [--seconds 10] [--rounds 3]
        [--clients 4]
        [--workers 1,2,4] [--paced RATE] [--paced-handshakes RATE]
        [--parts handshakes,paced-handshakes,sessions,paced]
"""
import argparse
import multiprocessing
import os
import re
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import benchlib  # noqa: E402
from harness import dovecot  # noqa: E402

IMAPS_PORT = 1993
CERT_DIR = "/tmp/director-bench-certs"


def rsa_cert():
    """A self-signed RSA-2048 certificate and key (made once)."""
    os.makedirs(CERT_DIR, exist_ok=True)
    cert = os.path.join(CERT_DIR, "rsa-cert.pem")
    key = os.path.join(CERT_DIR, "rsa-key.pem")
    if not (os.path.exists(cert) and os.path.exists(key)):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-days", "2", "-subj", "/CN=director.test",
                        "-keyout", key, "-out", cert], check=True,
                       capture_output=True, timeout=60)
        os.chmod(cert, 0o644)
        os.chmod(key, 0o644)
    return cert, key


def handshakes(ip, port, clients, seconds):
    """Runs clients s_time loops; returns the handshakes they made."""
    procs = [subprocess.Popen(
        ["openssl", "s_time", "-connect", "%s:%d" % (ip, port), "-new",
         "-tls1_3", "-time", str(seconds)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for _ in range(clients)]
    total = 0
    for p in procs:
        out, _ = p.communicate(timeout=seconds + 60)
        m = re.search(r"(\d+) connections in [\d.]+s", out)
        if m is None:
            raise RuntimeError("s_time: %r" % out[-300:])
        total += int(m.group(1))
    return total


def one_session(ctx, ip, port, user):
    """Handshake, LOGIN, SELECT INBOX, LOGOUT (user None: the handshake
    and the greeting only); True if all went well."""
    with ctx.wrap_socket(socket.create_connection((ip, port),
                                                  timeout=30)) as s:
        f = s.makefile("rb")
        ok = f.readline().startswith(b"* OK")
        if user is None:
            return ok
        for tag, cmd in ((b"a", b"LOGIN %s %s" % (
                user.encode(), dovecot.USER_PASSWORD.encode())),
                (b"b", b"SELECT INBOX"), (b"c", b"LOGOUT")):
            s.sendall(tag + b" " + cmd + b"\r\n")
            while True:
                line = f.readline()
                if not line or line.startswith(tag + b" "):
                    break
            ok = ok and line.startswith(tag + b" OK")
        return ok


def session_loop(ip, port, seconds, interval, first, step, login, out):
    """Sessions for seconds, one every interval seconds (0: back to
    back), as users first, first+step, ... (mod 50), or without login;
    puts (done, failed) on out."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    done = failed = 0
    start = time.monotonic()
    end = start + seconds
    n = first
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if interval:
            due = start + (done + failed) * interval
            if due > now:
                time.sleep(min(due - now, end - now))
                continue
        try:
            ok = one_session(ctx, ip, port,
                             "user%d" % (n % 50) if login else None)
        except OSError:
            ok = False
        done, failed = (done + 1, failed) if ok else (done, failed + 1)
        n += step
    out.put((done, failed))


def sessions(ip, port, clients, seconds, rate=0, login=True):
    """clients processes of session_loop, back to back or rate sessions a
    second in all; returns (sessions done, failed)."""
    out = multiprocessing.Queue()
    interval = clients / rate if rate else 0
    procs = [multiprocessing.Process(
        target=session_loop,
        args=(ip, port, seconds, interval, i, clients, login, out))
        for i in range(clients)]
    for p in procs:
        p.start()
    done = failed = 0
    for _ in procs:
        d, f = out.get(timeout=seconds + 120)
        done, failed = done + d, failed + f
    for p in procs:
        p.join()
    return done, failed


def measure(counts, args, run):
    """Prints one line a workers setting: the medians over args.rounds
    runs, the settings taking turns; run(ip, port, seconds) returns
    (count, failed).  Returns the median rate of the first setting."""
    runs = {n: [] for n in counts}
    for _ in range(args.rounds):
        for n in counts:
            with benchlib.cluster(args.build, settings_for(n, args),
                                  dovecot_extra=DOVECOT_REUSE,
                                  extra_listeners=LISTENERS) as (backend, d):
                ip, port = d.listeners()["imaps"]
                run(ip, port, 1)                        # warm-up
                c0 = benchlib.cpu_seconds([d.pid])
                done, failed = run(ip, port, args.seconds)
                cpu = benchlib.cpu_seconds([d.pid]) - c0
            runs[n].append((done / args.seconds,
                            cpu * 1000 / max(done, 1), failed))
    base = statistics.median(r[0] for r in runs[counts[0]])
    for n in counts:
        rate = statistics.median(r[0] for r in runs[n])
        ms = [r[1] for r in runs[n]]
        print("  %-8d %14.0f %10.2f %22.3f %15s %8d" %
              (n, rate, rate / base, statistics.median(ms),
               "%.3f-%.3f" % (min(ms), max(ms)),
               sum(r[2] for r in runs[n])), flush=True)
    return base


# Dovecot keeps imap processes for the next login rather than starting one
# a login: the backend, not the director, limits the session rate here
DOVECOT_REUSE = """
service imap {
  service_count = 0
  process_min_avail = 4
}
"""

LISTENERS = {"imaps": {"protocol": "imap", "port": IMAPS_PORT,
                       "tls": "implicit"}}


def settings_for(workers, args):
    return {"ssl_cert": args.cert, "ssl_key": args.key,
            "workers": str(workers), "max_connections_per_ip": "0"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "rel"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3,
                    help="runs of each workers setting, taking turns; "
                    "the medians are printed")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--workers", default="1,2,%d" % os.cpu_count())
    ap.add_argument("--paced", type=float, default=0,
                    help="sessions a second of the paced run (default: "
                    "40 %% of one worker's saturated rate)")
    ap.add_argument("--paced-handshakes", type=float, default=0,
                    help="handshakes a second of the paced run (default: "
                    "40 %% of one worker's saturated rate)")
    ap.add_argument("--parts",
                    default="handshakes,paced-handshakes,sessions,paced",
                    help="which measurements to make (a paced part without "
                    "its saturated one needs its rate)")
    args = ap.parse_args()
    parts = args.parts.split(",")
    if "paced" in parts and "sessions" not in parts and not args.paced:
        ap.error("--parts paced without sessions needs --paced RATE")
    if ("paced-handshakes" in parts and "handshakes" not in parts and
            not args.paced_handshakes):
        ap.error("--parts paced-handshakes without handshakes needs "
                 "--paced-handshakes RATE")
    args.build = build = os.path.abspath(args.build)
    benchlib.require("tls_bench.py", build, ("directord",))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    args.cert, args.key = rsa_cert()
    counts = []
    for w in args.workers.split(","):
        if int(w) not in counts:
            counts.append(int(w))
    print("directord %s (release build); RSA-2048, TLS 1.3, %d s, %d "
          "clients, %d CPUs shared by all; medians of %d runs, the workers "
          "settings taking turns\n" % (build, args.seconds, args.clients,
                                      os.cpu_count(), args.rounds),
          flush=True)
    header = "  %-8s %14s %10s %22s %15s %8s"
    full = 0
    if "handshakes" in parts:
        full = handshake_part(counts, args, header)
    if "paced-handshakes" in parts:
        paced_part(counts, args, header, args.paced_handshakes or
                   max(1.0, round(full * 0.4)), False)
    full = 0
    if "sessions" in parts:
        full = session_part(counts, args, header)
    if "paced" in parts:
        paced_part(counts, args, header, args.paced or
                   max(1.0, round(full * 0.4)), True)
    return 0


def handshake_part(counts, args, header):
    print("handshakes (openssl s_time, %d clients, as fast as they go)" %
          args.clients)
    print(header % ("workers", "handshakes/s", "x 1",
                    "directord ms/handshake", "range", "failed"))
    return measure(counts, args, lambda ip, port, secs: (
        handshakes(ip, port, args.clients if secs > 1 else 1, secs), 0))


def session_part(counts, args, header):
    print("\nsessions (handshake, LOGIN, SELECT, LOGOUT; %d clients, as "
          "fast as they go)" % args.clients)
    print(header % ("workers", "sessions/s", "x 1",
                    "directord ms/session", "range", "failed"))
    return measure(counts, args, lambda ip, port, secs: (
        sessions(ip, port, args.clients if secs > 1 else 1, secs)))


def paced_part(counts, args, header, rate, login):
    what = "sessions" if login else "handshakes"
    print("\npaced %s (%.0f a second, %d clients: the CPUs are not "
          "saturated)" % (what, rate, args.clients))
    print(header % ("workers", what + "/s", "x 1",
                    "directord ms/" + what[:-1], "range", "failed"))
    measure(counts, args, lambda ip, port, secs: (
        sessions(ip, port, args.clients if secs > 1 else 1, secs,
                 rate if secs > 1 else 0, login)))


if __name__ == "__main__":
    sys.exit(main())
