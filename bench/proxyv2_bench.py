#!/usr/bin/python3
"""IMAP and POP3 logins through the director with the client's address
forwarded by IMAP ID / XCLIENT and by a PROXY v2 header (backend {
proxy_protocol = yes }); printed, never asserted.

One real Dovecot backend listens twice per protocol: plainly (143, 110:
the direct baseline and the director that forwards with ID / XCLIENT)
and with haproxy = yes (10143, 10110: the director that sends PROXY v2).
One client at a time (bench/latency_load, concurrency 1), ROUNDS rounds
alternating direct, ID/XCLIENT and PROXY v2 in the same run after a
warm-up; per step the medians of the rounds' p50 and p99 and the ratios
against direct.  The logged-in row is connect to login reply: the whole
login as the client sees it.  Dovecot runs on a CPU of its own.
Run as root:
    bench/proxyv2_bench.py [--build build/rel] [--sessions 100]
"""
import argparse
import os
import signal
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import benchlib  # noqa: E402
import latency_bench  # noqa: E402

PROTOCOLS = ("imap", "pop3")
HAPROXY_PORTS = {"imap": 10143, "pop3": 10110}
DOVECOT_EXTRA = latency_bench.DOVECOT_EXTRA + """
haproxy_trusted_networks = 127.0.0.0/8
service imap-login {
  inet_listener imap_haproxy {
    port = %(imap)d
    haproxy = yes
  }
}
service pop3-login {
  inet_listener pop3_haproxy {
    port = %(pop3)d
    haproxy = yes
  }
}
""" % HAPROXY_PORTS


def compare(load, proto, at, sessions, label):
    """at: [(name, (ip, port))], the first the baseline."""
    for _, where in at:
        latency_bench.run(load, proto, *where, latency_bench.USERS)
    runs = {name: [] for name, _ in at}
    for _ in range(latency_bench.ROUNDS):
        for name, where in at:
            runs[name].append(latency_bench.run(load, proto, *where,
                                                sessions))
    med = {name: latency_bench.medians(r) for name, r in runs.items()}
    base = at[0][0]
    print("%s, concurrency 1, %d sessions a round, median of %d rounds "
          "(%s); p50/p99 in ms, ratio to %s" %
          (proto.upper(), sessions, latency_bench.ROUNDS, label, base))
    print("  %-10s" % "step" + "".join(" %22s" % name for name, _ in at))
    for step in med[base]:
        if step in latency_bench.MILESTONES:
            print("  " + "-" * (10 + 23 * len(at)))
        cells = []
        for name, _ in at:
            p50, p99 = med[name][step]
            if name == base:
                cells.append("%8.3f %8.3f     " % (p50, p99))
            else:
                cells.append("%7.3f %7.3f %5.2fx" %
                             (p50, p99, p50 / med[base][step][0]))
        print("  %-10s" % step + "".join(" %22s" % c for c in cells))
    print(flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "rel"))
    ap.add_argument("--sessions", type=int, default=100,
                    help="sessions a round, protocol and path")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    load = os.path.join(build, "bench", "latency_load")
    benchlib.require("proxyv2_bench.py", build,
                     ("bench/latency_load", "directord"))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    settings = {"disable_plaintext_auth": "no"}
    v2 = {"proxy_protocol": "yes",
          "imap_port": str(HAPROXY_PORTS["imap"]),
          "pop3_port": str(HAPROXY_PORTS["pop3"])}
    with benchlib.cluster(build, settings, DOVECOT_EXTRA,
                          extra_directors=[v2]) as (backend, plain, proxied):
        print("directord %s (release build) in front of Dovecot on %s: "
              "d1 forwards the client with ID/XCLIENT, d2 with PROXY v2\n" %
              (build, backend.ip), flush=True)
        with benchlib.backend_on_own_cpu(backend, plain,
                                         proxied) as label:
            for proto in PROTOCOLS:
                compare(load, proto,
                        [("direct", (backend.ip,
                                     getattr(backend, proto + "_port"))),
                         ("ID/XCLIENT", plain.listeners()[proto]),
                         ("PROXY v2", proxied.listeners()[proto])],
                        args.sessions, label or benchlib.shared_label())
    return 0


if __name__ == "__main__":
    sys.exit(main())
