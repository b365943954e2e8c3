"""OAuth 2.0 logins through the director: SASL OAUTHBEARER (RFC 7628) and
XOAUTH2 over IMAP, POP3 and ManageSieve, with and without an initial
response.

The director does not validate tokens.  It takes the user to route from
the message (OAUTHBEARER's GS2 header a=, XOAUTH2's user=), connects to
that user's backend and replays the client's message unchanged; the
backend asks the token's issuer.  Here the backends are real Dovecot 2.3
with an oauth2 passdb whose introspection endpoint is
harness/oauthserver.py: it counts the requests per token, so a test can
tell whether a refusal came from a backend (the token was introspected)
or from the director alone (it was not).

When a backend refuses a token it sends an error challenge (base64 JSON,
RFC 7628 3.2.3; Dovecot 2.3 sends one for XOAUTH2 too).  The director
relays it, relays the client's answer (OAUTHBEARER: the dummy ^A;
XOAUTH2: an empty response) and then the backend's failure reply.

Each test has its own directord (rejected-login penalties are per
director and per client address: a test fails at most one login from one
address) and its own users and tokens; the three backends and the
introspection endpoint serve the whole module.
"""
import base64
import imaplib
import itertools
import json
import os
import re
import secrets
import tempfile

import pytest

from harness import adminclient, dovecot, netutil, oauthserver, oracle, \
    rawclient
from harness.ring import backend_of

PASS = dovecot.USER_PASSWORD
MECHS = ("OAUTHBEARER", "XOAUTH2")
CONFIGURED = "plain login oauthbearer xoauth2"

# Dovecot 2.3's error challenge (decoded) for a token it refuses
BACKEND_CHALLENGE = {
    "OAUTHBEARER": {"status": "invalid_token"},
    "XOAUTH2": {"status": "401", "schemes": "bearer", "scope": "mail"},
}
# the client's answer to it: RFC 7628's dummy ^A, or XOAUTH2's empty line
DUMMY = {"OAUTHBEARER": b"\x01", "XOAUTH2": b""}
AUTH_FAILED = b"Authentication failed."

_users = itertools.count(700)


def new_user():
    """A user no other test of this module touches."""
    return "user%d" % next(_users)


def sasl_message(mech, user, token):
    """The client's first SASL message (text, not yet base64) for mech;
    user None leaves the user out (OAUTHBEARER's a=, XOAUTH2's user=)."""
    if mech == "OAUTHBEARER":
        authzid = "" if user is None else "a=%s" % user
        return "n,%s,\x01auth=Bearer %s\x01\x01" % (authzid, token)
    named = "" if user is None else "user=%s\x01" % user
    return "%sauth=Bearer %s\x01\x01" % (named, token)


def new_token(server, user, **kwargs):
    """A fresh token of user's, registered with the endpoint."""
    return server.issue("tok-" + secrets.token_hex(12), user, **kwargs)


def decode_challenge(b64):
    return json.loads(base64.b64decode(b64, validate=True))


# -- fixtures -----------------------------------------------------------------

@pytest.fixture(scope="module")
def oauth_server():
    with oauthserver.OAuthServer() as server:
        yield server


@pytest.fixture(scope="module")
def oauth_backends(address_plan, workroot, oauth_server):
    """Three Dovecot backends b1..b3 that take PLAIN/LOGIN passwords and
    OAUTHBEARER/XOAUTH2 tokens (introspected at oauth_server); auth
    failures are logged (auth_verbose), with their reason."""
    d = tempfile.mkdtemp(prefix="oa", dir=workroot)
    os.chmod(d, 0o755)
    conf = oauth_server.dovecot_passdb_conf(
        os.path.join(d, "oauth2.conf.ext"))
    bs = dovecot.start_backends(address_plan, d, 3,
                                extra_conf=conf + "auth_verbose = yes\n")
    yield bs
    dovecot.stop_backends(bs)
    oracle.check_no_overlap(bs)


@pytest.fixture
def oauth_director(director_factory, oauth_backends):
    """make(settings=None, **kw) -> a started directord in front of the
    OAuth backends with OAUTHBEARER and XOAUTH2 enabled, plaintext logins
    allowed and a ManageSieve listener; settings= merge (a value of None
    drops a setting)."""

    def make(settings=None, **kwargs):
        top = {"auth_mechanisms": CONFIGURED,
               "disable_plaintext_auth": "no"}
        top.update(settings or {})
        kwargs.setdefault("extra_listeners", {
            "sieve": {"protocol": "sieve", "port": netutil.SIEVE_PORT}})
        return director_factory(1, settings=top,
                                mail_servers=oauth_backends, **kwargs)

    return make


