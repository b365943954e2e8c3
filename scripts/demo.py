#!/usr/bin/python3
"""`make demo`: the mail director on one machine, step by step.

Starts three real Dovecot backends on loopback (the integration test
harness), writes and checks a directord configuration, starts a ring of
three directors and shows one user's sessions through all three landing
on one backend, shows with `directorctl simulate` which backend each user maps to under
both hashing methods and how evenly 100000 users spread, and logs a few
users in over IMAP and POP3 through the director, checking in the
backends' own logs that each landed where predicted, delivers a message
over LMTP to users on different backends and reads it back, then shows
`directorctl status` and moves a user with a live session.  Runs as
root (Dovecot and directord drop privileges); everything it starts is
stopped and its temporary directory removed, also on error or Ctrl-C.

Each step is a function in STEPS, run in order.
"""
import argparse
import imaplib
import poplib
import re
import os
import shutil
import socket
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from harness import directord, dovecot, netutil, oracle, procutil  # noqa

SAMPLE_USERS = ["user%d" % i for i in (0, 1, 2, 3, 42, 100, 500, 999)]
LOGIN_USERS = SAMPLE_USERS[:3]
BALANCE_USERS = 100000
BACKEND_COUNT = 3


class Demo:
    def __init__(self, build):
        self.build = os.path.abspath(build)
        self.plan = None
        self.workdir = None
        self.backends = []
        self.director = None    # the first of the ring
        self.ring = []
        self.method = "rendezvous"

    def ctl(self, *args):
        """Runs directorctl with the demo's configuration; returns stdout."""
        cmd = [os.path.join(self.build, "directorctl"), "-c",
               self.director.config_path] + list(args)
        res = subprocess.run(cmd, capture_output=True, text=True,
                             timeout=60)
        if res.returncode != 0:
            raise RuntimeError("%s exited with %d:\n%s" %
                               (" ".join(cmd), res.returncode, res.stderr))
        return res.stdout

    def cleanup(self):
        for d in reversed(self.ring):
            try:
                d.stop()
            except Exception as e:
                print("warning: stopping directord %s: %s" % (d.name, e))
        if self.backends:
            dovecot.stop_backends(self.backends)
        procutil.stop_all()
        if self.plan is not None:
            self.plan.release()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def heading(n, text):
    print("\n== Step %d: %s ==\n" % (n, text), flush=True)


def say(text):
    print(text, flush=True)


def step_backends(demo):
    demo.plan = netutil.allocate_plan()
    demo.workdir = tempfile.mkdtemp(prefix="director-demo-", dir="/tmp")
    os.chmod(demo.workdir, 0o755)
    demo.backends = dovecot.start_backends(demo.plan, demo.workdir,
                                           BACKEND_COUNT)
    say("Three independent Dovecot servers stand in for the mail backends."
        "\nEach knows the same users (user0..user%d, password '%s') but"
        "\nkeeps its own mail, so a user must always land on the same one.\n"
        % (dovecot.USER_COUNT - 1, dovecot.USER_PASSWORD))
    for b in demo.backends:
        say("  %-3s %-15s IMAP %d  POP3 %d  LMTP %d" %
            (b.name, b.ip, b.imap_port, b.pop3_port, b.lmtp_port))


RING_SIZE = 3


def step_director(demo):
    servers = " ".join("%s:%d" % (demo.plan.director_ip(i), netutil.RING_PORT)
                       for i in range(1, RING_SIZE + 1))
    for i in range(1, RING_SIZE + 1):
        demo.ring.append(directord.Directord(
            "d%d" % i, demo.plan.director_ip(i),
            os.path.join(demo.workdir, "d%d" % i),
            mail_servers=demo.backends, director_servers=servers,
            extra_listeners={"ring": {"port": netutil.RING_PORT},
                             "sieve": {"port": netutil.SIEVE_PORT}},
            binary=os.path.join(demo.build, "directord"),
            settings={"director_hashing": demo.method, "log_level": "info",
                      "disable_plaintext_auth": "no",
                      "director_user_kick_delay": "1 s"}))
    demo.director = demo.ring[0]
    say("Three directors form a ring; each lists all three in"
        "\ndirector_servers and has a ring listener.  Configuration of d1,"
        "\n%s:\n" % demo.director.config_path)
    with open(demo.director.config_path) as f:
        for line in f:
            say("    " + line.rstrip("\n"))
    res = demo.director.check_config()
    if res.returncode != 0:
        raise RuntimeError("directord -n failed:\n" + res.stderr)
    say("\n$ directord -n -c FILE\n  " + res.stdout.strip())
    offsets = [d.log_offset() for d in demo.ring]
    for d in demo.ring:
        d.start()
    for d, offset in zip(demo.ring, offsets):
        m = d.wait_log(r"ring: handshaked with %d directors[^\n]*" %
                       RING_SIZE, timeout=30, offset=offset)
        say("$ directord -F -c %s/directord.conf &\n  log: %s" %
            (d.name, m.group(0)))
    # the third to start may still be joining: wait for every link
    deadline = time.monotonic() + 30
    while True:
        status = demo.ctl("ring", "status")
        if status.count(" synced") == RING_SIZE and "ring synced" in status:
            break
        if time.monotonic() > deadline:
            raise RuntimeError("the ring did not sync:\n" + status)
        time.sleep(0.1)
    say("\n$ directorctl -c FILE ring status\n")
    say(status.rstrip())


