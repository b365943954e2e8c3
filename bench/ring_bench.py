#!/usr/bin/python3
"""The director ring's figures (issue 12), with release directord
processes and real Dovecot backends on loopback; printed, never asserted.

propagation  A user update made on director 1 of a five-director ring,
             until it is visible on the four others.  One thread sends
             the update and then polls USER-LOOKUP on the four others
             (one admin connection each, a poll every ~0.1 ms) until
             each shows the user's backend.  Two kinds of update:
             USER-MOVE of a user without an assignment (timed from the
             moment the command is written to director 1's admin socket:
             the director announces it as soon as it reads it), and an
             IMAP login through director 1 of a user without one (timed
             from the moment LOGIN is written; the time until the
             login's OK is printed beside it: an assignment announced
             only once the backend's login succeeded shows up after
             that).  Median and p90 over SAMPLES users of the time until
             the last of the four sees it, and per director.
admin        HOST-SET sent to a director of the same ring, until its
             reply: it answers once the change has gone around the ring.
join         A ring that holds USERS users (1,000,000 by default): the
             users are made by USER-MOVE over pipelined admin
             connections to a director that is alone (its peers not
             started yet: it becomes alone after the ring's 20 s wait),
             then the four others start one after the other and each
             joins; per join the wall time from its start until it logs
             "handshaked", and the handshake times the directors log
             themselves.  Memory per user on every director: its RSS
             once the ring holds every user, less the RSS of director 1
             before the users were made, divided by USERS.

Targets from the issue: update visible on 5 directors < 2 ms on loopback;
1 M-user handshake < 3 s; <= 64 bytes per user.  The five directors, the
three backends and this script share the machine's CPUs.
Run as root:
    bench/ring_bench.py [--build build/rel] [--users 1000000]
                        [--samples 200] [--skip-join]
"""
import argparse
import os
import re
import select
import shutil
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import benchlib  # noqa: E402
from harness import adminclient, directord, dovecot, netutil, procutil, \
    rawclient  # noqa: E402
from harness.ring import admin_cmd, ring_servers, ring_state, \
    wait_until  # noqa: E402

DIRECTORS = 5
POLL_TIMEOUT = 5.0
MOVE_CONNECTIONS = 8
MOVE_CHUNK = 2000
SETTINGS = {"log_level": "info", "disable_plaintext_auth": "no",
            "director_user_kick_delay": "0",
            "director_user_expire": "1 h"}


class Ring:
    """DIRECTORS release directors of one ring on plan, in work.  With
    grow, director 1 starts as a ring of one (no director_servers) and
    logs warnings only (each of the million moves it makes is logged at
    info), and director k lists directors 1..k: the ring grows by
    DIRECTOR-ADD on director 1."""

    def __init__(self, build, plan, work, backends, tag, grow=False):
        self.ds = []
        for i in range(1, DIRECTORS + 1):
            settings = dict(SETTINGS)
            servers = ring_servers(plan, DIRECTORS)
            if grow:
                servers = ring_servers(plan, i) if i > 1 else ""
                if i == 1:
                    settings["log_level"] = "warning"
            self.ds.append(directord.Directord(
                "d%d" % i, plan.director_ip(i),
                os.path.join(work, "%s-d%d" % (tag, i)),
                mail_servers=backends, director_servers=servers,
                binary=os.path.join(build, "directord"), settings=settings,
                extra_listeners={"ring": {"port": netutil.RING_PORT}},
                env={"ASAN_OPTIONS": ""}))

    def start(self, d, wait=r"ring: handshaked with", timeout=60):
        off = d.log_offset()
        t0 = time.monotonic()
        d.start()
        d.wait_log(wait, offset=off, timeout=timeout)
        return time.monotonic() - t0, off

    def stop(self):
        for d in self.ds:
            d.stop()


def admin(d):
    return adminclient.AdminClient(d.admin_socket, timeout=120)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 *
                                                 (len(values) - 1))))]