# -- helpers ------------------------------------------------------------------

def by_ip(backends, ip):
    (b,) = [b for b in backends if b.ip == ip]
    return b


def plain_backend(d, backends, user):
    """The backend that user's IMAP PLAIN logins through d reach."""
    off = d.log_offset()
    c = imaplib.IMAP4(*d.listeners()["imap"], timeout=30)
    try:
        c.login(user, PASS)
    finally:
        c.logout()
    return by_ip(backends, backend_of(d, user, off))


def other_user(d, backends, owner):
    """A user whose backend is not owner's (the first of several)."""
    for _ in range(20):
        user = new_user()
        if plain_backend(d, backends, user) is not owner:
            return user
    raise AssertionError("20 users, all on %s" % owner.name)


def assert_token_not_logged(d, token):
    # a bearer token is a password: the director never logs it
    assert token not in d.log_text(), "token in the director's log"


def assert_no_users(d):
    """The director has assigned nobody: it routed no login."""
    with adminclient.AdminClient(d.admin_socket) as a:
        assert a.list("USER-LIST") == []


def stored_on(backend, user, marker):
    """True if a message of user's maildir on backend contains marker."""
    for path, _, files in os.walk(backend.mail_dir(user)):
        if os.path.basename(path) not in ("cur", "new"):
            continue
        for name in files:
            with open(os.path.join(path, name), "rb") as f:
                if marker in f.read():
                    return True
    return False


def message(marker):
    return (b"From: oauth@example.test\r\nSubject: %s\r\n\r\n"
            b"sent in an OAuth session\r\n" % marker)


# IMAP

def imap_caps(c, tag="c"):
    c.send("%s CAPABILITY\r\n" % tag)
    lines = c.until(tag + " ")
    assert lines[-1].startswith(tag.encode() + b" OK"), lines
    (caps,) = [l for l in lines if l.startswith(b"* CAPABILITY ")]
    return caps.split()[2:]


def imap_auth(c, mech, text, ir=True, tag="a"):
    """Starts AUTHENTICATE mech with the SASL message text, as an initial
    response or after the server's empty continuation; returns the next
    line that is not untagged (the result or a challenge)."""
    b64 = rawclient.b64(text)
    if ir:
        c.send("%s AUTHENTICATE %s %s\r\n" % (tag, mech, b64))
    else:
        c.send("%s AUTHENTICATE %s\r\n" % (tag, mech))
        cont = c.line()
        assert cont.rstrip() == b"+", cont
        c.send(b64 + "\r\n")
    line = c.line()
    while line.startswith(b"* "):
        line = c.line()
    return line


def imap_append(c, tag, data):
    """APPEND data to INBOX with a synchronizing literal; the reply."""
    c.send("%s APPEND INBOX {%d}\r\n" % (tag, len(data)))
    cont = c.line()
    assert cont.startswith(b"+"), cont
    c.send(data + b"\r\n")
    return c.until(tag + " ")[-1]


class Responder:
    """imaplib's authobject: answers the first continuation with the SASL
    message, an error challenge with the dummy response; keeps the
    challenges it saw (decoded)."""

    def __init__(self, mech, text):
        self.mech = mech
        self.text = text.encode()
        self.challenges = []

    def __call__(self, challenge):
        self.challenges.append(challenge)
        if len(self.challenges) == 1:
            assert challenge == b"", challenge
            return self.text
        return DUMMY[self.mech]


# POP3

def pop3_capa(c):
    c.send("CAPA\r\n")
    lines = c.until(".")
    assert lines[0].startswith(b"+OK"), lines
    return lines[1:-1]


def pop3_auth(c, mech, text, ir=True):
    """Starts AUTH mech (RFC 5034) like imap_auth; the next line."""
    b64 = rawclient.b64(text)
    if ir:
        c.send("AUTH %s %s\r\n" % (mech, b64))
    else:
        c.send("AUTH %s\r\n" % mech)
        cont = c.line()
        assert cont.rstrip() == b"+", cont
        c.send(b64 + "\r\n")
    return c.line()


