"""LMTP bodies on the bulk path against real dovecot-lmtpd backends: the
body goes to every backend while it arrives (in BDAT chunks to a backend
that offers CHUNKING, as Dovecot does, else after DATA), and the client
still hears nothing before its end marker and each recipient's own
backend has answered.

A 20 MB message to recipients on two backends arrives byte for byte,
dot-stuffed lines included; the same through a relay that hides CHUNKING
(the DATA path, stuffed again); a backend that dies in the middle of a
body costs its own recipients a 451, the others get 250; the backend has
most of a body before the client sent its end; a frozen backend holds
every reply after it in RCPT order back (none is made up by the
director); a client that stalls in the middle of a body meets
lmtp_transaction_timeout and nothing is stored."""
import hashlib
import os
import re
import select
import signal
import socket
import threading
import time

import pytest

from harness import netutil
from test_lmtp import (Lmtp, check_stored, delivered_to, frozen,
                       message, no_spool_files, read_back,
                       stuff, _users_by_backend)

# the lines a message body must carry through unchanged: dots at the
# start of a line are stuffed on the wire (RFC 5321 4.5.2)
DOT_LINES = [b".", b"..", b".x", b"..x", b"...", b". .", b""]


def bulk_message(subject, size):
    """A message of about size bytes whose body has a line that starts
    with a dot every few lines, one 998-byte line and empty lines."""
    head = ("From: sender@example.com\r\nTo: someone@example.com\r\n"
            "Subject: %s\r\nMessage-ID: <%s@test>\r\n\r\n" %
            (subject, subject)).encode()
    lines = []
    n = 0
    total = len(head)
    while total < size:
        if n % 7 == 3:
            line = DOT_LINES[(n // 7) % len(DOT_LINES)]
        elif n % 1000 == 500:
            line = b"y" * 998
        else:
            line = b"%08d " % n + b"x" * 66
        lines.append(line)
        total += len(line) + 2
        n += 1
    return head + b"\r\n".join(lines) + b"\r\n"


def body_of(msg):
    return msg.split(b"\r\n\r\n", 1)[1]


def sha(data):
    return hashlib.sha256(data).hexdigest()


def fresh_pair(director_factory, backend_factory, timeout, users,
               **settings):
    """Three backends, a director, and two users on different backends:
    (backends, director, (user, backend), (user, backend))."""
    bs = backend_factory(3, first=4)
    top = {"lmtp_backend_timeout": timeout}
    top.update(settings)
    d = director_factory(1, mail_servers=bs, settings=top)
    by = _users_by_backend(d, bs, users)
    assert len(by) >= 2, by
    (na, ua), (nb, ub) = sorted(by.items())[:2]
    return bs, d, (ua[0], bs.by_name(na)), (ub[0], bs.by_name(nb))


def lmtp_pids(backend):
    """The backend's lmtp processes (one serves the director's link)."""
    out = []
    for pid in backend.mail_pids():
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if b"/lmtp" in f.read():
                    out.append(pid)
        except OSError:
            pass
    return out


def bytes_read(pids):
    """Bytes the processes have read(2) so far (sockets included)."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/io" % pid) as f:
                for line in f:
                    if line.startswith("rchar:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def no_reply_within(c, seconds):
    """True if the client has not been sent a byte for seconds."""
    if c.pending:
        return False
    readable, _, _ = select.select([c.sock], [], [], seconds)
    return not readable


def open_transaction(c, rcpts):
    assert c.cmd("MAIL FROM:<sender@example.com>").startswith("250")
    for r in rcpts:
        reply = c.cmd("RCPT TO:<%s>" % r)
        assert reply.startswith("250"), reply
    assert c.cmd("DATA").startswith("354")


# -- integrity ---------------------------------------------------------------

def test_twenty_mb_to_three_recipients_on_two_backends(
        director_factory, backend_factory):
    bs = backend_factory(3, first=4)
    d = director_factory(1, mail_servers=bs,
                         settings={"lmtp_backend_timeout": "60 s",
                                   "lmtp_max_message_size": "30M"})
    by = _users_by_backend(d, bs, ["user%d" % i for i in range(410, 430)])
    names = sorted(by, key=lambda n: -len(by[n]))
    assert len(by[names[0]]) >= 2 and len(names) >= 2, by
    rcpts = by[names[0]][:2] + by[names[1]][:1]
    msg = bulk_message("bulk-20mb", 20 * 1000 * 1000)
    off = d.log_offset()
    with Lmtp(d, timeout=120) as c:
        _, at_data = c.deliver(rcpts, msg)
    assert all(r.startswith("250") for r in at_data.values()), at_data
    want = sha(body_of(msg))
    for r in rcpts:
        b = bs.by_ip(delivered_to(d, r, off))
        got = read_back(b, r, "bulk-20mb")
        assert got is not None, (r, b.name)
        assert sha(got[1]) == want, (r, b.name, len(got[1]))
    assert no_spool_files(d) == []


class LhloRelay:
    """A TCP relay on ip at the LMTP port in front of a Dovecot backend's
    LMTP listener.  With hide_chunking it takes CHUNKING out of every
    LHLO reply: a backend without RFC 3030.  Notes which body verb the
    director used."""

    def __init__(self, ip, backend, hide_chunking):
        self.backend = backend
        self.hide = hide_chunking
        self.verbs = set()
        self.listener = socket.create_server((ip, netutil.LMTP_PORT))
        self.ip = ip
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        # shutdown() wakes the thread blocked in accept(); close() alone
        # would leave the address bound
        for s in [self.listener] + self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _accept(self):
        while True:
            try:
                c, _ = self.listener.accept()
            except OSError:
                return
            b = socket.create_connection((self.backend.ip,
                                          self.backend.lmtp_port))
            self.socks += [c, b]
            threading.Thread(target=self._up, args=(c, b),
                             daemon=True).start()
            threading.Thread(target=self._down, args=(b, c),
                             daemon=True).start()

    def _up(self, src, dst):
        tail = b""
        while True:
            try:
                data = src.recv(1 << 20)
                if not data:
                    break
                seen = tail + data
                for verb in (b"\r\nDATA\r\n", b"\r\nBDAT "):
                    if verb in seen:
                        self.verbs.add(verb.strip().decode())
                tail = seen[-8:]
                dst.sendall(data)
            except OSError:
                break
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _down(self, src, dst):
        pending = b""
        while True:
            try:
                data = src.recv(65536)
                if not data:
                    break
                pending += data
                lines = pending.split(b"\r\n")
                pending = lines.pop()
                out = b"".join(line + b"\r\n" for line in lines
                               if not (self.hide and
                                       line.upper() == b"250-CHUNKING"))
                dst.sendall(out)
            except OSError:
                break
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.mark.parametrize("chunking", [True, False],
                         ids=["bdat", "data"])
def test_body_forms_toward_the_backend(director_factory, backend_factory,
                                       address_plan, chunking):
    # BDAT carries the message itself, DATA the message stuffed again:
    # both store what the client sent, from a memory spool and from a
    # file (lmtp_spool_memory = 64k)
    (b,) = backend_factory(1, first=4)
    relay = LhloRelay(address_plan.backend_ip(9), b, not chunking)
    try:
        d = director_factory(1, mail_servers=[relay],
                             settings={"lmtp_spool_memory": "64k",
                                       "lmtp_backend_timeout": "30 s"})
        small = bulk_message("form-small-%s" % chunking, 4000)
        big = bulk_message("form-big-%s" % chunking, 3 * 1000 * 1000)
        with Lmtp(d, timeout=60) as c:
            for msg in (small, big):
                _, at_data = c.deliver(["user440", "user441"], msg)
                assert all(r.startswith("250") for r in at_data.values()), \
                    at_data
    finally:
        relay.close()
    assert relay.verbs == {"BDAT" if chunking else "DATA"}, relay.verbs
    for msg in (small, big):
        subject = re.search(rb"Subject: (\S+)", msg).group(1).decode()
        for u in ("user440", "user441"):
            got = read_back(b, u, subject)
            assert got is not None, (u, subject)
            assert sha(got[1]) == sha(body_of(msg)), (u, subject)
    assert no_spool_files(d) == []


# -- failures in the middle of a body ------------------------------------------

def test_backend_dies_in_the_middle_of_a_body(director_factory,
                                              backend_factory):
    bs, d, (ua, ba), (ub, bb) = fresh_pair(
        director_factory, backend_factory, "30 s",
        ["user%d" % i for i in range(450, 465)])
    msg = bulk_message("dies-midway", 4 * 1000 * 1000)
    wire = stuff(msg)
    half = len(wire) // 2
    off = d.log_offset()
    with Lmtp(d, timeout=60) as c:
        open_transaction(c, [ua, ub])
        c.send(wire[:half])
        # the lmtp process serving the director's link dies
        for pid in lmtp_pids(ba):
            os.kill(pid, signal.SIGKILL)
        d.wait_log(r"backend %s:\d+: " % re.escape(ba.ip), timeout=30,
                   offset=off)
        c.send(wire[half:] + b".\r\n")
        replies = {ua: c.reply(), ub: c.reply()}
        assert c.cmd("NOOP").startswith("250")
    assert replies[ua].startswith("451 4.4.0"), replies
    assert replies[ub].startswith("250"), replies
    got = read_back(bb, ub, "dies-midway")
    assert got is not None and sha(got[1]) == sha(body_of(msg))
    assert no_spool_files(d) == []
    bs.check_invariant = False      # a killed lmtp process logs no end


def test_backend_has_the_body_before_its_end(director_factory,
                                             backend_factory):
    # forwarded while it arrives: with half of an 8 MB body sent, the
    # backend has read most of it already
    bs, d, (ua, ba), _ = fresh_pair(
        director_factory, backend_factory, "30 s",
        ["user%d" % i for i in range(470, 480)])
    msg = bulk_message("streamed", 8 * 1000 * 1000)
    wire = stuff(msg)
    half = len(wire) // 2
    with Lmtp(d, timeout=60) as c:
        open_transaction(c, [ua])
        before = bytes_read(lmtp_pids(ba))
        c.send(wire[:half])
        deadline = time.monotonic() + 30
        while bytes_read(lmtp_pids(ba)) - before < half // 2:
            assert time.monotonic() < deadline, \
                "the backend read %d bytes of %d sent" % (
                    bytes_read(lmtp_pids(ba)) - before, half)
            time.sleep(0.05)
        # and no reply before the end marker
        assert no_reply_within(c, 0.2)
        c.send(wire[half:] + b".\r\n")
        assert c.reply().startswith("250")
    got = read_back(ba, ua, "streamed")
    assert got is not None and sha(got[1]) == sha(body_of(msg))


def test_replies_wait_for_every_backend(director_factory, backend_factory):
    # the first recipient's backend is frozen: the second one's backend
    # stores the message, yet the client hears nothing (replies go in
    # RCPT order, and none is made up by the director); thawed, both
    # answer 250
    bs, d, (ua, ba), (ub, bb) = fresh_pair(
        director_factory, backend_factory, "60 s",
        ["user%d" % i for i in range(480, 495)])
    msg = bulk_message("held-back", 2 * 1000 * 1000)
    with Lmtp(d, timeout=60) as c:
        open_transaction(c, [ua, ub])
        with frozen(ba):
            c.send(stuff(msg) + b".\r\n")
            deadline = time.monotonic() + 30
            while read_back(bb, ub, "held-back") is None:
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert no_reply_within(c, 1.0)
        assert c.reply().startswith("250")
        assert c.reply().startswith("250")
    for u, b in ((ua, ba), (ub, bb)):
        got = read_back(b, u, "held-back")
        assert got is not None and sha(got[1]) == sha(body_of(msg))


def test_client_stalls_in_the_middle_of_a_body(director_factory,
                                               backend_factory):
    bs, d, (ua, ba), _ = fresh_pair(
        director_factory, backend_factory, "30 s",
        ["user%d" % i for i in range(495, 505)],
        lmtp_transaction_timeout="2 s")
    msg = bulk_message("stalled", 2 * 1000 * 1000)
    wire = stuff(msg)
    with Lmtp(d, timeout=60) as c:
        started = time.monotonic()
        open_transaction(c, [ua])
        c.send(wire[:len(wire) // 2])
        reply = c.reply()
        assert reply.startswith("421 4.4.2"), reply
        assert time.monotonic() - started >= 1.5
        with pytest.raises((EOFError, ConnectionResetError)):
            c.line()
    d.wait_log(r"lmtp_transaction_timeout")
    # the backend had a part of the body: it stored nothing
    assert read_back(ba, ua, "stalled") is None
    assert no_spool_files(d) == []
    # and the director goes on
    with Lmtp(d) as c:
        _, at_data = c.deliver([ua], message("after-stall"))
        assert at_data[ua].startswith("250")
    check_stored([ba], d, ua, "after-stall", message("after-stall"))
