"""LMTP through the director against real dovecot-lmtpd backends: every
recipient is routed to its user's backend, each message is read back over
IMAP from the backend that owns the recipient and compared byte for byte;
a user logged in over IMAP through the director gets mail on the same
backend; a backend that is down before DATA or stops answering during it
costs 4xx for its own recipients only, and every 250 is really stored;
size limit, 8-bit content, a 20 MB message, pipelining, RSET, hostile
input; no spool file is left behind."""
import contextlib
import hashlib
import imaplib
import os
import re
import select
import signal
import smtplib
import socket
import subprocess
import time

import pytest

from harness import adminclient, dovecot, oracle, rawclient

PASS = dovecot.USER_PASSWORD


class Lmtp:
    """A raw LMTP client that sees every reply (smtplib does not read
    LMTP's per-recipient DATA replies)."""

    def __init__(self, d, timeout=30):
        self.sock = socket.create_connection(d.listeners()["lmtp"],
                                             timeout=timeout)
        self.pending = b""
        assert self.reply().startswith("220 ")
        assert self.cmd("LHLO tester").startswith("250")

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def line(self):
        while b"\r\n" not in self.pending:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.pending += data
        line, self.pending = self.pending.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        """One whole (maybe multi-line) reply, its lines joined by \\n."""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.line())
        return "\n".join(lines)

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def deliver(self, rcpts, msg, sender="sender@example.com"):
        """MAIL, RCPTs, DATA: returns ({rcpt: RCPT reply},
        {rcpt: DATA reply}) for the accepted ones."""
        assert self.cmd("MAIL FROM:<%s>" % sender).startswith("250")
        at_rcpt = {r: self.cmd("RCPT TO:<%s>" % r) for r in rcpts}
        accepted = [r for r in rcpts if at_rcpt[r].startswith("250")]
        if not accepted:
            assert self.cmd("RSET").startswith("250")
            return at_rcpt, {}
        assert self.cmd("DATA").startswith("354")
        self.send(stuff(msg) + b".\r\n")
        return at_rcpt, {r: self.reply() for r in accepted}


def stuff(msg):
    out = b"\r\n".join(b"." + l if l.startswith(b".") else l
                       for l in msg.split(b"\r\n"))
    return out if out.endswith(b"\r\n") else out + b"\r\n"


def message(subject, body_lines=20, extra=""):
    lines = ["From: sender@example.com", "To: someone@example.com",
             "Subject: " + subject, "Message-ID: <%s@test>" % subject, ""]
    lines += ["line %d of %s %s" % (i, subject, extra)
              for i in range(body_lines)]
    lines.append(".a line that starts with a dot")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def lmtp_director(proxy_director, **settings):
    top = {"lmtp_backend_timeout": "3 s"}
    top.update(settings)
    return proxy_director(settings=top)


def delivered_to(d, rcpt, offset=0):
    """The backend IP the director's delivery log line names for rcpt."""
    m = d.wait_log(r"delivery: [^\n]*<%s>@([\d.]+):\d+=250" %
                   re.escape(rcpt), offset=offset)
    return m.group(1)


def read_back(backend, user, subject):
    """The message with subject in user's INBOX on backend (header, body)
    or None."""
    m = imaplib.IMAP4(backend.ip, backend.imap_port, timeout=30)
    try:
        m.login(user, PASS)
        m.select("INBOX", readonly=True)
        typ, data = m.search(None, "HEADER", "Message-ID",
                             "<%s@test>" % subject)
        ids = data[0].split()
        if not ids:
            return None
        assert len(ids) == 1, (user, subject, ids)
        typ, data = m.fetch(ids[0], "(BODY.PEEK[HEADER] BODY.PEEK[TEXT])")
        parts = {}
        for item in data:
            if isinstance(item, tuple):
                key = "TEXT" if b"[TEXT]" in item[0] else "HEADER"
                parts[key] = item[1]
        return parts["HEADER"], parts["TEXT"]
    finally:
        m.logout()
        wait_logged_out(backend, user)