# ManageSieve (RFC 5804)

def sieve_connect(d, **kwargs):
    """A RawClient that has read the ManageSieve greeting; it and the
    capability lines."""
    c = rawclient.RawClient(*d.listeners()["sieve"], **kwargs)
    caps = c.until(b"OK")
    return c, caps[:-1]


def sieve_sasl_caps(caps):
    (line,) = [l for l in caps if l.startswith(b'"SASL"')]
    return re.match(rb'"SASL" "([^"]*)"$', line).group(1).split()


def sieve_string(c, line=None):
    """A server string on a line of its own, quoted or a literal; line:
    its first line if already read."""
    line = c.line() if line is None else line
    m = re.match(rb"\{(\d+)\+?\}$", line)
    if m:
        data = c.read_exact(int(m.group(1)))
        assert c.line() == b"", "literal not followed by CRLF"
        return data
    assert line.startswith(b'"') and line.endswith(b'"') and \
        len(line) >= 2, line
    return line[1:-1]


def sieve_auth(c, mech, text, ir=True):
    """Starts AUTHENTICATE "mech" like imap_auth; returns the next line
    (the result, or the first line of a challenge: see sieve_string)."""
    b64 = rawclient.b64(text)
    if ir:
        c.send('AUTHENTICATE "%s" "%s"\r\n' % (mech, b64))
    else:
        c.send('AUTHENTICATE "%s"\r\n' % mech)
        assert sieve_string(c) == b""
        c.send('"%s"\r\n' % b64)
    return c.line()


# -- capabilities -------------------------------------------------------------

def test_capabilities_list_oauth_when_configured(oauth_director):
    """With auth_mechanisms naming them, the director offers OAUTHBEARER
    and XOAUTH2 next to PLAIN and LOGIN: IMAP greeting and CAPABILITY,
    POP3 CAPA's SASL line, the ManageSieve SASL capability."""
    d = oauth_director()
    with rawclient.RawClient(*d.listeners()["imap"]) as c:
        greeting = c.line()
        assert b"AUTH=OAUTHBEARER AUTH=XOAUTH2" in greeting, greeting
        caps = imap_caps(c)
        for cap in (b"AUTH=PLAIN", b"AUTH=LOGIN", b"AUTH=OAUTHBEARER",
                    b"AUTH=XOAUTH2", b"SASL-IR"):
            assert cap in caps, caps
    with rawclient.pop3_connect(*d.listeners()["pop3"]) as c:
        assert b"SASL PLAIN LOGIN OAUTHBEARER XOAUTH2" in pop3_capa(c)
    c, caps = sieve_connect(d)
    with c:
        assert sieve_sasl_caps(caps) == [b"PLAIN", b"LOGIN", b"OAUTHBEARER",
                                         b"XOAUTH2"], caps


def test_default_director_offers_no_oauth(director_factory, oauth_backends,
                                          oauth_server):
    """Without auth_mechanisms the director offers PLAIN and LOGIN only,
    and refuses OAUTHBEARER and XOAUTH2 itself as unsupported mechanisms
    in all three protocols: no backend sees the token."""
    d = director_factory(
        1, settings={"disable_plaintext_auth": "no"},
        mail_servers=oauth_backends,
        extra_listeners={"sieve": {"protocol": "sieve",
                                   "port": netutil.SIEVE_PORT}})
    user = new_user()
    token = new_token(oauth_server, user)
    before = oauth_server.total()
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        caps = imap_caps(c)
        assert b"AUTH=PLAIN" in caps, caps
        assert not [x for x in caps if b"OAUTH" in x], caps
        for tag, mech in (("a", "OAUTHBEARER"), ("b", "XOAUTH2")):
            reply = imap_auth(c, mech, sasl_message(mech, user, token),
                              tag=tag)
            assert reply.startswith(tag.encode() + b" NO"), reply
            assert b"nsupported" in reply, reply
    with rawclient.pop3_connect(*d.listeners()["pop3"]) as c:
        (sasl,) = [l for l in pop3_capa(c) if l.startswith(b"SASL")]
        assert sasl == b"SASL PLAIN LOGIN", sasl
        reply = pop3_auth(c, "OAUTHBEARER",
                          sasl_message("OAUTHBEARER", user, token))
        assert reply.startswith(b"-ERR"), reply
    c, caps = sieve_connect(d)
    with c:
        assert sieve_sasl_caps(caps) == [b"PLAIN", b"LOGIN"], caps
        reply = sieve_auth(c, "XOAUTH2", sasl_message("XOAUTH2", user, token))
        assert reply.startswith(b"NO"), reply
    assert oauth_server.total() == before
    assert_no_users(d)


