"""Hostile and odd client input before login (nginx's mail_imap test list
and more): the director answers or closes as the protocol says, never
executes what it must not, and keeps serving other clients normally after
every case.  Also backends that refuse or never greet, and clients or the
daemon going away at awkward moments.  The director_factory fixture fails a test on sanitizer
reports or an unclean exit at teardown."""
import re
import time

import pytest

from harness import adminclient, dovecot, rawclient

PASS = dovecot.USER_PASSWORD
TAG_MAX = 32                    # IMAP_TAG_MAX in src/proto/imap_client_int.h
BAD_MAX = 10                    # IMAP_CLIENT_BAD_MAX, POP3_CLIENT_BAD_MAX


def imap(d, **kw):
    return rawclient.imap_connect(*d.listeners()["imap"], **kw)


def pop3(d, **kw):
    return rawclient.pop3_connect(*d.listeners()["pop3"], **kw)


def assert_serves(d, user="user500"):
    """A normal IMAP login through d works right now."""
    with imap(d) as c:
        reply = c.command("ok1", "LOGIN %s %s" % (user, PASS))
        assert reply.startswith(b"ok1 OK"), reply
        assert c.command("ok2", "SELECT INBOX").startswith(b"ok2 OK")


def wait_closed(d, offset, count):
    """Waits until d has logged the end of count pre-login connections
    after log offset: every byte they sent has been handled."""
    deadline = time.monotonic() + 10
    while True:
        n = len(re.findall(r"disconnected before login: ",
                           d.log_text(offset)))
        if n >= count:
            return
        assert time.monotonic() < deadline, \
            "%d of %d connections logged as closed" % (n, count)
        time.sleep(0.05)


def nobody_logged_in(d, backends, user):
    assert "user=<%s>" % user not in d.log_text()
    for b in backends:
        assert "user=<%s>" % user not in b.log_text()


@pytest.fixture
def d(proxy_director):
    return proxy_director()


# -- nginx mail_imap.t cases ----------------------------------------------

def test_login_without_arguments(d):
    with imap(d) as c:
        reply = c.command("a", "LOGIN")
        assert reply.startswith(b"a BAD") or reply.startswith(b"a NO")
    assert_serves(d)


def test_unsupported_mechanism(d):
    with imap(d) as c:
        reply = c.command("a", "AUTHENTICATE CRAM-MD5")
        assert reply.startswith(b"a NO") or reply.startswith(b"a BAD")
        reply = c.command("b", "AUTHENTICATE EXTERNAL =")
        assert reply.startswith(b"b NO") or reply.startswith(b"b BAD")
    assert_serves(d)


@pytest.mark.parametrize("cmd,ok", [
    (r'LOGIN "user501" "pass"', True),
    (r'LOGIN "user\\501" "pass"', False),     # user name user\501
    (r'LOGIN "user502" "pa\"ss"', False),     # password pa"ss
    ('LOGIN user503 {5}\r\npa\\ss', False),   # backslash inside a literal
], ids=["quoted", "escaped-backslash", "escaped-quote", "literal-backslash"])
def test_quoted_and_escapes(d, cmd, ok):
    with imap(d) as c:
        if "{5}" in cmd:
            head, body = cmd.split("\r\n")
            c.send("a %s\r\n" % head)
            assert c.line().startswith(b"+")
            c.send(body + "\r\n")
            reply = c.until("a ")[-1]
        else:
            reply = c.command("a", cmd)
        want = b"a OK" if ok else b"a NO [AUTHENTICATIONFAILED]"
        assert reply.startswith(want), reply
    assert_serves(d)


def test_pipelining_after_invalid_command(d):
    with imap(d) as c:
        c.send("a FOO\r\nb LOGIN user504 %s\r\nc SELECT INBOX\r\n" % PASS)
        lines = c.until("c ")
        tagged = [l for l in lines if not l.startswith(b"*")]
        assert tagged[0].startswith(b"a BAD"), lines
        assert tagged[1].startswith(b"b OK"), lines
        assert tagged[2].startswith(b"c OK"), lines


def test_rejected_command_with_nonsync_literal(d, backends):
    # the literal's bytes look like a command and must not run
    inner = "b LOGIN user505 %s\r\n" % PASS
    off = d.log_offset()
    with imap(d) as c:
        c.send("a FOO {%d+}\r\n%s\r\nc NOOP\r\n" % (len(inner), inner))
        lines = c.until("c ")
        assert lines[0].startswith(b"a BAD"), lines
        assert not any(l.startswith(b"b ") for l in lines), lines
    wait_closed(d, off, 1)
    nobody_logged_in(d, backends, "user505")
    assert_serves(d)


def test_syntax_error_with_nonsync_literal_closes(d, backends):
    inner = "b LOGIN user506 %s\r\n" % PASS
    with imap(d) as c:
        c.send('a LOGIN "x {%d+}\r\n%s' % (len(inner), inner))
        assert c.closed(timeout=5)
        assert b"b OK" not in c.pending
    nobody_logged_in(d, backends, "user506")
    assert_serves(d)


