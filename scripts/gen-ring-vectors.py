#!/usr/bin/python3
"""Record the director ring lines a real Dovecot 2.3 director sends.

Usage: /usr/bin/python3 scripts/gen-ring-vectors.py
       [--out tests/vectors/ring_lines.txt] [--keep-tmp]

Needs root and Debian's dovecot-core 2.3 (which still ships the director).
Starts one director (D, 127.0.78.11) whose director_servers also list a
fake peer (F, 127.0.78.12), both on ring port 9090, and plays F by hand:

1. D starts while nobody listens on F's address, waits the 20 s a 2.3
   director waits before it calls itself alone, and gets backends (one
   tagged, one with a host name, one down) and users through its admin
   socket.
2. F listens, connects to D as D's left and sends a minimal handshake.
   D connects back to F as its right and sends its whole handshake:
   VERSION, ME, DIRECTOR, HOST-HAND-START, HOST..., HOST-HAND-END, U...,
   OPTIONS, DONE.  F forwards SYNC and USER-KILLED around its half of the
   ring and answers PING, so D's ring becomes synced.
3. Admin commands and one conflicting USER from F make D flood HOST,
   HOST-REMOVE, HOST-FLUSH, USER-MOVE, USER-KILLED, USER-KILLED-EVERYWHERE,
   USER-KICK, USER-KICK-ALT, USER-KICK-HASH, USER, DIRECTOR and
   DIRECTOR-REMOVE; a PING from F gets a PONG; stopping D makes it send
   QUIT.  (USER-WEAK, CONNECT and weak U lines need timing or a third
   director and are not recorded.)

Every line D sends on either connection is written, in order, to the
output file (after a '#' header).  tests/unit/test_ringwire.c parses each
and formats it back for minor 9, byte for byte.  Timestamps and sequence
numbers differ between runs; the kinds of lines do not.
"""

import argparse
import hashlib
import importlib.util
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "tests", "vectors", "ring_lines.txt")

# The director machinery (templates, Director, Admin) of the golden
# vectors script.
_spec = importlib.util.spec_from_file_location(
    "gen_golden_vectors", os.path.join(HERE, "gen-golden-vectors.py"))
gv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gv)

D_IP = "127.0.78.11"
F_IP = "127.0.78.12"
# a director that only ever exists as a name (DIRECTOR, DIRECTOR-REMOVE)
X_IP = "127.0.78.13"
PORT = gv.RING_PORT
# backends of the config; 127.0.2.3 is tagged
MAIL_SERVERS = "127.0.2.1 127.0.2.2 127.0.2.3@red"
USERS = ("user1", "user2", "user3", "alice@example.com", "bob")
ALONE_WAIT_SECS = 40
STEP_SECS = 1.5


def log(msg):
    print("gen-ring-vectors: " + msg, file=sys.stderr, flush=True)


def user_hash(name):
    """director_username_hash = %Lu: MD5's first 4 bytes, big-endian."""
    return int.from_bytes(hashlib.md5(name.lower().encode()).digest()[:4],
                          "big")