def test_oauth_needs_tls_like_plain(oauth_director, oauth_backends,
                                    oauth_server, tls_cert):
    """With disable_plaintext_auth = yes a client on a plaintext
    connection from elsewhere is offered no OAuth mechanism (a bearer
    token is as secret as a password) and its AUTHENTICATE OAUTHBEARER is
    refused without asking a backend; after STARTTLS both mechanisms are
    offered and a token logs in."""
    cert, key = tls_cert
    d = oauth_director(
        settings={"disable_plaintext_auth": "yes", "ssl_cert": cert,
                  "ssl_key": key},
        listen_settings={"imap": {"tls": "starttls"},
                         "pop3": {"tls": "starttls"}})
    user = new_user()
    token = new_token(oauth_server, user)
    text = sasl_message("OAUTHBEARER", user, token)
    with rawclient.pop3_connect(*d.listeners()["pop3"]) as c:
        capa = pop3_capa(c)
        assert not [l for l in capa if l.startswith(b"SASL")], capa
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        caps = imap_caps(c)
        assert b"LOGINDISABLED" in caps, caps
        assert not [x for x in caps if x.startswith(b"AUTH=")], caps
        reply = imap_auth(c, "OAUTHBEARER", text)
        assert reply.startswith(b"a NO"), reply
        assert oauth_server.count(token) == 0
        assert c.command("s", "STARTTLS").startswith(b"s OK")
        c.starttls()
        caps = imap_caps(c, "d")
        assert b"AUTH=OAUTHBEARER" in caps and b"AUTH=XOAUTH2" in caps, caps
        reply = imap_auth(c, "OAUTHBEARER", text, tag="e")
        assert reply.startswith(b"e OK"), reply
    assert oauth_server.count(token) == 1
    assert_token_not_logged(d, token)


# -- IMAP ---------------------------------------------------------------------

@pytest.mark.parametrize("form", ["sasl-ir", "imaplib"])
@pytest.mark.parametrize("mech", MECHS)
def test_imap_token_logs_in_on_the_users_backend(
        oauth_director, oauth_backends, oauth_server, mech, form):
    """A valid token logs in (with SASL-IR on a raw socket; without it,
    after the empty continuation, with imaplib, which never sends an
    initial response) on the backend of the user's PLAIN logins; that
    backend saw the OAuth mechanism itself (the director replayed the
    message, the backend asked the token's issuer once), and a message
    appended in the session is in that backend's maildir only."""
    d = oauth_director()
    user = new_user()
    owner = plain_backend(d, oauth_backends, user)
    token = new_token(oauth_server, user)
    text = sasl_message(mech, user, token)
    marker = b"oauth-%s-%s-%s" % (mech.encode(), form.encode(),
                                  user.encode())
    off = d.log_offset()
    if form == "imaplib":
        c = imaplib.IMAP4(*d.listeners()["imap"], timeout=30)
        try:
            typ, _ = c.authenticate(mech, Responder(mech, sasl_message(
                mech, user, token)))
            assert typ == "OK"
            typ, data = c.append("INBOX", None, None, message(marker))
            assert typ == "OK", data
        finally:
            c.logout()
    else:
        with rawclient.imap_connect(*d.listeners()["imap"]) as c:
            reply = imap_auth(c, mech, text)
            assert reply.startswith(b"a OK"), reply
            reply = imap_append(c, "b", message(marker))
            assert reply.startswith(b"b OK"), reply
            assert c.command("z", "LOGOUT").startswith(b"z OK")
    assert backend_of(d, user, off) == owner.ip
    owner.wait_log(r"imap-login: Info: Login: user=<%s>, method=%s, " %
                   (user, mech))
    assert oauth_server.count(token) == 1
    assert stored_on(owner, user, marker)
    for b in oauth_backends:
        if b is not owner:
            assert not stored_on(b, user, marker), b.name
    assert_token_not_logged(d, token)


