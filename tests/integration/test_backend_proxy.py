"""PROXY protocol v2 toward backends (issue #15): with backend {
proxy_protocol = yes } every backend connection opens with a PROXY v2
header that carries the client's addresses, instead of IMAP ID and
XCLIENT.  The backends here are real Dovecot 2.3 whose IMAP, POP3, LMTP
and ManageSieve listeners take haproxy = yes (they refuse a connection without a
header) and which trust no login network, so the client's address in
their logs can only have come from the header.  The clients are Python's
imaplib, poplib and smtplib (and a raw ManageSieve client), each
connecting from an address of its own.
"""
import imaplib
import poplib
import smtplib
import socket

import pytest

from harness import dovecot, netutil, rawclient

PASS = dovecot.USER_PASSWORD


def sourced(base, source):
    """base (imaplib's or poplib's client class), connecting from the
    local address source."""

    class Sourced(base):
        def _create_socket(self, timeout):
            sock = socket.create_connection((self.host, self.port), timeout,
                                            source_address=(source, 0))
            if isinstance(self, imaplib.IMAP4_SSL):
                return self.ssl_context.wrap_socket(
                    sock, server_hostname=self.host)
            return sock

    return Sourced


@pytest.fixture
def proxied(backend_factory, director_factory):
    """A director in front of one haproxy-only Dovecot backend."""
    b = backend_factory(1, first=4, haproxy=True)[0]
    d = director_factory(1, mail_servers=[b.ip],
                         settings={"disable_plaintext_auth": "no"},
                         backend_settings={"proxy_protocol": "yes"})
    return d, b


def _source(address_plan, n):
    return "127.%d.2.%d" % (address_plan.slot, n)


def test_imap_backend_sees_the_client(proxied, address_plan):
    d, b = proxied
    src = _source(address_plan, 31)
    off = b.log_offset()
    c = sourced(imaplib.IMAP4, src)(*d.listeners()["imap"], timeout=30)
    try:
        assert c.login("user401", PASS)[0] == "OK"
        assert c.select("INBOX")[0] == "OK"
    finally:
        c.logout()
    m = b.wait_log(r"imap-login: Info: Login: user=<user401>.*rip=%s,.*" %
                   src.replace(".", r"\."), offset=off, timeout=10)
    # plaintext: the header has no TLS TLV, and Dovecot says so
    assert ", secured," not in m.group(0), m.group(0)
    d.wait_log(r"login: user=<user401>.*result=ok")


def test_pop3_backend_sees_the_client(proxied, address_plan):
    d, b = proxied
    src = _source(address_plan, 32)
    off = b.log_offset()
    c = sourced(poplib.POP3, src)(*d.listeners()["pop3"], timeout=30)
    try:
        c.user("user402")
        assert c.pass_(PASS).startswith(b"+OK")
        assert c.stat()[0] >= 0
    finally:
        c.quit()
    b.wait_log(r"pop3-login: Info: Login: user=<user402>.*rip=%s," %
               src.replace(".", r"\."), offset=off, timeout=10)


def test_lmtp_backend_sees_the_client(proxied, address_plan):
    d, b = proxied
    src = _source(address_plan, 33)
    off = b.log_offset()
    with smtplib.LMTP(*d.listeners()["lmtp"], timeout=30,
                      source_address=(src, 0)) as s:
        s.ehlo("mta.example.test")
        s.mail("sender@example.test")
        assert s.rcpt("user403")[0] == 250
        assert s.data(b"Subject: proxied\r\n\r\nbody\r\n")[0] == 250
    b.wait_log(r"lmtp\(\d+\): Info: Connect from %s" % src.replace(".", r"\."),
               offset=off, timeout=10)
    b.wait_log(r"lmtp\(user403\).*saved mail to INBOX", offset=off,
               timeout=10)


def test_without_the_switch_a_haproxy_backend_refuses(backend_factory,
                                                      director_factory):
    # the control: the same backend without a header is a temporary
    # failure, so the tests above prove that the header went out
    b = backend_factory(1, first=4, haproxy=True)[0]
    d = director_factory(1, mail_servers=[b.ip],
                         settings={"disable_plaintext_auth": "no",
                                   "login_timeout": "10 s"},
                         backend_settings={"connect_timeout": "3 s"})
    c = imaplib.IMAP4(*d.listeners()["imap"], timeout=30)
    try:
        with pytest.raises(imaplib.IMAP4.error) as e:
            c.login("user404", PASS)
        assert "UNAVAILABLE" in str(e.value), e.value
    finally:
        c.shutdown()


def test_tls_client_is_said_in_the_header(backend_factory, director_factory,
                                          tls_cert, address_plan):
    import ssl
    cert, key = tls_cert
    b = backend_factory(1, first=4, haproxy=True)[0]
    d = director_factory(1, mail_servers=[b.ip],
                         settings={"ssl_cert": cert, "ssl_key": key},
                         backend_settings={"proxy_protocol": "yes"},
                         extra_listeners={"imaps": {"protocol": "imap",
                                                    "port": 1993,
                                                    "tls": "implicit"}})
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    src = _source(address_plan, 34)
    off = b.log_offset()
    c = sourced(imaplib.IMAP4_SSL, src)(*d.listeners()["imaps"],
                                         ssl_context=ctx, timeout=30)
    try:
        assert c.login("user405", PASS)[0] == "OK"
    finally:
        c.logout()
    m = b.wait_log(r"imap-login: Info: Login: user=<user405>.*rip=%s,.*" %
                   src.replace(".", r"\."), offset=off, timeout=10)
    # the TLS TLV: Dovecot takes the session as secured
    assert ", secured," in m.group(0), m.group(0)


def test_sieve_backend_sees_the_client(backend_factory, director_factory,
                                       address_plan):
    b = backend_factory(1, first=4, haproxy=True)[0]
    d = director_factory(1, mail_servers=[b.ip],
                         settings={"disable_plaintext_auth": "no"},
                         backend_settings={"proxy_protocol": "yes"},
                         extra_listeners={"sieve": {
                             "protocol": "sieve",
                             "port": netutil.SIEVE_PORT}})
    src = _source(address_plan, 35)
    off = b.log_offset()
    with rawclient.RawClient(*d.listeners()["sieve"], source=src) as c:
        c.until(b"OK")
        c.send('AUTHENTICATE "PLAIN" "%s"\r\n' %
               rawclient.sasl_plain("user406", PASS))
        assert c.line().startswith(b"OK")
        c.send("LOGOUT\r\n")
        assert c.line().startswith(b"OK")
    b.wait_log(r"managesieve-login: Info: Login: user=<user406>.*rip=%s," %
               src.replace(".", r"\."), offset=off, timeout=10)
