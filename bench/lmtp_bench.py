#!/usr/bin/python3
"""LMTP proxy benchmark (issue #4), printed, never asserted.

Deliveries per second of a 10 KB message to 1 and to 5 recipients, with
bench/lmtp_load against one real Dovecot lmtp backend directly and
through a release directord in front of it, alternating direct/proxy
runs ROUNDS times after a warm-up; medians and the ratio proxy/direct.
Twice: every process sharing every CPU, and Dovecot on a CPU of its own
with directord and the load generator on the other (as deployed:
backends, directors and MTAs on separate hosts).  Run as root:
    bench/lmtp_bench.py [--build build/rel] [--seconds 5]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import benchlib  # noqa: E402

CONCURRENCY = 8
ROUNDS = 3
SIZE = 10 * 1024
USERS = 1000


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "rel"))
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    load = os.path.join(build, "bench", "lmtp_load")
    benchlib.require("lmtp_bench.py", build, ("bench/lmtp_load", "directord"))
    with benchlib.cluster(build, {}) as (backend, director):
        print("directord %s (release build, log_level = warning) in front "
              "of Dovecot lmtp on %s\n" % (build, backend.ip), flush=True)
        for rcpts in (1, 5):
            compare(load, backend, director, rcpts, args.seconds,
                    benchlib.shared_label())
        with benchlib.backend_on_own_cpu(backend, director) as label:
            if label is not None:
                for rcpts in (1, 5):
                    compare(load, backend, director, rcpts, args.seconds,
                            label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
