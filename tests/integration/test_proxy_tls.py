"""TLS towards clients: STARTTLS/STLS on the plain listeners, implicit TLS
on imaps/pop3s listeners, with imaplib, poplib, curl and raw sockets;
logins (also master-user) after TLS; LOGINDISABLED / no AUTH= and
refused plaintext logins when disable_plaintext_auth = yes; STARTTLS
command injection."""
import imaplib
import poplib
import subprocess

import pytest

from harness import dovecot, rawclient

PASS = dovecot.USER_PASSWORD
IMAPS_PORT = 1993
POP3S_PORT = 1995


@pytest.fixture
def tls_director(director_factory, backends, tls_cert):
    """make(plaintext_auth=False) -> a director with STARTTLS on imap and
    pop3 and implicit-TLS imaps/pop3s listeners."""

    def make(plaintext_auth=False, **kwargs):
        cert, key = tls_cert
        settings = {"ssl_cert": cert, "ssl_key": key,
                    "auth_master_user_separator": dovecot.MASTER_SEPARATOR,
                    "disable_plaintext_auth":
                        "no" if plaintext_auth else "yes"}
        return director_factory(
            1, settings=settings,
            listen_settings={"imap": {"tls": "starttls"},
                             "pop3": {"tls": "starttls"}},
            extra_listeners={
                "imaps": {"protocol": "imap", "port": IMAPS_PORT,
                          "tls": "implicit"},
                "pop3s": {"protocol": "pop3", "port": POP3S_PORT,
                          "tls": "implicit"}},
            **kwargs)

    return make


def _url(d, scheme, listener):
    ip, port = d.listeners()[listener]
    return "%s://%s:%d/" % (scheme, ip, port)


def _curl(*args):
    return subprocess.run(["curl", "-sS", "-k", "--max-time", "10"] +
                          list(args), capture_output=True, text=True,
                          timeout=20)


def test_imap_plaintext_refused_and_logindisabled(tls_director):
    d = tls_director()
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        c.send("a CAPABILITY\r\n")
        caps = c.until("a ")[0]
        assert b"LOGINDISABLED" in caps and b"STARTTLS" in caps, caps
        assert b"AUTH=" not in caps, caps
        reply = c.command("b", "LOGIN user1 " + PASS)
        assert reply.startswith(b"b NO"), reply
        reply = c.command("c", "AUTHENTICATE PLAIN " +
                          rawclient.sasl_plain("user1", PASS))
        assert reply.startswith(b"c NO"), reply


def test_plaintext_allowed_from_local_ip(tls_director):
    # client address == listener address counts as local
    d = tls_director()
    ip, port = d.listeners()["imap"]
    with rawclient.imap_connect(ip, port, source=ip) as c:
        c.send("a CAPABILITY\r\n")
        caps = c.until("a ")[0]
        assert b"LOGINDISABLED" not in caps and b"AUTH=PLAIN" in caps
        assert c.command("b", "LOGIN user219 " + PASS).startswith(b"b OK")


def test_pop3_plaintext_refused(tls_director):
    d = tls_director()
    with rawclient.pop3_connect(*d.listeners()["pop3"]) as c:
        c.send("CAPA\r\n")
        lines = c.until(".")
        assert b"STLS" in lines
        assert not any(l.startswith(b"SASL") for l in lines), lines
        c.send("USER user1\r\nPASS %s\r\n" % PASS)
        replies = [c.line(), c.line()]
        assert any(r.startswith(b"-ERR") for r in replies), replies


IMAP_TLS_FORMS = ["login", "plain-ir", "master"]


