"""The backend sees the real client address: directly (the client's own
source address) and from a PROXY v1/v2 header on a haproxy listener, which
is honoured only from haproxy_trusted_networks; an untrusted sender is
refused and a malformed header closes the connection."""
import pytest

from harness import dovecot, rawclient

PASS = dovecot.USER_PASSWORD
IMAP_HA_PORT = 1144
POP3_HA_PORT = 1111


def client_source(address_plan):
    """A loopback source address that is neither the director's nor a
    backend's."""
    return "127.%d.2.7" % address_plan.slot


@pytest.fixture
def ha_director(proxy_director):
    def make(trusted="127.0.0.0/8"):
        return proxy_director(
            settings={"haproxy_trusted_networks": trusted},
            extra_listeners={
                "imapha": {"protocol": "imap", "port": IMAP_HA_PORT,
                           "haproxy": "yes"},
                "pop3ha": {"protocol": "pop3", "port": POP3_HA_PORT,
                           "haproxy": "yes"}})
    return make


def _backend(backends, d, user):
    m = d.wait_log(r"login: user=<%s>, client=([^,]*), backend=([^:]+):"
                   r"\d+, result=ok" % user)
    return m.group(1), backends.by_ip(m.group(2))


def test_backend_sees_client_address_imap(proxy_director, backends,
                                          address_plan):
    d = proxy_director()
    src = client_source(address_plan)
    with rawclient.imap_connect(*d.listeners()["imap"], source=src) as c:
        assert c.command("a", "LOGIN user300 " + PASS).startswith(b"a OK")
    client, b = _backend(backends, d, "user300")
    assert client.startswith(src + ":")
    b.wait_log(r"Login: user=<user300>.*rip=%s," % src)


def test_backend_sees_client_address_pop3(proxy_director, backends,
                                          address_plan):
    d = proxy_director()
    src = client_source(address_plan)
    with rawclient.pop3_connect(*d.listeners()["pop3"], source=src) as c:
        c.send("USER user301\r\nPASS %s\r\n" % PASS)
        assert c.line().startswith(b"+OK")
        assert c.line().startswith(b"+OK")
    _, b = _backend(backends, d, "user301")
    b.wait_log(r"pop3-login: Info: Login: user=<user301>.*rip=%s," % src,
               timeout=2)


HEADERS = {
    "v1": lambda ip, port: rawclient.proxy_v1("192.0.2.7", 40001, ip, port),
    "v2": lambda ip, port: rawclient.proxy_v2("192.0.2.7", 40001, ip, port),
}


@pytest.mark.parametrize("version", sorted(HEADERS))
@pytest.mark.parametrize("proto", ["imap", "pop3"])
def test_proxy_header_address_reaches_backend(ha_director, backends,
                                              version, proto):
    d = ha_director()
    user = "user31%d" % (sorted(HEADERS).index(version) +
                        (2 if proto == "pop3" else 0))
    ip, port = d.listeners()[proto + "ha"]
    c = rawclient.RawClient(ip, port)
    with c:
        # the header and the first command in one packet
        first = ("a LOGIN %s %s\r\n" % (user, PASS) if proto == "imap"
                 else "USER %s\r\nPASS %s\r\n" % (user, PASS))
        c.send(HEADERS[version](ip, port) + first.encode())
        assert c.line().startswith(b"* OK" if proto == "imap" else b"+OK")
        if proto == "imap":
            assert c.until("a ")[-1].startswith(b"a OK")
        else:
            assert c.line().startswith(b"+OK")
            assert c.line().startswith(b"+OK")
    client, b = _backend(backends, d, user)
    assert client == "192.0.2.7:40001", client
    b.wait_log(r"Login: user=<%s>.*rip=192\.0\.2\.7," % user, timeout=2)


def test_proxy_v2_local_uses_connection_address(ha_director, backends):
    d = ha_director()
    ip, port = d.listeners()["imapha"]
    with rawclient.RawClient(ip, port) as c:
        c.send(rawclient.proxy_v2(None, 0, None, 0, local=True))
        assert c.line().startswith(b"* OK")
        assert c.command("a", "LOGIN user320 " + PASS).startswith(b"a OK")
    client, _ = _backend(backends, d, "user320")
    assert client.startswith("127.0.0.1:"), client


def test_untrusted_sender_refused(ha_director, backends):
    d = ha_director(trusted="10.0.0.0/8")
    ip, port = d.listeners()["imapha"]
    with rawclient.RawClient(ip, port) as c:
        c.send(rawclient.proxy_v1("192.0.2.8", 40002, ip, port) +
               b"a LOGIN user321 " + PASS.encode() + b"\r\n")
        assert c.closed(timeout=5)
        assert b"OK" not in c.pending, c.pending
    d.wait_log(r"not in haproxy_trusted_networks")
    for b in backends:
        assert "user321" not in b.log_text()
    # the normal listener still works
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        assert c.command("a", "LOGIN user322 " + PASS).startswith(b"a OK")


MALFORMED = {
    "v1-garbage": b"PROXY TCP4 nonsense\r\n",
    "v1-bad-ip": b"PROXY TCP4 999.1.1.1 127.0.0.1 1 2\r\n",
    "v1-no-crlf": b"PROXY TCP4 192.0.2.1 127.0.0.1 1 2" + b"x" * 120,
    "v2-bad-version": rawclient.PROXY_V2_SIGNATURE + b"\x31\x11\x00\x0c" +
                      b"\0" * 12,
    "v2-short-addr": rawclient.PROXY_V2_SIGNATURE + b"\x21\x11\x00\x04" +
                     b"\0" * 4,
    "not-a-header": b"a LOGIN user1 pass\r\n",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_header_closes(ha_director, name):
    d = ha_director()
    ip, port = d.listeners()["imapha"]
    with rawclient.RawClient(ip, port) as c:
        c.send(MALFORMED[name])
        assert c.closed(timeout=5)
        assert c.pending == b"", c.pending
    d.wait_log(r"invalid PROXY header")
    with rawclient.RawClient(ip, port) as c:
        c.send(rawclient.proxy_v1("192.0.2.9", 1, ip, port))
        assert c.line().startswith(b"* OK")
        assert c.command("a", "LOGIN user323 " + PASS).startswith(b"a OK")


def test_proxy_header_then_implicit_tls(proxy_director, backends, tls_cert):
    # the header is read off the socket exactly, then TLS starts
    cert, key = tls_cert
    d = proxy_director(
        settings={"haproxy_trusted_networks": "127.0.0.0/8",
                  "ssl_cert": cert, "ssl_key": key},
        extra_listeners={"imapsha": {"protocol": "imap", "port": 1994,
                                     "haproxy": "yes", "tls": "implicit"}})
    ip, port = d.listeners()["imapsha"]
    with rawclient.RawClient(ip, port) as c:
        c.send(rawclient.proxy_v2("192.0.2.10", 40003, ip, port))
        c.starttls()
        assert c.line().startswith(b"* OK")
        assert c.command("a", "LOGIN user324 " + PASS).startswith(b"a OK")
    client, b = _backend(backends, d, "user324")
    assert client == "192.0.2.10:40003", client
    b.wait_log(r"Login: user=<user324>.*rip=192\.0\.2\.10,", timeout=2)