def test_pipelined_login_logout(d):
    with imap(d) as c:
        c.send("a LOGIN user507 %s\r\nb LOGOUT\r\n" % PASS)
        assert c.closed(timeout=5)
        assert b"a OK" in c.pending and b"b OK" in c.pending, c.pending


# -- limits -----------------------------------------------------------------

def test_tag_length_boundary(d):
    with imap(d) as c:
        tag = "t" * TAG_MAX
        assert c.command(tag, "NOOP").startswith(tag.encode() + b" OK")
        long_tag = "u" * (TAG_MAX + 1)
        c.send("%s NOOP\r\n" % long_tag)
        reply = c.line()
        assert b" BAD " in reply, reply
        assert not reply.startswith(long_tag.encode() + b" OK"), reply
    assert_serves(d)


@pytest.mark.parametrize("proto", ["imap", "pop3"])
def test_overlong_line_closes(d, proto):
    with (imap(d) if proto == "imap" else pop3(d)) as c:
        try:
            c.send(b"a NOOP " + b"x" * (200 * 1024))
        except OSError:
            pass        # the director may close while we still send
        assert c.closed(timeout=5)
    assert_serves(d)


def test_literal_length_overflow(d):
    with imap(d) as c:
        c.send("a LOGIN user1 {99999999999999999999}\r\n")
        reply = c.line()
        assert not reply.startswith(b"+"), reply
        assert b"BAD" in reply or b"BYE" in reply, reply
        c.send("b LOGIN {99999999999999999999+}\r\nxyz\r\n")
        c.closed(timeout=5)
    assert_serves(d)


@pytest.mark.parametrize("proto", ["imap", "pop3"])
def test_too_many_bad_commands(d, proto):
    with (imap(d) if proto == "imap" else pop3(d)) as c:
        for i in range(BAD_MAX):
            c.send("x%d FOO\r\n" % i if proto == "imap" else "FOO\r\n")
        assert c.closed(timeout=5)
        if proto == "imap":
            assert b"* BYE" in c.pending, c.pending
        else:
            assert c.rest()[-2].startswith(b"-ERR"), c.pending
    assert_serves(d)


@pytest.mark.parametrize("proto", ["imap", "pop3"])
def test_slowloris_closed_at_login_timeout(proxy_director, proto):
    d = proxy_director(settings={"login_timeout": "2 s"})
    c = imap(d) if proto == "imap" else pop3(d)
    with c:
        t0 = time.monotonic()
        closed = False
        for ch in "a LOGIN user508 pass\r\n":
            try:
                c.send(ch)
            except OSError:
                closed = True
                break
            if c.closed(timeout=1):
                closed = True
                break
        took = time.monotonic() - t0
        assert closed, "still open after %.1fs" % took
        assert 1.5 <= took <= 5, took
        assert b"inactivity" in c.pending, c.pending
    d.wait_log(r"login timeout")
    assert_serves(d)


def test_max_connections_per_ip(proxy_director, address_plan):
    d = proxy_director(settings={"max_connections_per_ip": "3"})
    src = "127.%d.2.8" % address_plan.slot
    off = d.log_offset()
    held = [imap(d, source=src) for _ in range(3)]
    try:
        with rawclient.RawClient(*d.listeners()["imap"], source=src) as c:
            line = c.line()
            assert line.startswith(b"* BYE [UNAVAILABLE]"), line
            assert c.closed(timeout=5)
        with rawclient.RawClient(*d.listeners()["pop3"], source=src) as c:
            line = c.line()
            assert line.startswith(b"-ERR [SYS/TEMP]"), line
        # other addresses are not affected
        assert_serves(d)
    finally:
        for c in held:
            c.close()
    wait_closed(d, off, 3)
    with imap(d, source=src) as c:
        assert c.command("a", "LOGIN user509 " + PASS).startswith(b"a OK")


def test_max_connections(proxy_director, address_plan):
    d = proxy_director(settings={"max_connections": "3"})
    off = d.log_offset()
    held = [imap(d, source="127.%d.2.%d" % (address_plan.slot, 10 + i))
            for i in range(3)]
    try:
        with rawclient.RawClient(*d.listeners()["imap"]) as c:
            line = c.line()
            assert line.startswith(b"* BYE [UNAVAILABLE]"), line
    finally:
        for c in held:
            c.close()
    wait_closed(d, off, 3)
    assert_serves(d)


def test_flood_of_connections(proxy_director):
    d = proxy_director(settings={"max_connections_per_ip": "20"})
    off = d.log_offset()
    clients = []
    refused = 0
    try:
        for _ in range(60):
            clients.append(rawclient.RawClient(*d.listeners()["imap"]))
        for c in clients:
            first = c.line()
            if first.startswith(b"* BYE [UNAVAILABLE]"):
                refused += 1
            else:
                assert first.startswith(b"* OK"), first
    finally:
        for c in clients:
            c.close()
    assert refused == 40, refused
    wait_closed(d, off, 20)
    assert_serves(d)