def step_map(demo):
    say("directorctl computes offline, from the configuration alone, the"
        "\nbackend a user gets: 'dovecot' is Dovecot 2.3's vhost ring"
        "\n(bit-exact), 'rendezvous' weighted highest-random-weight hashing."
        "\nThis director is configured with '%s'.\n" % demo.method)
    say("$ directorctl -c FILE simulate -m both -n %d %s\n" %
        (BALANCE_USERS, " ".join(SAMPLE_USERS)))
    say(demo.ctl("simulate", "-m", "both", "-n", str(BALANCE_USERS),
                 *SAMPLE_USERS).rstrip())
    say("\n'ideal' is each backend's share by weight; peak/mean is the"
        "\nbusiest backend's load relative to a perfect spread (1.000).")


def _picked(demo, users):
    out = demo.ctl("simulate", "-m", demo.method, "-n", "0", *users)
    picks = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[0] in users:
            picks[f[0]] = f[2]
    missing = set(users) - set(picks)
    if missing:
        raise RuntimeError("directorctl gave no backend for %s" %
                           ", ".join(sorted(missing)))
    return picks


def _landed(demo, offsets, user, proto):
    """The backend whose log shows the login of user over proto after
    offsets (a {backend name: log offset} map)."""
    deadline = time.monotonic() + 5
    while True:
        for b in demo.backends:
            m = re.search(r"[^\n]*%s-login: Info: Login: user=<%s>"
                          r"[^\n]*" % (proto, user),
                          b.log_text(offsets[b.name]))
            if m is not None:
                return b, m.group(0).strip()
        if time.monotonic() > deadline:
            raise RuntimeError("no backend logged the %s login of %s" %
                               (proto, user))
        time.sleep(0.05)


def _imap_session(demo, user):
    host, port = demo.director.listeners()["imap"]
    imap = imaplib.IMAP4(host, port, timeout=10)
    imap.login(user, dovecot.USER_PASSWORD)
    return imap


def _sieve_list(demo, user):
    """sieve-connect --list for user through the director (ManageSieve)."""
    host, port = demo.director.listeners()["sieve"]
    r, w = os.pipe()
    os.write(w, (dovecot.USER_PASSWORD + "\n").encode())
    os.close(w)
    try:
        res = subprocess.run(
            ["sieve-connect", "--server", host, "--port", str(port),
             "--user", user, "--passwordfd", str(r), "--clearchan",
             "--authmech", "PLAIN", "--list"],
            pass_fds=(r,), capture_output=True, text=True, timeout=30)
    finally:
        os.close(r)
    if res.returncode != 0:
        raise RuntimeError("sieve-connect for %s failed: %s" %
                           (user, res.stderr.strip()))


def step_login(demo):
    say("Mail clients connect to the director, not to a backend.  The"
        "\ndirector reads the login, picks the user's backend (the same one"
        "\ndirectorctl predicted) and proxies the session there; IMAP,"
        "\nPOP3 and ManageSieve (sieve-connect) of one user meet on one"
        "\nbackend.  (Plaintext logins are"
        "\nallowed in this demo: disable_plaintext_auth = no.)\n")
    picks = _picked(demo, LOGIN_USERS)
    by_ip = {b.ip: b for b in demo.backends}
    for user in LOGIN_USERS:
        offsets = {b.name: b.log_offset() for b in demo.backends}
        imap = _imap_session(demo, user)
        typ, data = imap.select("INBOX", readonly=True)
        count = data[0].decode() if typ == "OK" else "?"
        imap_b, line = _landed(demo, offsets, user, "imap")
        host, port = demo.director.listeners()["pop3"]
        pop = poplib.POP3(host, port, timeout=10)
        pop.user(user)
        pop.pass_(dovecot.USER_PASSWORD)
        pop_count, _ = pop.stat()
        pop_b, _ = _landed(demo, offsets, user, "pop3")
        pop.quit()
        _sieve_list(demo, user)
        sieve_b, _ = _landed(demo, offsets, user, "managesieve")
        imap.logout()
        want = by_ip[picks[user]]
        say("  %-6s IMAP -> %s, POP3 -> %s, ManageSieve -> %s (predicted "
            "%s); INBOX: %s messages over IMAP, %d over POP3" %
            (user, imap_b.name, pop_b.name, sieve_b.name, want.name, count,
             pop_count))
        say("    %s log: %s" % (imap_b.name, line))
        if imap_b is not want or pop_b is not want or sieve_b is not want:
            raise RuntimeError("%s did not land on %s" % (user, want.name))
    say("\nFive simultaneous IMAP sessions of %s:" % LOGIN_USERS[0])
    offsets = {b.name: b.log_offset() for b in demo.backends}
    sessions = [_imap_session(demo, LOGIN_USERS[0]) for _ in range(5)]
    for imap in sessions:
        imap.logout()
    where = set()
    for b in demo.backends:
        n = len(re.findall(r"imap-login: Info: Login: user=<%s>" %
                           LOGIN_USERS[0], b.log_text(offsets[b.name])))
        if n:
            where.add(b.name)
            say("  %s: %d login(s)" % (b.name, n))
    if len(where) != 1:
        raise RuntimeError("sessions of one user on %s" % sorted(where))
    checked = oracle.check_no_overlap(demo.backends)
    say("\n  the backends' logs hold %d session(s); no user was ever on two"
        "\n  backends at once" % len(checked))