def ms(values):
    return "median %.2f ms, p90 %.2f ms" % (
        1000 * statistics.median(values), 1000 * pct(values, 90))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# -- propagation -------------------------------------------------------------

def poll_visible(pollers, user, expect, t0, client=None):
    """Polls USER-LOOKUP user on every poller (AdminClient) until each
    shows expect (or any backend, if expect is None); returns the seconds
    from t0 per poller (None for one that did not within POLL_TIMEOUT),
    and the seconds from t0 until client's socket had something to read
    (None without a client, or if it had nothing by then)."""
    seen = [None] * len(pollers)
    answered = None
    line = ("USER-LOOKUP\t%s\n" % user).encode()
    while None in seen and time.perf_counter() - t0 < POLL_TIMEOUT:
        if (client is not None and answered is None and
                select.select([client.sock], [], [], 0)[0]):
            answered = time.perf_counter() - t0
        todo = [i for i, s in enumerate(seen) if s is None]
        for i in todo:
            pollers[i].sock.sendall(line)
        for i in todo:
            host = pollers[i].line().split("\t")[0]
            if host and (expect is None or host == expect):
                seen[i] = time.perf_counter() - t0
    return seen, answered


def bench_propagation(ring, backends, samples):
    d1, others = ring.ds[0], ring.ds[1:]
    pollers = [admin(d) for d in others]
    results = {"move": [], "login": []}
    logins = []
    try:
        with admin(d1) as a:
            for n in range(samples):
                user, target = "prop%d" % n, backends[n % len(backends)]
                t0 = time.perf_counter()
                a.send("USER-MOVE", user, target)
                results["move"].append(poll_visible(pollers, user, target,
                                                    t0)[0])
                a.line()
        for n in range(samples):
            user = "user%d" % (100 + n)
            c = rawclient.imap_connect(*d1.listeners()["imap"])
            t0 = time.perf_counter()
            c.send("a LOGIN %s %s\r\n" % (user, dovecot.USER_PASSWORD))
            seen, answered = poll_visible(pollers, user, None, t0, c)
            assert c.until("a ")[-1].startswith(b"a OK"), user
            logins.append(answered if answered is not None
                          else time.perf_counter() - t0)
            c.close()
            results["login"].append(seen)
    finally:
        for p in pollers:
            p.close()
    for kind, rows in results.items():
        missed = samples - len([r for r in rows if None not in r])
        rows = [r for r in rows if None not in r]
        if not rows:
            print("propagation (%s): never visible everywhere" % kind)
            continue
        print("propagation, %s -> visible on all %d directors: %s "
              "(%d samples%s)" % (
                  "USER-MOVE written to d1" if kind == "move"
                  else "LOGIN written to d1",
                  DIRECTORS, ms([max(r) for r in rows]), len(rows),
                  ", %d not seen within %.0f s" % (missed, POLL_TIMEOUT)
                  if missed else ""))
        print("  per director: %s" % "; ".join(
            "%s %s" % (d.name, ms([r[i] for r in rows]))
            for i, d in enumerate(others)))
    if logins:
        print("  (the logins' OK came after: %s)" % ms(logins))


def bench_admin(ring, backends, samples):
    took = []
    for n in range(samples):
        d = ring.ds[n % DIRECTORS]
        with admin(d) as a:
            t0 = time.perf_counter()
            reply = a.command("HOST-SET", backends[0], str(100 + n % 2))
            took.append(time.perf_counter() - t0)
        if reply != "OK":
            print("HOST-SET through %s: %r" % (d.name, reply))
    print("admin: HOST-SET answered (after the ring synced) %s "
          "(%d samples, through each director in turn)" %
          (ms(took), samples))


# -- join --------------------------------------------------------------------

