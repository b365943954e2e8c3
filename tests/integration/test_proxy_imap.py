"""IMAP through the director against real Dovecot backends: every login
form (LOGIN with atoms, quoted strings and literals; AUTHENTICATE PLAIN and
LOGIN with and without SASL-IR; cancel), master-user logins, failures the
client must see (wrong password, unknown user; backend down and backend
that never greets are in test_proxy_hostile.py), a 50 MB APPEND/FETCH, a slow reader, pipelining after
LOGIN, idle timeout and either side closing."""
import hashlib
import imaplib
import os
import socket
import subprocess
import time

import pytest

from harness import dovecot, rawclient

PASS = dovecot.USER_PASSWORD


def backend_of(d, user, offset=0):
    """The backend address (ip:port) of user's last successful login in
    the director log after offset."""
    ms = d.wait_log(r"login: user=<%s>, client=[^,]*, backend=([^,]+), "
                    r"result=ok" % user.replace("*", r"\*"),
                    offset=offset)
    return ms.group(1)


def imap(d):
    return rawclient.imap_connect(*d.listeners()["imap"])


def assert_logged_in(c, user, tag="s1"):
    """After a successful login, the session is a real backend session
    of user (SELECT INBOX works)."""
    reply = c.command(tag, "SELECT INBOX")
    assert reply.startswith(tag.encode() + b" OK"), reply


def _login_steps(user, password):
    """{form: [(text to send, expected reply prefix), ...]} for logging in
    user; the last step's reply is the tagged result."""
    p64 = rawclient.sasl_plain(user, password)
    u64, w64 = rawclient.b64(user), rawclient.b64(password)
    n = len(password)
    return {
        "login-atoms": [("a LOGIN %s %s\r\n" % (user, password), "a OK")],
        "login-quoted": [('a LOGIN "%s" "%s"\r\n' % (user, password),
                          "a OK")],
        "login-literal-sync": [("a LOGIN %s {%d}\r\n" % (user, n), "+ "),
                               (password + "\r\n", "a OK")],
        "login-literal-nonsync": [("a LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n" %
                                   (len(user), user, n, password), "a OK")],
        "login-literal-both-sync": [("a LOGIN {%d}\r\n" % len(user), "+ "),
                                    ("%s {%d}\r\n" % (user, n), "+ "),
                                    (password + "\r\n", "a OK")],
        "plain-ir": [("a AUTHENTICATE PLAIN %s\r\n" % p64, "a OK")],
        "plain-continuation": [("a AUTHENTICATE PLAIN\r\n", "+"),
                               (p64 + "\r\n", "a OK")],
        "login-mech-ir": [("a AUTHENTICATE LOGIN %s\r\n" % u64, "+ "),
                          (w64 + "\r\n", "a OK")],
        "login-mech": [("a AUTHENTICATE LOGIN\r\n", "+ "),
                       (u64 + "\r\n", "+ "), (w64 + "\r\n", "a OK")],
    }


LOGIN_FORMS = sorted(_login_steps("u", "p"))


def run_steps(c, steps):
    """Sends each step and checks its reply (untagged lines skipped);
    returns the last reply line."""
    for send, expect in steps:
        c.send(send)
        last = c.line()
        while last.startswith(b"* "):
            last = c.line()
        assert last.startswith(expect.encode()), (send, last)
    return last


@pytest.mark.parametrize("form", LOGIN_FORMS)
def test_login_forms(proxy_director, backends, form):
    d = proxy_director()
    user = "user%d" % (10 + LOGIN_FORMS.index(form))
    with imap(d) as c:
        last = run_steps(c, _login_steps(user, PASS)[form])
        assert last.startswith(b"a OK"), last
        assert_logged_in(c, user)
    b = backend_of(d, user)
    ip = b.split(":")[0]
    backends.by_ip(ip).wait_log(r"imap-login: Info: Login: user=<%s>" %
                                user)


@pytest.mark.parametrize("form", ["login-quoted", "login-literal-nonsync",
                                  "plain-ir", "login-mech"])
