#!/usr/bin/python3
"""TLS handshakes through the director with 1, 2, ... worker threads;
printed, never asserted.

One real Dovecot backend and a release directord with an implicit-TLS
IMAP listener and an RSA-2048 certificate (bench/benchlib.py).  For each
`workers` setting in turn (1, 2 and the number of CPUs by default) a new
directord takes full TLS 1.3 handshakes from --clients parallel
`openssl s_time -new` loops for --seconds (each connection: handshake,
the director's greeting, close; no login, so the figure is the TLS front
alone).  Printed: handshakes per second (summed over the clients), the
ratio to one worker, and directord's CPU milliseconds per handshake (from
/proc).  The load generator shares the machine's CPUs with directord:
on a small machine the rate stops growing when the CPUs are saturated.
Run as root:
    bench/tls_bench.py [--build build/rel] [--seconds 10] [--clients 4]
        [--workers 1,2,4]
"""
import argparse
import os
import re
import signal
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import benchlib  # noqa: E402

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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "rel"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--workers", default="1,2,%d" % os.cpu_count())
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    benchlib.require("tls_bench.py", build, ("directord",))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    cert, key = rsa_cert()
    counts = []
    for w in args.workers.split(","):
        if int(w) not in counts:
            counts.append(int(w))
    print("directord %s (release build); RSA-2048, TLS 1.3, %d s, %d "
          "openssl s_time clients, %d CPUs shared by all\n" %
          (build, args.seconds, args.clients, os.cpu_count()), flush=True)
    print("  %-8s %14s %10s %22s" % ("workers", "handshakes/s", "x 1",
                                     "directord ms/handshake"))
    base = None
    for n in counts:
        settings = {"ssl_cert": cert, "ssl_key": key, "workers": str(n),
                    "max_connections_per_ip": "0"}
        listeners = {"imaps": {"protocol": "imap", "port": IMAPS_PORT,
                               "tls": "implicit"}}
        with benchlib.cluster(build, settings,
                              extra_listeners=listeners) as (backend, d):
            ip, port = d.listeners()["imaps"]
            handshakes(ip, port, 1, 1)              # warm-up
            c0 = benchlib.cpu_seconds([d.pid])
            done = handshakes(ip, port, args.clients, args.seconds)
            cpu = benchlib.cpu_seconds([d.pid]) - c0
        rate = done / args.seconds
        base = base or rate
        print("  %-8d %14.0f %10.2f %22.3f" %
              (n, rate, rate / base, cpu * 1000 / max(done, 1)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