def make_users(d, backends, count):
    """count USER-MOVEs over pipelined admin connections; returns the
    seconds it took and the replies that were not OK."""
    bad = []
    lock = threading.Lock()

    def worker(first):
        with admin(d) as a:
            for start in range(first, count, MOVE_CHUNK * MOVE_CONNECTIONS):
                n = min(MOVE_CHUNK, count - start)
                a.sock.sendall("".join(
                    "USER-MOVE\tu%d\t%s\n" % (i, backends[i % len(backends)])
                    for i in range(start, start + n)).encode())
                for _ in range(n):
                    reply = a.line()
                    if reply != "OK":
                        with lock:
                            bad.append(reply)

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i * MOVE_CHUNK,))
               for i in range(MOVE_CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0, bad


def user_count(d):
    with admin(d) as a:
        return sum(int(f[2]) for f in a.list("HOST-LIST"))


def handshake_lines(d, offset):
    return [(m.group(1), int(m.group(2))) for m in re.finditer(
        r"ring: handshake with (\S+) \(\w+\) finished in (\d+) ms",
        d.log_text(offset))]


def bench_join(ring, backends, users):
    d1 = ring.ds[0]
    d1.start()
    base = rss_kb(d1.pid)
    print("join: d1 started as a ring of one, RSS %d kB" % base)
    took, bad = make_users(d1, backends, users)
    print("join: %d users made by USER-MOVE on d1 in %.1f s (%.0f/s, %d "
          "connections pipelining %d each)%s" %
          (users, took, users / took, MOVE_CONNECTIONS, MOVE_CHUNK,
           ", %d not OK: %r" % (len(bad), bad[:3]) if bad else ""))
    print("join: d1 holds %d users (user names whose 32-bit hashes "
          "collide share one)" % user_count(d1))
    for k, d in enumerate(ring.ds[1:], 2):
        off = d.log_offset()
        t0 = time.monotonic()
        d.start()
        reply = admin_cmd(d1, "DIRECTOR-ADD", d.ip, str(netutil.RING_PORT),
                          timeout=300)
        d.wait_log(r"ring: handshaked with", offset=off, timeout=300)
        took = time.monotonic() - t0
        print("join: %s joined a ring of %d holding %d users (DIRECTOR-ADD "
              "on d1: %s): %.2f s from its start until it logged "
              "'handshaked'; handshakes it logged: %s" % (
                  d.name, k - 1, users, reply, took,
                  ", ".join("%s %d ms" % h for h in
                            handshake_lines(d, off)) or "none"))
    wait_until("the ring synced", lambda: all(
        ring_state(d) == "ring synced" for d in ring.ds), timeout=120)
    time.sleep(2)
    for d in ring.ds:
        rss, held = rss_kb(d.pid), user_count(d)
        print("join: %s holds %d users, RSS %d kB: %.1f bytes per user "
              "(over d1's %d kB before the users)" %
              (d.name, held, rss, (rss - base) * 1024.0 / held, base))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "rel"))
    ap.add_argument("--users", type=int, default=1000000)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--parts", default="propagation,admin,join",
                    help="which figures (comma-separated)")
    args = ap.parse_args()
    benchlib.require("ring_bench", args.build, ["directord"])
    plan = netutil.allocate_plan()
    work = tempfile.mkdtemp(prefix="director-bench-", dir="/tmp")
    os.chmod(work, 0o755)
    bs = []
    print(benchlib.shared_label() + "; release build " + args.build)
    try:
        bs = dovecot.start_backends(plan, work, 3)
        ips = [b.ip for b in bs]
        ring = Ring(args.build, plan, work, ips, "a")
        try:
            for d in ring.ds:
                d.start()
            for d in ring.ds:
                d.wait_log(r"ring: handshaked with %d" % DIRECTORS,
                           timeout=60)
            time.sleep(6)   # past the first SYNC of the new ring
            if "propagation" in args.parts:
                bench_propagation(ring, ips, args.samples)
            if "admin" in args.parts:
                bench_admin(ring, ips, min(args.samples, 100))
        finally:
            ring.stop()
        if "join" in args.parts:
            ring = Ring(args.build, plan, work, ips, "b", grow=True)
            try:
                bench_join(ring, ips, args.users)
            finally:
                ring.stop()
    finally:
        dovecot.stop_backends(bs)
        procutil.stop_all()
        plan.release()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