def test_master_user_routes_as_user(proxy_director, backends, form):
    d = proxy_director(settings={"auth_master_user_separator":
                                 dovecot.MASTER_SEPARATOR})
    user = "user42"
    with imap(d) as c:
        assert run_steps(c, _login_steps(user, PASS)["login-atoms"])\
            .startswith(b"a OK")
    first = backend_of(d, user)
    b = backends.by_ip(first.split(":")[0])
    off, boff = d.log_offset(), b.log_offset()
    master = "%s%s%s" % (user, dovecot.MASTER_SEPARATOR, dovecot.MASTER_USER)
    with imap(d) as c:
        last = run_steps(c, _login_steps(master, dovecot.MASTER_PASSWORD)
                         [form])
        assert last.startswith(b"a OK"), last
        assert_logged_in(c, user)
    # the director logs and routes the login user, not the master
    m = d.wait_log(r"login: user=<([^>]*)>, client=[^,]*, backend=([^,]+), "
                   r"result=ok", offset=off)
    assert m.group(2) == first, (m.group(0), first)
    assert m.group(1).startswith(user), m.group(0)
    b.wait_log(r"Login: user=<%s>," % user, offset=boff)


def test_master_user_plain_authzid(proxy_director, backends):
    # SASL PLAIN with authzid = user, authcid = master
    d = proxy_director()
    user = "user44"
    with imap(d) as c:
        assert c.command("a", "LOGIN %s %s" % (user, PASS)).startswith(
            b"a OK")
    first = backend_of(d, user)
    off = d.log_offset()
    ir = rawclient.sasl_plain(dovecot.MASTER_USER, dovecot.MASTER_PASSWORD,
                              authzid=user)
    with imap(d) as c:
        reply = c.command("a", "AUTHENTICATE PLAIN " + ir)
        assert reply.startswith(b"a OK"), reply
        assert_logged_in(c, user)
    assert backend_of(d, user, offset=off) == first


def test_master_user_atom_accepted_by_dovecot(backends):
    # what imaplib sends for LOGIN: the user name as a bare atom
    b = backends[0]
    with rawclient.imap_connect(b.ip, b.imap_port) as c:
        reply = c.command("a", "LOGIN user43*master " +
                          dovecot.MASTER_PASSWORD)
        assert reply.startswith(b"a OK"), reply


def test_master_user_atom_through_director(proxy_director):
    d = proxy_director()
    with imap(d) as c:
        reply = c.command("a", "LOGIN user43*master " +
                          dovecot.MASTER_PASSWORD)
        assert reply.startswith(b"a OK"), reply


def test_sasl_ir_empty_and_cancel(proxy_director):
    d = proxy_director()
    with imap(d) as c:
        # "=" is an empty initial response: PLAIN cannot decode it
        reply = c.command("a", "AUTHENTICATE PLAIN =")
        assert reply.startswith(b"a NO") or reply.startswith(b"a BAD"), reply
        c.send("b AUTHENTICATE PLAIN\r\n")
        assert c.line().startswith(b"+")
        c.send("*\r\n")
        reply = c.until("b ")[-1]
        assert reply.startswith(b"b BAD"), reply
        c.send("c AUTHENTICATE LOGIN\r\n")
        assert c.line().startswith(b"+ ")
        c.send("*\r\n")
        assert c.until("c ")[-1].startswith(b"c BAD")
        # still usable afterwards
        reply = c.command("d", "LOGIN user5 %s" % PASS)
        assert reply.startswith(b"d OK"), reply


def test_imaplib_login_and_capability(proxy_director):
    d = proxy_director()
    m = imaplib.IMAP4(*d.listeners()["imap"], timeout=10)
    try:
        assert "IMAP4REV1" in m.capabilities
        typ, _ = m.login("user7", PASS)
        assert typ == "OK"
        typ, data = m.select("INBOX")
        assert typ == "OK"
    finally:
        m.logout()