@pytest.mark.parametrize("ir", [True, False], ids=["sasl-ir", "continuation"])
@pytest.mark.parametrize("mech", MECHS)
def test_imap_expired_token_gets_the_backends_challenge(
        oauth_director, oauth_backends, oauth_server, mech, ir):
    """An expired token: the client gets the backend's error challenge
    (Dovecot's JSON, relayed as is), answers with the dummy response, and
    gets the backend's NO; the user's backend asked the issuer and logged
    why, and the connection can log in afterwards."""
    d = oauth_director()
    user = new_user()
    owner = plain_backend(d, oauth_backends, user)
    token = new_token(oauth_server, user, lifetime=-60)
    off, boff = d.log_offset(), owner.log_offset()
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        line = imap_auth(c, mech, sasl_message(mech, user, token), ir=ir)
        assert line.startswith(b"+ "), line
        assert decode_challenge(line[2:]) == BACKEND_CHALLENGE[mech]
        assert oauth_server.count(token) == 1
        c.send(rawclient.b64(DUMMY[mech]) + "\r\n")
        reply = c.line()
        assert reply.startswith(b"a NO") and AUTH_FAILED in reply, reply
        # the refusal is over: the same connection logs in
        reply = c.command("b", "LOGIN %s %s" % (user, PASS))
        assert reply.startswith(b"b OK"), reply
    assert oauth_server.count(token) == 1
    owner.wait_log(r"oauth2\(%s,[^)]*\): oauth2 failed: Introspection "
                   r"failed: Provided token is not valid" % user,
                   offset=boff)
    d.wait_log(r"login: user=<%s>, client=[^,]*, backend=%s:\d+, "
               r"result=rejected" % (user, re.escape(owner.ip)), offset=off)
    assert_token_not_logged(d, token)


@pytest.mark.parametrize("mech", MECHS)
def test_imaplib_unknown_token_fails(oauth_director, oauth_backends,
                                     oauth_server, mech):
    """imaplib with a token the issuer never issued: imaplib's callback
    sees the backend's challenge and answers it, and authenticate()
    raises with the backend's text."""
    d = oauth_director()
    user = new_user()
    token = "never-issued-" + secrets.token_hex(8)
    responder = Responder(mech, sasl_message(mech, user, token))
    c = imaplib.IMAP4(*d.listeners()["imap"], timeout=30)
    try:
        with pytest.raises(imaplib.IMAP4.error) as e:
            c.authenticate(mech, responder)
        assert "[AUTHENTICATIONFAILED] Authentication failed." in \
            str(e.value), e.value
    finally:
        c.logout()
    assert len(responder.challenges) == 2, responder.challenges
    assert json.loads(responder.challenges[1]) == BACKEND_CHALLENGE[mech]
    assert oauth_server.count(token) == 1
    assert_token_not_logged(d, token)


@pytest.mark.parametrize("mech", MECHS)
def test_token_for_another_user_is_refused_by_the_backend(
        oauth_director, oauth_backends, oauth_server, mech):
    """A's token with B's name in the message (a=, user=): the director
    routes to B's backend, which asks the issuer, sees that the token is
    A's and refuses, so B's mailbox stays closed; the same token with A's
    name logs A in on A's backend."""
    d = oauth_director()
    owner_user = new_user()
    owner = plain_backend(d, oauth_backends, owner_user)
    victim = other_user(d, oauth_backends, owner)
    victims_backend = plain_backend(d, oauth_backends, victim)
    token = new_token(oauth_server, owner_user)
    off, boff = d.log_offset(), victims_backend.log_offset()
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        line = imap_auth(c, mech, sasl_message(mech, victim, token))
        assert line.startswith(b"+ "), line
        assert decode_challenge(line[2:]) == BACKEND_CHALLENGE[mech]
        c.send(rawclient.b64(DUMMY[mech]) + "\r\n")
        reply = c.line()
        assert reply.startswith(b"a NO") and AUTH_FAILED in reply, reply
    assert oauth_server.count(token) == 1
    victims_backend.wait_log(
        r"oauth2\(%s,[^)]*\): oauth2 failed: Introspection failed: "
        r"Username '%s' did not match '%s'" % (victim, victim, owner_user),
        offset=boff)
    d.wait_log(r"login: user=<%s>, client=[^,]*, backend=%s:\d+, "
               r"result=rejected" % (victim, re.escape(victims_backend.ip)),
               offset=off)
    assert not re.search(r"Login: user=<%s>, method=%s" % (victim, mech),
                         victims_backend.log_text(boff))
    off = d.log_offset()
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        reply = imap_auth(c, mech, sasl_message(mech, owner_user, token))
        assert reply.startswith(b"a OK"), reply
    assert oauth_server.count(token) == 2
    assert backend_of(d, owner_user, off) == owner.ip
    assert_token_not_logged(d, token)