class Peer:
    """The fake director F: one listening and one outgoing ring socket.

    Lines D sends are recorded in arrival order.  F answers PING, sends
    DONE back when D's handshake is done, and forwards SYNC and
    USER-KILLED to D over the other connection, as a ring of two does."""

    def __init__(self):
        self.lines = []
        self.lock = threading.Lock()
        self.stop = False
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((F_IP, PORT))
        self.listener.listen(4)
        self.inc = None     # D -> F: D's right
        self.out = None     # F -> D: D's left
        self.bufs = {}
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def hello(self):
        return "VERSION\tdirector\t1\t9\nME\t%s\t%d\t%d\n" % (
            F_IP, PORT, int(time.time()))

    def connect_out(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((F_IP, 0))
        s.connect((D_IP, PORT))
        # as the connecting side F sends its (empty) state
        s.sendall((self.hello() +
                   "DIRECTOR\t%s\t%d\n" % (F_IP, PORT) +
                   "HOST-HAND-START\t0\nHOST-HAND-END\t0\n"
                   "OPTIONS\tconsistent-hashing\nDONE\n").encode())
        self.out = s
        self.bufs[s] = b""

    def send(self, sock, line):
        if sock is not None:
            sock.sendall((line + "\n").encode())

    def other(self, sock):
        return self.out if sock is self.inc else self.inc

    def handle(self, sock, line):
        with self.lock:
            self.lines.append(line)
        cmd = line.split("\t", 1)[0]
        if cmd == "PING":
            self.send(sock, "PONG\t%d\t0" % int(time.time()))
        elif cmd == "DONE" and sock is self.inc:
            self.send(sock, "DONE")
        elif cmd in ("SYNC", "USER-KILLED"):
            self.send(self.other(sock), line)

    def loop(self):
        while not self.stop:
            socks = [self.listener] + [s for s in (self.inc, self.out)
                                       if s is not None]
            ready, _, _ = select.select(socks, [], [], 0.2)
            for s in ready:
                if s is self.listener:
                    conn, _addr = s.accept()
                    self.inc = conn
                    self.bufs[conn] = b""
                    conn.sendall(self.hello().encode())
                    continue
                data = s.recv(65536)
                if not data:
                    if s is self.inc:
                        self.inc = None
                    else:
                        self.out = None
                    s.close()
                    continue
                self.bufs[s] += data
                while b"\n" in self.bufs[s]:
                    raw, self.bufs[s] = self.bufs[s].split(b"\n", 1)
                    self.handle(s, raw.decode("utf-8", "surrogateescape"))

    def close(self):
        self.stop = True
        self.thread.join(2)
        for s in (self.inc, self.out, self.listener):
            if s is not None:
                s.close()


def wait_for(pred, secs, what):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    gv.fail("timed out waiting for " + what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--keep-tmp", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        gv.fail("needs root (Dovecot drops privileges)")
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, gv.on_signal)
    tmp = tempfile.mkdtemp(prefix="ringvec-")
    director = peer = None
    try:
        director = gv.Director(tmp, "d", D_IP, (D_IP, F_IP), MAIL_SERVERS,
                               "%Lu")
        gv.cleanup.append(director)
        director.start()
        admin = gv.Admin(director.admin_path)
        log("waiting for the director to be alone and synced")
        admin_wait = time.monotonic() + ALONE_WAIT_SECS
        while True:
            rows = admin.listing("DIRECTOR-LIST")
            if any(len(r) > 4 and r[2] == "self" and "ring synced" in r[4]
                   for r in rows):
                break
            if time.monotonic() > admin_wait:
                gv.fail("director never synced alone: %r" % rows)
            time.sleep(0.5)
        # the handshake state: a named host, a down one, users
        admin.command("HOST-SET\t127.0.2.4\t50")
        admin.command("HOST-DOWN\t127.0.2.2")
        for i, user in enumerate(USERS):
            admin.command("USER-MOVE\t%s\t127.0.2.%d" % (user, 1 + i % 2))
        time.sleep(STEP_SECS)

        log("joining the ring as %s" % F_IP)
        peer = Peer()
        peer.thread.start()
        peer.connect_out()
        wait_for(lambda: peer.inc is not None, 15, "D to connect to F")
        admin.wait_ring_synced(2)
        time.sleep(STEP_SECS)

        log("steady state")
        steps = [
            "HOST-SET\t127.0.2.5\t20",
            "HOST-UP\t127.0.2.2",
            "HOST-DOWN\t127.0.2.4",
            "USER-MOVE\tuser1\t127.0.2.2",
            "USER-KICK\tbob",
            "USER-KICK-ALT\tmaster\talice",
            "HOST-FLUSH\t127.0.2.5",
            "HOST-REMOVE\t127.0.2.5",
            "DIRECTOR-ADD\t%s\t%d" % (X_IP, PORT),
            "DIRECTOR-REMOVE\t%s\t%d" % (X_IP, PORT),
        ]
        for step in steps:
            admin.command(step, want=None)
            time.sleep(STEP_SECS)
        # a conflicting assignment from F: the lower IP wins, D re-floods
        # USER and kicks the hash everywhere else (USER-KICK-HASH)
        peer.send(peer.out, "USER\t%d\t127.0.2.1\t%d" % (
            user_hash("user2"), int(time.time())))
        time.sleep(STEP_SECS * 2)
        # D answers a PING from either side with PONG
        peer.send(peer.out, "PING\t%d\t0" % int(time.time()))
        time.sleep(STEP_SECS)
        admin.close()
        director.stop()
        time.sleep(STEP_SECS)
        peer.close()
        with peer.lock:
            lines = list(peer.lines)
        kinds = sorted(set(line.split("\t", 1)[0] for line in lines))
        log("%d lines: %s" % (len(lines), " ".join(kinds)))
        header = [
            "# Ring lines sent by a real Dovecot director (%s), recorded"
            % gv.dovecot_version(),
            "# by scripts/gen-ring-vectors.py on %s: every line, in order,"
            % time.strftime("%Y-%m-%d"),
            "# that director %s sent to a fake peer %s on both ring"
            % (D_IP, F_IP),
            "# connections (handshake, then steady state).",
        ]
        with open(args.out, "w", encoding="utf-8",
                  errors="surrogateescape", newline="\n") as f:
            for line in header + lines:
                f.write(line + "\n")
        log("wrote %s" % args.out)
        return 0
    finally:
        if peer is not None:
            peer.close()
        gv.stop_all()
        if args.keep_tmp:
            log("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
