#!/usr/bin/python3
"""Login latency at concurrency 1, per protocol and step; printed, never
asserted.

One client, one session after the other, each step timed on its own by
bench/latency_load: IMAP greeting, LOGIN, LOGOUT; POP3 greeting, USER,
PASS, STAT, QUIT; LMTP greeting, LHLO, MAIL, RCPT, DATA, the message
(one delivery) and QUIT.  Directly against one real Dovecot backend and
through a release directord in front of the same backend, alternating
in the same run, ROUNDS times after a warm-up; per step the medians of
the rounds' p50 and p99 and the ratios through/direct.  At concurrency 1
nothing queues, so a ratio far above the others (a step ten times
slower through the director, say) means a step that waits on a timer:
a reply held back by Nagle's algorithm until a delayed ACK, as the POP3
PASS step once did.  Dovecot runs on a CPU of its own, directord and the
client on the others (benchlib.backend_on_own_cpu), as deployed.
Run as root:
    bench/latency_bench.py [--build build/rel] [--sessions 100]
"""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import benchlib  # noqa: E402

PROTOCOLS = ("imap", "pop3", "lmtp")
ROUNDS = 3
USERS = 20          # each one's first login creates its mail directory
# Through the director the backend is reached at the login (LMTP: RCPT)
# step, not at connect, so the director's own greeting is fast and that
# step carries the backend's connect and greeting: these rows, from
# connect to the login's (delivery's) reply, compare like with like.
MILESTONES = ("logged-in", "delivered")
# No process starts inside a timed step: Dovecot starts one login and one
# mail process a protocol ahead, and each serves one session after the
# other (out of the box it forks and executes a process for each, whose
# cost, tens of ms on a busy machine, would hide a delay of the proxy).
DOVECOT_EXTRA = "".join("""
service %s {
  service_count = 0
  process_min_avail = 1
}
""" % name for name in ("imap-login", "pop3-login", "imap", "pop3", "lmtp"))
STEP_RE = re.compile(r"^step (\S+) samples (\d+) p50_ms ([\d.]+) "
                     r"p99_ms ([\d.]+)$", re.M)


def run(load, proto, ip, port, sessions):
    """One latency_load run: {step: (p50_ms, p99_ms)} in step order."""
    res = subprocess.run([load, ip, str(port), proto, str(sessions),
                          str(USERS)], capture_output=True, text=True,
                         timeout=sessions + 60)
    m = re.search(r"^errors (\d+)$", res.stdout, re.M)
    if res.returncode != 0 or not m or int(m.group(1)) != 0:
        raise RuntimeError("latency_load %s %s:%d: %r %r" %
                           (proto, ip, port, res.stdout, res.stderr))
    return {s: (float(p50), float(p99))
            for s, _, p50, p99 in STEP_RE.findall(res.stdout)}


def medians(runs):
    """{step: (median p50, median p99)} over runs."""
    return {step: tuple(statistics.median(r[step][i] for r in runs)
                        for i in (0, 1))
            for step in runs[0]}


def compare(load, proto, backend, director, sessions, label):
    direct_at = (backend.ip, getattr(backend, proto + "_port"))
    through_at = director.listeners()[proto]
    run(load, proto, *direct_at, USERS)
    run(load, proto, *through_at, USERS)
    direct, through = [], []
    for _ in range(ROUNDS):
        direct.append(run(load, proto, *direct_at, sessions))
        through.append(run(load, proto, *through_at, sessions))
    d, t = medians(direct), medians(through)
    print("%s, concurrency 1, %d sessions a round, median of %d rounds "
          "(%s)" % (proto.upper(), sessions, ROUNDS, label))
    print("  %-10s %17s %19s %15s" %
          ("step", "direct p50/p99", "through p50/p99", "ratio p50/p99"))
    for step in d:
        if step in MILESTONES:
            print("  " + "-" * 64)
        print("  %-10s %7.3f %7.3f ms %7.3f %7.3f ms %7.2f %7.2f" %
              (step, d[step][0], d[step][1], t[step][0], t[step][1],
               t[step][0] / d[step][0], t[step][1] / d[step][1]))
    print(flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "rel"))
    ap.add_argument("--sessions", type=int, default=100,
                    help="sessions a round and protocol")
    ap.add_argument("--protocol", choices=PROTOCOLS, action="append",
                    help="only these (repeatable; default: all)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    load = os.path.join(build, "bench", "latency_load")
    benchlib.require("latency_bench.py", build,
                     ("bench/latency_load", "directord"))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    settings = {"disable_plaintext_auth": "no"}
    with benchlib.cluster(build, settings, DOVECOT_EXTRA) as (backend,
                                                             director):
        print("directord %s (release build, log_level = warning) in front "
              "of Dovecot on %s\n" % (build, backend.ip), flush=True)
        with benchlib.backend_on_own_cpu(backend, director) as label:
            for proto in args.protocol or PROTOCOLS:
                compare(load, proto, backend, director, args.sessions,
                        label or benchlib.shared_label())
    return 0


if __name__ == "__main__":
    sys.exit(main())