@pytest.mark.parametrize("proto,mech", [("imap", "OAUTHBEARER"),
                                        ("pop3", "OAUTHBEARER"),
                                        ("sieve", "OAUTHBEARER"),
                                        ("imap", "XOAUTH2")])
def test_message_without_user_is_refused_by_the_director(
        oauth_director, oauth_server, proto, mech):
    """An OAUTHBEARER message without a= (or XOAUTH2 without user=) names
    nobody to route: the director refuses it itself (no backend
    assigned, the token never introspected), and the connection can log
    in afterwards."""
    d = oauth_director()
    user = new_user()
    token = new_token(oauth_server, user)
    anonymous = sasl_message(mech, None, token)
    named = sasl_message(mech, user, token)
    before = oauth_server.total()
    if proto == "imap":
        with rawclient.imap_connect(*d.listeners()["imap"]) as c:
            reply = imap_auth(c, mech, anonymous)
            assert reply.startswith(b"a NO"), reply
            assert oauth_server.total() == before
            assert_no_users(d)
            reply = imap_auth(c, mech, named, tag="b")
            assert reply.startswith(b"b OK"), reply
    elif proto == "pop3":
        with rawclient.pop3_connect(*d.listeners()["pop3"]) as c:
            reply = pop3_auth(c, mech, anonymous)
            assert reply.startswith(b"-ERR"), reply
            assert oauth_server.total() == before
            assert_no_users(d)
            reply = pop3_auth(c, mech, named)
            assert reply.startswith(b"+OK"), reply
    else:
        c, _ = sieve_connect(d)
        with c:
            reply = sieve_auth(c, mech, anonymous)
            assert reply.startswith(b"NO"), reply
            assert oauth_server.total() == before
            assert_no_users(d)
            reply = sieve_auth(c, mech, named)
            assert reply.startswith(b"OK"), reply
    assert oauth_server.total() == before + 1
    assert_token_not_logged(d, token)


# -- POP3 ---------------------------------------------------------------------

@pytest.mark.parametrize("ir", [True, False], ids=["ir", "continuation"])
@pytest.mark.parametrize("mech", MECHS)
def test_pop3_token_logs_in_on_the_users_backend(
        oauth_director, oauth_backends, oauth_server, mech, ir):
    """POP3 AUTH with a valid token, with an initial response or after
    the "+ " continuation: logged in on the user's backend, which saw the
    OAuth mechanism; the session works (STAT)."""
    d = oauth_director()
    user = new_user()
    owner = plain_backend(d, oauth_backends, user)
    token = new_token(oauth_server, user)
    off = d.log_offset()
    with rawclient.pop3_connect(*d.listeners()["pop3"]) as c:
        reply = pop3_auth(c, mech, sasl_message(mech, user, token), ir=ir)
        assert reply.startswith(b"+OK"), reply
        c.send("STAT\r\n")
        assert c.line().startswith(b"+OK")
        c.send("QUIT\r\n")
        assert c.line().startswith(b"+OK")
    assert backend_of(d, user, off) == owner.ip
    owner.wait_log(r"pop3-login: Info: Login: user=<%s>, method=%s, " %
                   (user, mech))
    assert oauth_server.count(token) == 1
    assert_token_not_logged(d, token)


@pytest.mark.parametrize("mech,ir", [("OAUTHBEARER", True),
                                     ("XOAUTH2", False)],
                         ids=["OAUTHBEARER-ir", "XOAUTH2-continuation"])