def wait_logged_out(backend, user, timeout=10.0):
    """Waits until backend has logged the end of user's sessions: Dovecot
    logs it a little after the client saw its BYE, and a read of the
    next backend must not overlap it in the invariant oracle."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(s.user == user and s.is_open
                   for s in oracle.collect_sessions([backend])):
            return
        time.sleep(0.01)
    raise AssertionError("%s: %s's session did not end" %
                         (backend.name, user))


def check_stored(backends, d, rcpt, subject, msg, offset=0):
    ip = delivered_to(d, rcpt, offset)
    b = next(b for b in backends if b.ip == ip)
    got = read_back(b, rcpt, subject)
    assert got is not None, (rcpt, b.name)
    header, body = msg.split(b"\r\n\r\n", 1)
    assert got[1] == body
    # Dovecot prepends Return-Path and Delivered-To; ours follow unchanged
    assert got[0].endswith(header + b"\r\n\r\n")
    # and on no other backend
    for other in backends:
        if other is not b:
            assert read_back(other, rcpt, subject) is None, other.name
    return b


def no_spool_files(d):
    dirs = [d.state_dir, os.path.join(d.state_dir, "lmtp")]
    return [f for p in dirs if os.path.isdir(p) for f in os.listdir(p)
            if f.startswith("lmtp-spool")]


# -- delivery ---------------------------------------------------------------

@pytest.mark.parametrize("count", [1, 2, 50])
def test_recipients_spread_and_read_back(proxy_director, backends, count):
    d = lmtp_director(proxy_director)
    rcpts = ["user%d" % (200 + count * 3 + i) for i in range(count)]
    subject = "spread-%d" % count
    msg = message(subject)
    off = d.log_offset()
    with Lmtp(d) as c:
        at_rcpt, at_data = c.deliver(rcpts, msg)
    assert all(r.startswith("250") for r in at_rcpt.values()), at_rcpt
    assert all(r.startswith("250") for r in at_data.values()), at_data
    where = {check_stored(backends, d, r, subject, msg, off).name
             for r in rcpts}
    if count == 50:
        assert len(where) == 3
    # the log line names every recipient with its backend and outcome
    line = d.wait_log(r"delivery: from=<sender@example\.com>, size=\d+, "
                      r"rcpts: [^\n]*", offset=off).group(0)
    assert line.count("=250") == count
    assert no_spool_files(d) == []


def test_smtplib_and_swaks(proxy_director, backends):
    d = lmtp_director(proxy_director)
    host, port = d.listeners()["lmtp"]
    msg = message("smtplib")
    with smtplib.LMTP(host, port, timeout=30) as s:
        assert s.sendmail("sender@example.com", ["user280"], msg) == {}
    check_stored(backends, d, "user280", "smtplib", msg)
    if subprocess.run(["which", "swaks"], capture_output=True).returncode:
        pytest.skip("swaks is not installed")
    res = subprocess.run(["swaks", "--protocol", "LMTP", "--server", host,
                          "--port", str(port), "--to", "user281",
                          "--from", "sender@example.com", "--header",
                          "Message-ID: <swaks@test>", "--body", "via swaks"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    ip = delivered_to(d, "user281")
    b = next(b for b in backends if b.ip == ip)
    assert read_back(b, "user281", "swaks")[1].startswith(b"via swaks")


def test_logged_in_user_receives_on_the_same_backend(proxy_director,
                                                      backends):
    d = lmtp_director(proxy_director)
    user = "user290"
    host, port = d.listeners()["imap"]
    m = imaplib.IMAP4(host, port, timeout=30)
    m.login(user, PASS)
    typ, data = m.select("INBOX")
    before = int(data[0])
    imap_backend = d.wait_log(r"login: user=<%s>, client=[^,]*, "
                              r"backend=([\d.]+):" % user).group(1)
    msg = message("while-logged-in")
    with Lmtp(d) as c:
        _, at_data = c.deliver([user], msg)
    assert at_data[user].startswith("250")
    assert delivered_to(d, user) == imap_backend
    typ, data = m.select("INBOX")
    assert int(data[0]) == before + 1
    m.logout()


# -- failures -----------------------------------------------------------------

def process_tree(backend):
    """The pids of a Dovecot instance: its master and all descendants."""
    with open(backend.master_pid_path) as f:
        pids = [int(f.read().strip())]
    parents = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    parents[int(p)] = int(f.read().rsplit(")", 1)[1]
                                          .split()[1])
            except OSError:
                pass
    i = 0
    while i < len(pids):
        pids += [c for c, pp in parents.items() if pp == pids[i]]
        i += 1
    return pids


@contextlib.contextmanager
def frozen(backend):
    """Stops every process of a Dovecot instance (SIGSTOP) for the block:
    its connections stay open and answer nothing."""
    pids = process_tree(backend)
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    try:
        yield
    finally:
        for p in pids:
            os.kill(p, signal.SIGCONT)


def fresh_cluster(director_factory, backend_factory, timeout, users):
    """Three backends of the test's own (so one may be stopped), a
    director with lmtp_backend_timeout, and {backend name: [users]} as it
    routes users."""
    bs = backend_factory(3, first=4)
    d = director_factory(1, mail_servers=bs,
                         settings={"lmtp_backend_timeout": timeout})
    return bs, d, _users_by_backend(d, bs, users)


def _users_by_backend(d, backends, users):
    """{backend name: [users]} as the director routes them now."""
    out = {}
    with Lmtp(d) as c:
        for u in users:
            c.deliver([u], message("route-%s" % u, 1))
    for u in users:
        ip = delivered_to(d, u)
        out.setdefault(next(b.name for b in backends if b.ip == ip),
                       []).append(u)
    return out


def test_backend_down_before_data(director_factory, backend_factory):
    users = ["user%d" % i for i in range(300, 315)]
    bs, d, by = fresh_cluster(director_factory, backend_factory, "3 s", users)
    assert len(by) >= 2, by
    down = bs.by_name(sorted(by)[0])
    down.stop()
    msg = message("one-down")
    with Lmtp(d) as c:
        at_rcpt, at_data = c.deliver(users, msg)
    for u in users:
        if u in by[down.name]:
            assert at_rcpt[u].startswith("451 4.4.0"), at_rcpt[u]
        else:
            assert at_rcpt[u].startswith("250"), at_rcpt[u]
            assert at_data[u].startswith("250"), at_data[u]
            check_stored([b for b in bs if b is not down], d, u,
                         "one-down", msg)
    bs.check_invariant = False      # the stopped backend's log ends early


def test_backend_stops_answering_during_data(director_factory,
                                             backend_factory):
    users = ["user%d" % i for i in range(320, 335)]
    bs, d, by = fresh_cluster(director_factory, backend_factory, "2 s", users)
    assert len(by) >= 2, by
    stuck = bs.by_name(sorted(by)[0])
    msg = message("frozen", 200)
    with Lmtp(d) as c:
        assert c.cmd("MAIL FROM:<sender@example.com>").startswith("250")
        for u in users:
            assert c.cmd("RCPT TO:<%s>" % u).startswith("250")
        assert c.cmd("DATA").startswith("354")
        with frozen(stuck):
            c.send(stuff(msg) + b".\r\n")
            started = time.monotonic()
            replies = {u: c.reply() for u in users}
            waited = time.monotonic() - started
    for u in users:
        if u in by[stuck.name]:
            assert replies[u].startswith("451 4.4.0"), replies[u]
        else:
            assert replies[u].startswith("250"), replies[u]
            check_stored([b for b in bs if b is not stuck], d, u, "frozen",
                         msg)
    assert waited < 30
    assert no_spool_files(d) == []
    bs.check_invariant = False


# -- limits and odd input ------------------------------------------------------

def test_size_limit_8bit_and_20mb(proxy_director, backends):
    # a loaded machine may take longer than the usual 3 s to store 20 MB
    d = lmtp_director(proxy_director, lmtp_max_message_size="25M",
                      lmtp_spool_memory="64k", lmtp_backend_timeout="60 s")
    with Lmtp(d) as c:
        caps = c.cmd("LHLO tester")
        assert "SIZE 26214400" in caps and "8BITMIME" in caps
        # declared too large
        assert c.cmd("MAIL FROM:<s@example.com> SIZE=30000000").startswith(
            "552 5.3.4")
        # 8-bit content goes through unchanged
        msg8 = message("eight-bit", extra="\u00e4\u00f6\u00fc \u20ac")
        at_rcpt, at_data = c.deliver(["user340"], msg8)
        assert at_data["user340"].startswith("250")
        # 20 MB, spooled to a file (lmtp_spool_memory = 64k)
        big = message("twenty-mb", 20 * 1024 * 1024 // 50, extra="x" * 30)
        assert len(big) > 20 * 1024 * 1024
        at_rcpt, at_data = c.deliver(["user341", "user342"], big)
        assert all(r.startswith("250") for r in at_data.values()), at_data
        # over the limit once received: 552 for every recipient
        huge = b"Subject: huge\r\n\r\n" + b"y" * 1000 + b"\r\n"
        huge += (b"z" * 998 + b"\r\n") * 27000
        assert c.cmd("MAIL FROM:<s@example.com>").startswith("250")
        assert c.cmd("RCPT TO:<user343>").startswith("250")
        assert c.cmd("DATA").startswith("354")
        c.send(huge + b".\r\n")
        assert c.reply().startswith("552 5.3.4")
        assert c.cmd("NOOP").startswith("250")
    check_stored(backends, d, "user340", "eight-bit", msg8)
    for u in ("user341", "user342"):
        ip = delivered_to(d, u)
        b = next(b for b in backends if b.ip == ip)
        got = read_back(b, u, "twenty-mb")
        assert hashlib.sha256(got[1]).hexdigest() == hashlib.sha256(
            big.split(b"\r\n\r\n", 1)[1]).hexdigest()
    assert no_spool_files(d) == []


def test_pipelined_transactions_and_rset(proxy_director, backends):
    d = lmtp_director(proxy_director)
    m1, m2 = message("pipe-one"), message("pipe-two")
    with Lmtp(d) as c:
        assert c.cmd("LHLO tester").startswith("250")
        c.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<user350>\r\n"
               b"RCPT TO:<user351>\r\nRSET\r\n"
               b"MAIL FROM:<a@example.com>\r\nRCPT TO:<user352>\r\nDATA\r\n")
        replies = [c.reply() for _ in range(7)]
        assert [r[:3] for r in replies] == ["250"] * 6 + ["354"], replies
        c.send(stuff(m1) + b".\r\nMAIL FROM:<b@example.com>\r\n"
               b"RCPT TO:<user353>\r\nDATA\r\n")
        assert c.reply().startswith("250")     # user352 delivered
        assert [c.reply()[:3] for _ in range(3)] == ["250", "250", "354"]
        c.send(stuff(m2) + b".\r\nQUIT\r\n")
        assert c.reply().startswith("250")
        assert c.reply().startswith("221")
    check_stored(backends, d, "user352", "pipe-one", m1)
    check_stored(backends, d, "user353", "pipe-two", m2)
    for b in backends:                   # the RSET dropped user350/351
        assert read_back(b, "user350", "pipe-one") is None


def test_hostile_input(proxy_director, backends):
    d = lmtp_director(proxy_director, lmtp_max_recipients="5")
    with Lmtp(d) as c:
        assert c.cmd("LHLO tester").startswith("250")
        assert c.cmd("MAIL FROM:<a@example.com>").startswith("250")
        replies = [c.cmd("RCPT TO:<user%d>" % (360 + i)) for i in range(7)]
        assert [r[:3] for r in replies] == ["250"] * 5 + ["452"] * 2
        assert c.cmd("RSET").startswith("250")
        # bare LF line ends in the body become CRLF for the backends
        assert c.cmd("MAIL FROM:<a@example.com>").startswith("250")
        assert c.cmd("RCPT TO:<user370>").startswith("250")
        assert c.cmd("DATA").startswith("354")
        c.send(b"Message-ID: <bare-lf@test>\nSubject: lf\n\nbody\n.\n")
        assert c.reply().startswith("250")
        assert c.cmd("HELO x").startswith("500")
        # an over-long command line ends the session
        c.send(b"RCPT TO:<" + b"a" * 10000 + b">\r\n")
        assert c.reply().startswith("500")
        # closed (with unread input the kernel may answer with a reset)
        with pytest.raises((EOFError, ConnectionResetError)):
            c.reply()
    ip = delivered_to(d, "user370")
    b = next(b for b in backends if b.ip == ip)
    assert read_back(b, "user370", "bare-lf")[1] == b"body\r\n"
    # the director serves others throughout
    with Lmtp(d) as c:
        assert c.cmd("LHLO again").startswith("250")
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        assert c.command("a", "NOOP").startswith(b"a OK")


def test_backend_sees_client_address_and_helo(proxy_director, backends,
                                              address_plan):
    # XCLIENT: the backend logs the MTA's address, not the director's
    d = lmtp_director(proxy_director)
    src = "127.%d.2.7" % address_plan.slot
    offs = {b.name: b.log_offset() for b in backends}
    s = socket.create_connection(d.listeners()["lmtp"], timeout=30,
                                 source_address=(src, 0))
    c = Lmtp.__new__(Lmtp)
    c.sock, c.pending = s, b""
    with c:
        assert c.reply().startswith("220 ")
        assert c.cmd("LHLO mta.example.org").startswith("250")
        _, at_data = c.deliver(["user380"], message("xclient"))
        assert at_data["user380"].startswith("250")
        c.cmd("QUIT")
    ip = delivered_to(d, "user380")
    b = next(b for b in backends if b.ip == ip)
    b.wait_log(r"lmtp\(\d+\): Info: Disconnect from %s" % re.escape(src),
               offset=offs[b.name])


def test_kick_aborts_a_delivery_in_flight(director_factory, backend_factory):
    # a delivery stuck on the user's backend is aborted by a kick (what a
    # move does on the old backend): 451 at once, the MTA retries later
    user = "user390"
    bs, d, by = fresh_cluster(director_factory, backend_factory, "60 s",
                              [user])
    (name,) = by
    with Lmtp(d) as c:
        assert c.cmd("MAIL FROM:<sender@example.com>").startswith("250")
        assert c.cmd("RCPT TO:<%s>" % user).startswith("250")
        assert c.cmd("DATA").startswith("354")
        with frozen(bs.by_name(name)):
            c.send(stuff(message("kicked")) + b".\r\n")
            time.sleep(0.5)
            with adminclient.AdminClient(d.admin_socket) as a:
                assert a.command("USER-KICK", user) == "OK"
            started = time.monotonic()
            reply = c.reply()
            assert time.monotonic() - started < 10
    assert reply.startswith("451 4.4.0"), reply
    assert "moved or kicked" in reply
    bs.check_invariant = False


def test_starttls_and_implicit_tls(director_factory, backends, tls_cert):
    # LMTP over STARTTLS and on an implicit-TLS listener; plaintext
    # pipelined after STARTTLS is dropped, never executed
    import ssl
    cert, key = tls_cert
    d = director_factory(1, settings={"ssl_cert": cert, "ssl_key": key},
                         listen_settings={"lmtp": {"tls": "starttls"}},
                         extra_listeners={"lmtps": {"protocol": "lmtp",
                                                    "port": 1025,
                                                    "tls": "implicit"}})
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    host, port = d.listeners()["lmtp"]
    msg = message("over-starttls")
    with smtplib.LMTP(host, port, timeout=30) as s:
        assert "starttls" in s.docmd("LHLO", "t")[1].decode().lower()
        s.ehlo_resp = None
        s.starttls(context=ctx)
        assert s.sendmail("sender@example.com", ["user395"], msg) == {}
    check_stored(backends, d, "user395", "over-starttls", msg)
    with socket.create_connection((host, port), timeout=30) as raw:
        f = raw.makefile("rb")
        assert f.readline().startswith(b"220 ")
        raw.sendall(b"LHLO t\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        raw.sendall(b"STARTTLS\r\nMAIL FROM:<injected@example.com>\r\n")
        assert f.readline().startswith(b"220 ")
        # the handshake works only if the plaintext after STARTTLS was
        # dropped (kept, it would be read as a TLS record)
        tls = ctx.wrap_socket(raw, server_hostname="director")
        tf = tls.makefile("rb")
        tls.sendall(b"LHLO t\r\n")
        while not tf.readline().startswith(b"250 "):
            pass
        # and no transaction from before TLS survives
        tls.sendall(b"RCPT TO:<user396>\r\n")
        assert tf.readline().startswith(b"503 5.5.1")
        tls.close()
    host, port = d.listeners()["lmtps"]
    msg = message("over-lmtps")
    with socket.create_connection((host, port), timeout=30) as raw:
        c = Lmtp.__new__(Lmtp)
        c.sock, c.pending = ctx.wrap_socket(raw), b""
        assert c.reply().startswith("220 ")
        assert c.cmd("LHLO t").startswith("250")
        _, at_data = c.deliver(["user397"], msg)
        assert at_data["user397"].startswith("250")
    check_stored(backends, d, "user397", "over-lmtps", msg)


def test_starttls_refused_in_a_transaction(director_factory, backends,
                                           tls_cert):
    # STARTTLS after MAIL would leave the proxy with recipients routed
    # and registered for a transaction the client no longer has: 503, and
    # the transaction goes on untouched; after RSET, STARTTLS works
    import ssl
    cert, key = tls_cert
    d = director_factory(1, settings={"ssl_cert": cert, "ssl_key": key},
                         listen_settings={"lmtp": {"tls": "starttls"}})
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    msg = message("starttls-mid-transaction")
    with Lmtp(d) as c:
        assert c.cmd("MAIL FROM:<sender@example.com>").startswith("250")
        assert c.cmd("RCPT TO:<user398>").startswith("250")
        reply = c.cmd("STARTTLS")
        assert reply.startswith("503 5.5.1"), reply
        assert c.cmd("DATA").startswith("354")
        c.send(stuff(msg) + b".\r\n")
        assert c.reply().startswith("250")
        assert c.cmd("MAIL FROM:<sender@example.com>").startswith("250")
        assert c.cmd("STARTTLS").startswith("503 5.5.1")
        assert c.cmd("RSET").startswith("250")
        assert c.cmd("STARTTLS").startswith("220")
        c.sock = ctx.wrap_socket(c.sock, server_hostname="director")
        assert c.cmd("LHLO t").startswith("250")
        assert c.cmd("RCPT TO:<user398>").startswith("503 5.5.1")
    check_stored(backends, d, "user398", "starttls-mid-transaction", msg)


def test_transaction_deadline_against_a_trickle(proxy_director, backends):
    # one byte every 0.5 s resets any idle timeout; the transaction
    # deadline ends it all the same: 421, a close and a log line
    d = lmtp_director(proxy_director, lmtp_transaction_timeout="3 s")
    with Lmtp(d) as c:
        started = time.monotonic()
        assert c.cmd("MAIL FROM:<sender@example.com>").startswith("250")
        assert c.cmd("RCPT TO:<user399>").startswith("250")
        assert c.cmd("DATA").startswith("354")
        for _ in range(240):    # 2 minutes at most, never reached
            readable, _, _ = select.select([c.sock], [], [], 0.5)
            if readable:
                break
            c.send(b"x")
        reply = c.reply()
        assert reply.startswith("421 4.4.2"), reply
        assert time.monotonic() - started >= 2.5
        with pytest.raises(EOFError):
            c.line()
    d.wait_log(r"lmtp_transaction_timeout")


def test_spool_budget_spent(proxy_director, backends):
    # the spools of all connections share lmtp_spool_memory_total and
    # lmtp_spool_disk_total; a message that does not fit gets 452 4.3.1
    # for each recipient, and the budget is whole again afterwards
    d = lmtp_director(proxy_director, lmtp_spool_memory="4k",
                      lmtp_spool_memory_total="4k",
                      lmtp_spool_disk_total="16k")
    big = message("too-big-for-the-spool", body_lines=2000)
    small = message("fits-the-spool")
    with Lmtp(d) as c:
        _, at_data = c.deliver(["user401", "user402"], big)
        for r in ("user401", "user402"):
            assert at_data[r].startswith("452 4.3.1"), at_data
        _, at_data = c.deliver(["user401"], small)
        assert at_data["user401"].startswith("250")
    d.wait_log(r"spool budget")
    check_stored(backends, d, "user401", "fits-the-spool", small)
    assert no_spool_files(d) == []