@pytest.mark.parametrize("form", IMAP_TLS_FORMS)
@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_imap_tls_login(tls_director, backends, mode, form):
    d = tls_director()
    user = "user%d" % (200 + IMAP_TLS_FORMS.index(form))
    if mode == "implicit":
        c = rawclient.imap_connect(*d.listeners()["imaps"], tls=True)
    else:
        c = rawclient.imap_connect(*d.listeners()["imap"])
        assert c.command("t", "STARTTLS").startswith(b"t OK")
        c.starttls()
        c.send("x CAPABILITY\r\n")
        caps = c.until("x ")[0]
        assert b"AUTH=PLAIN" in caps and b"LOGINDISABLED" not in caps
    with c:
        if form == "login":
            reply = c.command("a", "LOGIN %s %s" % (user, PASS))
        elif form == "plain-ir":
            reply = c.command("a", "AUTHENTICATE PLAIN " +
                              rawclient.sasl_plain(user, PASS))
        else:
            reply = c.command("a", 'LOGIN "%s*%s" %s' % (
                user, dovecot.MASTER_USER, dovecot.MASTER_PASSWORD))
        assert reply.startswith(b"a OK"), reply
        assert c.command("b", "SELECT INBOX").startswith(b"b OK")
    d.wait_log(r"login: user=<%s[^>]*>.*result=ok" % user)


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_pop3_tls_login(tls_director, mode):
    d = tls_director()
    user = "user210"
    if mode == "implicit":
        c = rawclient.pop3_connect(*d.listeners()["pop3s"], tls=True)
    else:
        c = rawclient.pop3_connect(*d.listeners()["pop3"])
        c.send("STLS\r\n")
        assert c.line().startswith(b"+OK")
        c.starttls()
    with c:
        c.send("AUTH PLAIN %s\r\n" % rawclient.sasl_plain(
            user + dovecot.MASTER_SEPARATOR + dovecot.MASTER_USER,
            dovecot.MASTER_PASSWORD))
        assert c.line().startswith(b"+OK")
        c.send("STAT\r\n")
        assert c.line().startswith(b"+OK")


def test_imaplib_and_poplib_tls(tls_director):
    d = tls_director()
    ctx = rawclient.client_tls_context()
    m = imaplib.IMAP4_SSL(*d.listeners()["imaps"], ssl_context=ctx,
                          timeout=10)
    try:
        assert m.login("user211", PASS)[0] == "OK"
    finally:
        m.logout()
    m = imaplib.IMAP4(*d.listeners()["imap"], timeout=10)
    try:
        m.starttls(ssl_context=ctx)
        assert m.login("user212", PASS)[0] == "OK"
    finally:
        m.logout()
    p = poplib.POP3_SSL(*d.listeners()["pop3s"], context=ctx, timeout=10)
    try:
        p.user("user213")
        p.pass_(PASS)
        assert p.stat() == (0, 0)
    finally:
        p.quit()
    p = poplib.POP3(*d.listeners()["pop3"], timeout=10)
    try:
        p.stls(context=ctx)
        p.user("user214")
        p.pass_(PASS)
        assert p.stat() == (0, 0)
    finally:
        p.quit()


@pytest.mark.parametrize("args", [
    ("imaps", "imaps", []), ("imap", "imap", ["--ssl-reqd"]),
    ("pop3s", "pop3s", []), ("pop3", "pop3", ["--ssl-reqd"])],
    ids=["imaps", "imap-starttls", "pop3s", "pop3-stls"])
def test_curl_tls(tls_director, args):
    scheme, listener, extra = args
    d = tls_director()
    r = _curl(*(extra + ["-u", "user215:" + PASS,
                         _url(d, scheme, listener)]))
    assert r.returncode == 0, r.stderr
    if scheme.startswith("imap"):
        assert "INBOX" in r.stdout


def test_imap_starttls_injection(tls_director, backends):
    d = tls_director(plaintext_auth=True)
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        # one packet: what follows STARTTLS must be dropped, not run
        c.send("a STARTTLS\r\nb LOGIN user216 %s\r\n" % PASS)
        reply = c.line()
        assert reply.startswith(b"a OK"), reply
        c.pending = b""
        try:
            c.starttls()
            c.send("c NOOP\r\n")
            lines = c.until("c ")
            assert not any(l.startswith(b"b ") for l in lines), lines
        except (OSError, EOFError):
            pass            # closing the connection is fine too
    assert "user216" not in d.log_text()
    for b in backends:
        assert "user=<user216>" not in b.log_text()
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        assert c.command("z", "LOGIN user217 " + PASS).startswith(b"z OK")


def test_pop3_stls_injection(tls_director, backends):
    d = tls_director(plaintext_auth=True)
    with rawclient.pop3_connect(*d.listeners()["pop3"]) as c:
        c.send("STLS\r\nUSER user218\r\nPASS %s\r\n" % PASS)
        assert c.line().startswith(b"+OK")
        c.pending = b""
        try:
            c.starttls()
            c.send("NOOP\r\n")
            c.line()
        except (OSError, EOFError):
            pass
    assert "user218" not in d.log_text()
    for b in backends:
        assert "user=<user218>" not in b.log_text()