def step_ring(demo):
    user = SAMPLE_USERS[4]
    say("The load balancer may send any connection to any director.  %s"
        "\nlogs in through d1, d2 and d3 at the same time: the first"
        "\ndirector assigns a backend and tells the ring, the others use"
        "\nthat assignment.\n" % user)
    offsets = {b.name: b.log_offset() for b in demo.backends}
    sessions = []
    for d in demo.ring:
        host, port = d.listeners()["imap"]
        imap = imaplib.IMAP4(host, port, timeout=10)
        imap.login(user, dovecot.USER_PASSWORD)
        sessions.append(imap)
        m = d.wait_log(r"login: user=<%s>, [^\n]*backend=([^:]+)[^\n]*"
                       % user, timeout=10)
        say("  through %s (%s): %s" % (d.name, d.ip, m.group(0)))
    for imap in sessions:
        imap.logout()
    where = set()
    for b in demo.backends:
        n = len(re.findall(r"imap-login: Info: Login: user=<%s>" % user,
                           b.log_text(offsets[b.name])))
        if n:
            where.add(b.name)
            say("  %s logged %d login(s) of %s" % (b.name, n, user))
    if len(where) != 1:
        raise RuntimeError("sessions of %s on %s" % (user, sorted(where)))
    say("\n$ directorctl -c d3/directord.conf status %s\n" % user)
    cmd = [os.path.join(demo.build, "directorctl"), "-c",
           demo.ring[2].config_path, "status", user]
    say(subprocess.run(cmd, capture_output=True, text=True,
                       timeout=60).stdout.rstrip())


def _lmtp_deliver(host, port, sender, rcpts, body):
    """One LMTP transaction to rcpts; returns the conversation.  (Python's
    smtplib reads only one reply after DATA, LMTP sends one per
    recipient.)"""
    lines = []
    with socket.create_connection((host, port), timeout=30) as s:
        f = s.makefile("rb")

        def reply():
            while True:
                line = f.readline().decode().rstrip("\r\n")
                lines.append("S: " + line)
                if line[3:4] != "-":
                    return line

        def cmd(text):
            lines.append("C: " + text)
            s.sendall(text.encode() + b"\r\n")
            return reply()

        reply()
        cmd("LHLO demo")
        cmd("MAIL FROM:<%s>" % sender)
        for r in rcpts:
            if not cmd("RCPT TO:<%s>" % r).startswith("250"):
                raise RuntimeError("recipient %s refused" % r)
        cmd("DATA")
        lines.append("C: (%d bytes of message)" % len(body))
        s.sendall(body.encode() + b".\r\n")
        for r in rcpts:
            if not reply().startswith("250"):
                raise RuntimeError("delivery to %s failed" % r)
        cmd("QUIT")
    return lines


