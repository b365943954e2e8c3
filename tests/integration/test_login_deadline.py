"""One login_timeout from accept covers both the PROXY header and the
login: a client (or a sender posing as haproxy) that sends its header
just before the timeout does not get a second full login_timeout for its
login."""
import time

import pytest

from harness import rawclient

IMAP_HA_PORT = 1144
POP3_HA_PORT = 1111
TIMEOUT = 3.0
# the header comes this long after connect, shortly before the timeout
HEADER_AFTER = 2.5
GREETING = {"imap": b"* OK", "pop3": b"+OK"}


@pytest.mark.parametrize("proto", ["imap", "pop3"])
def test_late_header_does_not_extend_the_login_deadline(proxy_director,
                                                         proto):
    d = proxy_director(
        settings={"haproxy_trusted_networks": "127.0.0.0/8",
                  "login_timeout": "%d s" % TIMEOUT},
        extra_listeners={
            "imapha": {"protocol": "imap", "port": IMAP_HA_PORT,
                       "haproxy": "yes"},
            "pop3ha": {"protocol": "pop3", "port": POP3_HA_PORT,
                       "haproxy": "yes"}})
    ip, port = d.listeners()[proto + "ha"]
    t0 = time.monotonic()
    with rawclient.RawClient(ip, port) as c:
        time.sleep(HEADER_AFTER)
        c.send(rawclient.proxy_v1("192.0.2.7", 40001, ip, port))
        assert c.line().startswith(GREETING[proto])
        # no login: the one deadline from accept ends the connection
        closed = c.closed(timeout=2 * TIMEOUT + 2)
        took = time.monotonic() - t0
    assert closed, "still open after %.1fs" % took
    # the old code allowed HEADER_AFTER + TIMEOUT (5.5 s)
    assert took < TIMEOUT + 1.5, took
    d.wait_log(r"login timeout: client=192\.0\.2\.7:40001")
