#!/usr/bin/python3
"""IMAP proxy benchmark (issue #3), printed, never asserted.

1. Throughput and latency: LOGIN + SELECT INBOX + LOGOUT sessions per
   second, p50 and p99, with bench/imap_load against one real Dovecot
   backend directly and through a release directord in front of the same
   backend, alternating direct/proxy runs ROUNDS times after a warm-up and
   reporting the medians and the ratio proxy/direct.  Twice: with every
   process sharing every CPU (the director's CPU then comes out of
   Dovecot's), and with Dovecot on a CPU of its own and the load generator
   and directord on the other, as deployed: backends, directors and
   clients on separate hosts.  Each comparison also prints the CPU time
   per session of Dovecot, directord and the load generator.
2. Memory: IDLE_SESSIONS logged-in idle IMAP sessions through the
   director; the director's VmRSS before and after, per session.

Everything runs on loopback addresses of the integration harness's
address plan.  Run as root (Dovecot and directord drop privileges):
    bench/proxy_bench.py [--build build/rel] [--seconds 6] [--idle 10000]
"""
import argparse
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import benchlib  # noqa: E402

CONCURRENCY = 64            # parallel sessions: enough to saturate the backend
ROUNDS = 3
USERS = 1000
NOFILE = 65536

# Dovecot for many concurrent sessions: imap processes serve many clients
# each (the default is one process per session), login processes too.
DOVECOT_EXTRA = """
service imap {
  service_count = 0
  client_limit = 1000
  process_limit = 64
}
service imap-login {
  service_count = 0
  client_limit = 4000
  process_limit = 8
  process_min_avail = 2
}
default_client_limit = 40000
default_vsz_limit = 1G
"""


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def run_load(load, ip, port, mode, conc, seconds):
    res = subprocess.run([load, ip, str(port), mode, str(conc),
                          str(seconds), str(USERS)], capture_output=True,
                         text=True, timeout=seconds + 120)
    if res.returncode != 0:
        raise RuntimeError("imap_load failed: %s" % res.stderr)
    return res.stdout


def parse_sessions(out):
    m = re.search(r"sessions (\d+) sessions_per_s ([\d.]+) p50_ms ([\d.]+) "
                  r"p99_ms ([\d.]+) errors (\d+)", out)
    if not m:
        raise RuntimeError("unexpected imap_load output: %r" % out)
    return {"sessions": int(m.group(1)), "rate": float(m.group(2)),
            "p50": float(m.group(3)), "p99": float(m.group(4)),
            "errors": int(m.group(5))}