def step_lmtp(demo):
    say("Mail arrives over LMTP at the director, which routes every"
        "\nrecipient to its user's backend and gives each recipient the reply"
        "\nof its own backend.  One message to three users is stored once for"
        "\neach, on that user's backend, and each reads it over IMAP through"
        "\nthe director.\n")
    rcpts = LOGIN_USERS
    host, port = demo.director.listeners()["lmtp"]
    offsets = {b.name: b.log_offset() for b in demo.backends}
    body = ("From: demo@example.org\r\nSubject: hello from the director"
            "\r\n\r\nDelivered through the director.\r\n")
    say("  LMTP conversation (C: client, S: director):")
    for line in _lmtp_deliver(host, port, "demo@example.org", rcpts, body):
        say("    " + line)
    picks = _picked(demo, rcpts)
    by_ip = {b.ip: b for b in demo.backends}
    for user in rcpts:
        want = by_ip[picks[user]]
        m = want.wait_log(r"[^\n]*lmtp\(%s\)[^\n]*saved mail to[^\n]*"
                          % user, timeout=10, offset=offsets[want.name])
        imap = _imap_session(demo, user)
        imap.select("INBOX", readonly=True)
        typ, data = imap.search(None, "SUBJECT", "\"hello from the director\"")
        found = len(data[0].split()) if typ == "OK" else 0
        imap.logout()
        say("  %-6s delivered on %s; IMAP through the director finds %d "
            "copy" % (user, want.name, found))
        say("    %s log: %s" % (want.name, m.group(0).strip()))
        if found != 1:
            raise RuntimeError("%s: %d copies in INBOX" % (user, found))


def step_admin(demo):
    say("Operators manage a running director through its admin socket,"
        "\nwith directorctl (or Dovecot's own `doveadm director -a SOCKET`)."
        "\n")
    say("$ directorctl -c FILE status\n")
    say(demo.ctl("status").rstrip())
    user = LOGIN_USERS[0]
    offsets = {b.name: b.log_offset() for b in demo.backends}
    imap = _imap_session(demo, user)
    old, _ = _landed(demo, offsets, user, "imap")
    new = next(b for b in demo.backends if b is not old)
    say("\n%s has an IMAP session open on %s.  Moving it to %s kicks that"
        "\nsession, waits director_user_kick_delay so that %s's processes"
        "\nare gone, and only then lets %s log in on %s:\n" %
        (user, old.name, new.name, old.name, user, new.name))
    say("$ directorctl -c FILE move %s %s" % (user, new.ip))
    started = time.monotonic()
    demo.ctl("move", user, new.ip)
    say("  done in %.1f s" % (time.monotonic() - started))
    try:
        imap.noop()
        kicked = False
    except (imaplib.IMAP4.abort, OSError):
        kicked = True
    say("  the open session on %s was %s" %
        (old.name, "disconnected" if kicked else "NOT disconnected"))
    if not kicked:
        raise RuntimeError("the move did not kick the session")
    offsets = {b.name: b.log_offset() for b in demo.backends}
    _imap_session(demo, user).logout()
    landed, line = _landed(demo, offsets, user, "imap")
    say("  next login of %s -> %s" % (user, landed.name))
    say("    %s log: %s" % (landed.name, line))
    if landed is not new:
        raise RuntimeError("%s landed on %s" % (user, landed.name))
    say("\n$ directorctl -c FILE status %s\n" % user)
    say(demo.ctl("status", user).rstrip())
    checked = oracle.check_no_overlap(demo.backends)
    say("\n  the backends' logs hold %d session(s); still no user on two"
        "\n  backends at once" % len(checked))


def step_stop(demo):
    for d in reversed(demo.ring):
        rc = d.stop()
        say("directord %s stopped (SIGTERM), exit status %s" % (d.name, rc))
        if rc != 0:
            raise RuntimeError("directord %s exited with %s" % (d.name, rc))
    demo.ring = []
    demo.director = None
    dovecot.stop_backends(demo.backends)
    demo.backends = []
    say("backends stopped; temporary files are removed on exit")


STEPS = [
    ("start three Dovecot backends on loopback", step_backends),
    ("configure and start a ring of three directors", step_director),
    ("which backend each user maps to, and the balance", step_map),
    ("IMAP, POP3 and ManageSieve logins through the director",
     step_login),
    ("one user through all three directors", step_ring),
    ("mail delivered over LMTP through the director", step_lmtp),
    ("directorctl status, and a safe move of a live user", step_admin),
    ("stop everything", step_stop),
]


def _sigterm(signum, frame):
    raise KeyboardInterrupt("SIGTERM")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "rel"),
                    help="build directory with directord and directorctl")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("demo.py: run as root (Dovecot and directord drop "
                 "privileges)")
    for prog in ("directord", "directorctl"):
        if not os.access(os.path.join(args.build, prog), os.X_OK):
            sys.exit("demo.py: no %s in %s (run make first)" %
                     (prog, args.build))
    signal.signal(signal.SIGTERM, _sigterm)
    demo = Demo(args.build)
    started = time.monotonic()
    try:
        for n, (title, fn) in enumerate(STEPS, 1):
            heading(n, title)
            fn(demo)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as e:
        print("\ndemo FAILED: %s" % e, file=sys.stderr)
        return 1
    finally:
        demo.cleanup()
    print("\ndemo finished in %.1f s" % (time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