# -- the client or the daemon going away at awkward moments ---------------

def _silent_director(director_factory, address_plan, port=1143,
                     backend_settings=None, **settings):
    """A director whose one backend accepts and never greets."""
    ip = address_plan.backend_ip(8)
    silent = rawclient.SilentServer(ip, port)
    top = {"disable_plaintext_auth": "no"}
    top.update(settings)
    d = director_factory(1, mail_servers=[ip], settings=top,
                         backend_settings=backend_settings)
    return d, silent


# proto: (connect, login line, expected tempfail reply, backend port)
TEMPFAIL = {
    "imap": (imap, "a LOGIN user1 %s\r\n" % PASS, b"a NO [UNAVAILABLE]",
             1143),
    "pop3": (pop3, "AUTH PLAIN %s\r\n" % rawclient.sasl_plain("user1", PASS),
             b"-ERR [SYS/TEMP]", 1110),
}


@pytest.mark.parametrize("proto", sorted(TEMPFAIL))
def test_backend_down_tempfails(director_factory, address_plan, proto):
    connect, line, want, _ = TEMPFAIL[proto]
    # a backend address where nothing listens: connect refused
    d = director_factory(1, mail_servers=[address_plan.backend_ip(9)],
                         settings={"disable_plaintext_auth": "no"})
    with connect(d) as c:
        c.send(line)
        reply = c.line()
        assert reply.startswith(want), reply
    d.wait_log(r"login: user=<user1>.*result=tempfail")


@pytest.mark.parametrize("proto", sorted(TEMPFAIL))
def test_backend_never_greets(director_factory, address_plan, proto):
    connect, line, want, port = TEMPFAIL[proto]
    d, silent = _silent_director(director_factory, address_plan, port,
                                 backend_settings={"connect_timeout": "1 s"})
    try:
        with connect(d) as c:
            t0 = time.monotonic()
            c.send(line)
            reply = c.line()
            took = time.monotonic() - t0
            assert reply.startswith(want), reply
            assert 0.8 <= took < 5, took
        d.wait_log(r"result=tempfail, reason=backend timed out")
        assert silent.accepted, "the director never connected"
    finally:
        silent.stop()


def test_client_gone_during_backend_login(director_factory, address_plan):
    d, silent = _silent_director(director_factory, address_plan)
    try:
        with imap(d) as c:
            c.send("a LOGIN user510 %s\r\n" % PASS)
            time.sleep(0.3)
        d.wait_log(r"disconnected before login: .*state=backend-login")
        assert silent.accepted
    finally:
        silent.stop()


def test_login_timeout_during_backend_login(director_factory,
                                            address_plan):
    d, silent = _silent_director(director_factory, address_plan,
                                 login_timeout="2 s")
    try:
        with imap(d) as c:
            t0 = time.monotonic()
            c.send("a LOGIN user511 %s\r\n" % PASS)
            assert c.closed(timeout=6)
            assert 1.5 <= time.monotonic() - t0 <= 5
            assert b"* BYE" in c.pending, c.pending
        d.wait_log(r"login timeout: .*state=backend-login")
    finally:
        silent.stop()


def test_shutdown_with_live_sessions(proxy_director):
    d = proxy_director()
    proxied = imap(d)
    pre = imap(d)
    with proxied, pre:
        assert proxied.command("a", "LOGIN user512 " + PASS).startswith(
            b"a OK")
        assert d.stop() == 0
        assert proxied.closed(timeout=5)
        assert pre.closed(timeout=5)
        assert b"* BYE" in pre.pending, pre.pending
    d.wait_log(r"disconnect: user=<user512>.*closed_by=shutdown")


def test_kick_stops_a_login_on_its_way_to_the_backend(director_factory,
                                                      address_plan):
    # the login waits for a backend that never greets; a kick (what a
    # move does to the old backend) ends it at once with a temporary
    # failure instead of letting it land there later
    d, silent = _silent_director(director_factory, address_plan,
                                 backend_settings={"connect_timeout": "30 s"})
    try:
        with imap(d) as c:
            c.send("a LOGIN user1 %s\r\n" % PASS)
            time.sleep(0.5)             # routed, connected, no greeting
            with adminclient.AdminClient(d.admin_socket) as a:
                assert a.command("USER-KICK", "user1") == "OK"
            started = time.monotonic()
            reply = c.line(timeout=5)
            assert reply.startswith(b"a NO [UNAVAILABLE]"), reply
            assert time.monotonic() - started < 5
        d.wait_log(r"result=tempfail, reason=kicked during backend login")
    finally:
        silent.stop()