def throughput(load, backend, director, seconds, label):
    bip, bport = backend.ip, backend.imap_port
    dip, dport = director.listeners()["imap"]
    meter = benchlib.CpuMeter(backend, director)
    # the first login of each user creates its maildir: slow, so the
    # warm-up must have logged in every user at least once
    print("warm-up: %d s direct, %d s through the director" %
          (2 * seconds, max(1, seconds // 2)), flush=True)
    run_load(load, bip, bport, "sessions", CONCURRENCY, 2 * seconds)
    run_load(load, dip, dport, "sessions", CONCURRENCY, max(1, seconds // 2))
    direct, proxy = [], []

    def one(runs, ip, port):
        meter.start()
        r = parse_sessions(run_load(load, ip, port, "sessions", CONCURRENCY,
                                    seconds))
        r.update(meter.stop())
        runs.append(r)

    for r in range(ROUNDS):
        one(direct, bip, bport)
        one(proxy, dip, dport)
        print("round %d: direct %.1f/s (p50 %.2f ms, p99 %.2f ms, %d errors)"
              "  proxy %.1f/s (p50 %.2f ms, p99 %.2f ms, %d errors)" %
              (r + 1, direct[-1]["rate"], direct[-1]["p50"],
               direct[-1]["p99"], direct[-1]["errors"], proxy[-1]["rate"],
               proxy[-1]["p50"], proxy[-1]["p99"], proxy[-1]["errors"]),
              flush=True)

    def med(runs, key):
        return statistics.median(r[key] for r in runs)

    def per_session_us(runs, key):
        return statistics.median(1e6 * r[key] / max(1, r["sessions"])
                                 for r in runs)

    d_rate, p_rate = med(direct, "rate"), med(proxy, "rate")
    print()
    print("IMAP LOGIN+SELECT+LOGOUT, concurrency %d, %d s runs, median of %d"
          " (%s)" % (CONCURRENCY, seconds, ROUNDS, label))
    print("  direct:           %8.1f sessions/s  p50 %6.2f ms  p99 %6.2f ms"
          % (d_rate, med(direct, "p50"), med(direct, "p99")))
    print("  through director: %8.1f sessions/s  p50 %6.2f ms  p99 %6.2f ms"
          % (p_rate, med(proxy, "p50"), med(proxy, "p99")))
    print("  ratio proxy/direct: %.3f  (target >= 0.9)" % (p_rate / d_rate))
    print("  errors: direct %d, proxy %d" %
          (sum(r["errors"] for r in direct), sum(r["errors"] for r in proxy)))
    d_cpu, p_cpu = (per_session_us(direct, "dovecot"),
                    per_session_us(proxy, "dovecot"))
    print("  CPU per session: Dovecot %.0f us direct, %.0f us through the "
          "director (%+.1f %%); directord %.0f us; load generator %.0f us "
          "direct, %.0f us through" %
          (d_cpu, p_cpu, 100.0 * (p_cpu - d_cpu) / d_cpu,
           per_session_us(proxy, "directord"), per_session_us(direct, "load"),
           per_session_us(proxy, "load")))
    print("  CPU busy through the director: Dovecot %.0f %%, directord + "
          "load generator %.0f %% (of one CPU)" %
          (100.0 * statistics.median(r["dovecot"] / r["wall"] for r in proxy),
           100.0 * statistics.median((r["directord"] + r["load"]) / r["wall"]
                                     for r in proxy)))
    print(flush=True)


def idle_memory(load, director, count, hold):
    dip, dport = director.listeners()["imap"]
    pid = director.pid
    before = rss_kib(pid)
    proc = subprocess.Popen([load, dip, str(dport), "idle", str(count),
                             str(hold), str(USERS)], stdout=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline()
    m = re.search(r"idle_ready logged_in (\d+) errors (\d+) after ([\d.]+)",
                  line)
    if not m:
        proc.kill()
        raise RuntimeError("imap_load idle: %r" % line)
    logged, errors = int(m.group(1)), int(m.group(2))
    time.sleep(1)
    after = rss_kib(pid)
    proc.wait(timeout=hold + 120)
    print()
    print("memory of %d idle proxied IMAP sessions (plaintext, logged in)" %
          logged)
    print("  directord VmRSS before %d KiB, with the sessions %d KiB" %
          (before, after))
    if logged:
        print("  per session: %.2f KiB  (target <= 16 KiB)" %
              ((after - before) / logged))
    print("  logins %d of %d, errors %d (ready after %s s)" %
          (logged, count, errors, m.group(3)), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "rel"))
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--concurrency", type=int, default=CONCURRENCY,
                    help="parallel sessions of the throughput runs")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (logs) for a look")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    load = os.path.join(build, "bench", "imap_load")
    benchlib.require("proxy_bench.py", build, ("bench/imap_load", "directord"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = NOFILE if hard == resource.RLIM_INFINITY else min(NOFILE, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
    except ValueError:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    # directord holds two descriptors per proxied session
    idle = min(args.idle, (want - 256) // 2)
    if idle < args.idle:
        print("note: RLIMIT_NOFILE is %d here (hard limit), so directord "
              "can hold at most %d proxied sessions: measuring %d idle "
              "sessions instead of %d" % (want, (want - 256) // 2, idle,
                                          args.idle), flush=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    globals()["CONCURRENCY"] = args.concurrency
    settings = {"disable_plaintext_auth": "no",
                "max_connections": str(idle + 1000),
                "max_connections_per_ip": str(idle + 1000)}
    with benchlib.cluster(build, settings, DOVECOT_EXTRA,
                          keep=args.keep) as (backend, director):
        print("directord %s (release build, log_level = warning) in front "
              "of Dovecot %s on %s" %
              (build, subprocess.run(["dovecot", "--version"],
                                     capture_output=True, text=True)
               .stdout.strip(), backend.ip), flush=True)
        # 1. everything shares every CPU of this machine
        throughput(load, backend, director, args.seconds,
                   benchlib.shared_label())
        # 2. as deployed: the backend on a CPU (host) of its own, the
        # clients and the director elsewhere, for direct and proxied runs
        with benchlib.backend_on_own_cpu(backend, director) as label:
            if label is not None:
                throughput(load, backend, director, args.seconds, label)
        if idle > 0:
            idle_memory(load, director, idle, 10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