def test_imaplib_authenticate_plain(proxy_director):
    d = proxy_director()
    m = imaplib.IMAP4(*d.listeners()["imap"], timeout=10)
    try:
        typ, _ = m.authenticate(
            "PLAIN", lambda _: ("\0user8\0%s" % PASS).encode())
        assert typ == "OK"
        assert m.select("INBOX")[0] == "OK"
    finally:
        m.logout()


def test_curl_imap(proxy_director):
    d = proxy_director()
    ip, port = d.listeners()["imap"]
    r = subprocess.run(["curl", "-sS", "--max-time", "10", "-u",
                        "user9:" + PASS, "imap://%s:%d/" % (ip, port)],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert "INBOX" in r.stdout


# -- failures the client must see -----------------------------------------

def test_wrong_password_relays_backend_no(proxy_director):
    d = proxy_director()
    with imap(d) as c:
        reply = c.command("a", "LOGIN user3 wrong")
        assert reply.startswith(b"a NO [AUTHENTICATIONFAILED]"), reply
        d.wait_log(r"login: user=<user3>.*result=rejected")
        # the connection stays usable: a retry with the right password
        reply = c.command("b", "LOGIN user3 " + PASS)
        assert reply.startswith(b"b OK"), reply


def test_unknown_user(proxy_director):
    d = proxy_director()
    with imap(d) as c:
        reply = c.command("a", "LOGIN nosuchuser " + PASS)
        assert reply.startswith(b"a NO [AUTHENTICATIONFAILED]"), reply


# -- data path ------------------------------------------------------------

BIG = 50 * 1024 * 1024


def _big_message(size):
    head = (b"From: big@example.com\r\nTo: user@example.com\r\n"
            b"Subject: big\r\n\r\n")
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"\
           b"0123456789\r\n"
    body = line * ((size - len(head)) // len(line) + 1)
    return head + body[:size - len(head) - 2] + b"\r\n"


def _pipe_fds(pid):
    """How many of pid's descriptors are pipe ends."""
    fds = "/proc/%d/fd" % pid
    return sum(1 for fd in os.listdir(fds)
               if os.readlink(os.path.join(fds, fd)).startswith("pipe:"))


def _rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return int(l.split()[1])
    raise AssertionError("no VmRSS")


def _append_big(c, user, msg):
    """Logs c in as user, APPENDs msg (a synchronizing literal, so the
    client waits for the backend's "+" through the director) and selects
    INBOX."""
    assert c.command("a", "LOGIN %s %s" % (user, PASS)).startswith(b"a OK")
    c.send("b APPEND INBOX {%d}\r\n" % len(msg))
    assert c.line().startswith(b"+")
    c.sock.sendall(msg)
    c.send("\r\n")
    reply = c.until("b ", timeout=120)[-1]
    assert reply.startswith(b"b OK"), reply
    assert c.command("c", "SELECT INBOX").startswith(b"c OK")


def _fetch_slowly(c, size, slow_secs, pid=None):
    """FETCHes message 1 (size bytes), reading slowly for slow_secs; returns
    its sha256 and the director's peak RSS (KiB) while reading slowly."""
    c.send("d FETCH 1 BODY.PEEK[]\r\n")
    first = c.line(timeout=60)
    assert first.endswith(b"{%d}" % size), first
    peak = _rss_kb(pid) if pid else 0
    got = hashlib.sha256()
    left = size
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    slow_until = time.monotonic() + slow_secs
    while left:
        chunk = c.read_exact(min(left, 65536), timeout=60)
        got.update(chunk)
        left -= len(chunk)
        if time.monotonic() < slow_until:
            time.sleep(0.05)
            if pid:
                peak = max(peak, _rss_kb(pid))
    assert c.until("d ", timeout=30)[-1].startswith(b"d OK")
    return got.hexdigest(), peak


@pytest.mark.parametrize("zero_copy", ["yes", "no"])
def test_big_append_fetch_and_slow_reader(proxy_director, zero_copy):
    """50 MiB up and down intact, with splice(2) between the sockets and
    through user space; a slow reader holds the backend back instead of
    making the director buffer the message."""
    # a small ASan quarantine, so that RSS shows live memory, not freed
    # buffers waiting for reuse
    d = proxy_director(settings={"zero_copy": zero_copy},
                       env={"ASAN_OPTIONS":
                            "detect_leaks=1:quarantine_size_mb=1"})
    msg = _big_message(BIG)
    user = "user31"
    with imap(d) as c:
        _append_big(c, user, msg)
        rss0 = _rss_kb(d.pid)
        digest, peak = _fetch_slowly(c, len(msg), 3, d.pid)
        assert digest == hashlib.sha256(msg).hexdigest()
    # generous margin: well below the message size
    assert peak - rss0 < 16 * 1024, (rss0, peak)


def test_zero_copy_out_of_pipes(proxy_director):
    """With one pipe for all splices, two transfers at once: the one that
    finds no pipe copies through user space, both arrive intact."""
    d = proxy_director(settings={"zero_copy_pipes": "1", "workers": "1"})
    size = 8 * 1024 * 1024
    msg = _big_message(size)
    digest = hashlib.sha256(msg).hexdigest()
    others = _pipe_fds(d.pid)      # libevent's own, say
    with imap(d) as c1, imap(d) as c2:
        _append_big(c1, "user32", msg)
        _append_big(c2, "user33", msg)
        # both FETCHes in flight before either is read
        for c in (c1, c2):
            c.send("d FETCH 1 BODY.PEEK[]\r\n")
            assert c.line(timeout=60).endswith(b"{%d}" % size)
        # both wait for their client: one holds the pipe, the other one's
        # bytes wait in user space
        assert _pipe_fds(d.pid) == others + 2
        for c in (c1, c2):
            got = hashlib.sha256()
            left = size
            while left:
                chunk = c.read_exact(min(left, 65536), timeout=60)
                got.update(chunk)
                left -= len(chunk)
            assert got.hexdigest() == digest
            assert c.until("d ", timeout=30)[-1].startswith(b"d OK")


def test_pipelined_after_login(proxy_director):
    d = proxy_director()
    with imap(d) as c:
        c.send("a LOGIN user12 %s\r\nb SELECT INBOX\r\nc LOGOUT\r\n" % PASS)
        lines = c.until("c ")
        tags = [l.split(b" ")[0] for l in lines if not l.startswith(b"*")]
        assert tags == [b"a", b"b", b"c"], lines
        assert lines[-1].startswith(b"c OK")


# -- after login -------------------------------------------------------------

def test_idle_timeout_closes_both_sides(proxy_director, backends):
    d = proxy_director(backend_settings={"idle_timeout": "2 s"})
    user = "user13"
    with imap(d) as c:
        assert c.command("a", "LOGIN %s %s" % (user, PASS)).startswith(
            b"a OK")
        b = backends.by_ip(backend_of(d, user).split(":")[0])
        off = b.log_offset()
        assert c.closed(timeout=6)
    d.wait_log(r"disconnect: user=<%s>.*closed_by=idle-timeout" % user)
    b.wait_log(r"imap\(%s\).*Disconnected" % user, offset=off)


def test_client_close_ends_pair(proxy_director, backends):
    d = proxy_director()
    user = "user14"
    c = imap(d)
    assert c.command("a", "LOGIN %s %s" % (user, PASS)).startswith(b"a OK")
    b = backends.by_ip(backend_of(d, user).split(":")[0])
    c.close()
    d.wait_log(r"disconnect: user=<%s>.*closed_by=client" % user)
    b.wait_log(r"imap\(%s\).*Disconnected" % user)


def test_backend_close_ends_pair(proxy_director):
    d = proxy_director()
    with imap(d) as c:
        assert c.command("a", "LOGIN user15 %s" % PASS).startswith(b"a OK")
        c.send("b LOGOUT\r\n")
        assert c.closed(timeout=5)
        assert b"b OK" in c.pending
    d.wait_log(r"disconnect: user=<user15>.*closed_by=backend")