def test_pop3_expired_token_gets_the_backends_challenge(
        oauth_director, oauth_backends, oauth_server, mech, ir):
    """POP3 AUTH with an expired token: the backend's challenge relayed
    ("+ " and its base64 JSON), the dummy response, then the backend's
    -ERR."""
    d = oauth_director()
    user = new_user()
    owner = plain_backend(d, oauth_backends, user)
    token = new_token(oauth_server, user, lifetime=-60)
    boff = owner.log_offset()
    with rawclient.pop3_connect(*d.listeners()["pop3"]) as c:
        line = pop3_auth(c, mech, sasl_message(mech, user, token), ir=ir)
        assert line.startswith(b"+ "), line
        assert decode_challenge(line[2:]) == BACKEND_CHALLENGE[mech]
        c.send(rawclient.b64(DUMMY[mech]) + "\r\n")
        reply = c.line()
        assert reply.startswith(b"-ERR") and AUTH_FAILED in reply, reply
    assert oauth_server.count(token) == 1
    owner.wait_log(r"oauth2\(%s,[^)]*\): oauth2 failed: Introspection "
                   r"failed: Provided token is not valid" % user,
                   offset=boff)
    assert_token_not_logged(d, token)


# -- ManageSieve --------------------------------------------------------------

SCRIPT = b'require "fileinto";\r\nif header :contains "subject" "oauth" ' \
         b'{ fileinto "INBOX"; }\r\n'


@pytest.mark.parametrize("mech,ir", [("OAUTHBEARER", True),
                                     ("XOAUTH2", False)],
                         ids=["OAUTHBEARER-ir", "XOAUTH2-continuation"])
def test_sieve_token_logs_in_on_the_users_backend(
        oauth_director, oauth_backends, oauth_server, mech, ir):
    """ManageSieve AUTHENTICATE with a valid token (initial response, or
    the response to the empty challenge): logged in on the user's
    backend; a script put in the session lands in that backend's files,
    and LISTSCRIPTS shows it."""
    d = oauth_director()
    user = new_user()
    owner = plain_backend(d, oauth_backends, user)
    token = new_token(oauth_server, user)
    off = d.log_offset()
    c, _ = sieve_connect(d)
    with c:
        reply = sieve_auth(c, mech, sasl_message(mech, user, token), ir=ir)
        assert reply.startswith(b"OK"), reply
        c.send(b'PUTSCRIPT "oauth" {%d+}\r\n' % len(SCRIPT) + SCRIPT +
               b"\r\n")
        reply = c.line()
        assert reply.startswith(b"OK"), reply
        c.send("LISTSCRIPTS\r\n")
        lines = c.until(b"OK")
        assert b'"oauth"' in lines, lines
        c.send("LOGOUT\r\n")
        assert c.line().startswith(b"OK")
    assert backend_of(d, user, off) == owner.ip
    assert oauth_server.count(token) == 1
    path = os.path.join(owner.mail_dir(user), "sieve", "oauth.sieve")
    with open(path, "rb") as f:
        assert f.read() == SCRIPT
    for b in oauth_backends:
        if b is not owner:
            assert not os.path.exists(os.path.join(b.mail_dir(user),
                                                   "sieve"))
    assert_token_not_logged(d, token)


@pytest.mark.parametrize("mech,ir", [("OAUTHBEARER", True),
                                     ("XOAUTH2", False)],
                         ids=["OAUTHBEARER-ir", "XOAUTH2-continuation"])
def test_sieve_expired_token_gets_the_backends_challenge(
        oauth_director, oauth_backends, oauth_server, mech, ir):
    """ManageSieve AUTHENTICATE with an expired token: the backend's
    challenge relayed as a string, the dummy response sent as a string,
    then the backend's NO."""
    d = oauth_director()
    user = new_user()
    owner = plain_backend(d, oauth_backends, user)
    token = new_token(oauth_server, user, lifetime=-60)
    boff = owner.log_offset()
    c, _ = sieve_connect(d)
    with c:
        line = sieve_auth(c, mech, sasl_message(mech, user, token), ir=ir)
        challenge = sieve_string(c, line)
        assert decode_challenge(challenge) == BACKEND_CHALLENGE[mech]
        c.send('"%s"\r\n' % rawclient.b64(DUMMY[mech]))
        reply = c.line()
        assert reply.startswith(b"NO") and AUTH_FAILED in reply, reply
    assert oauth_server.count(token) == 1
    owner.wait_log(r"oauth2\(%s,[^)]*\): oauth2 failed: Introspection "
                   r"failed: Provided token is not valid" % user,
                   offset=boff)
    assert_token_not_logged(d, token)
