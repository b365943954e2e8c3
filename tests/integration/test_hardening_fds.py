"""File descriptors (issue #13 item 8): directord raises its soft
RLIMIT_NOFILE to what max_connections needs, and a flood of connections
on one listener leaves the admin socket (and, while descriptors last,
the other listeners) answering."""
import resource
import socket

from harness import adminclient, rawclient

FLOOD = 400


def _limit(soft, hard):
    def preexec():
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return preexec


def _flood(ip, port, count=FLOOD):
    socks = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect((ip, port))
        socks.append(s)
    return socks


def _admin_answers(d):
    with adminclient.AdminClient(d.admin_socket, timeout=5) as c:
        c.send("HOST-LIST")
        c.line()


def _make(director_factory, soft, hard):
    return director_factory(
        1, preexec=_limit(soft, hard),
        settings={"disable_plaintext_auth": "no",
                  "max_connections_per_ip": "0"})


def test_soft_limit_is_raised_and_a_flood_stops_nothing(director_factory):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    d = _make(director_factory, 256, hard)
    socks = _flood(*d.listeners()["imap"])
    try:
        _admin_answers(d)
        with rawclient.pop3_connect(*d.listeners()["pop3"]) as c:
            c.send("QUIT\r\n")
            assert c.line().startswith(b"+OK")
    finally:
        for s in socks:
            s.close()


def test_admin_answers_when_descriptors_run_out(director_factory):
    d = _make(director_factory, 256, 256)
    d.wait_log(r"RLIMIT_NOFILE.*max_connections")
    socks = _flood(*d.listeners()["imap"])
    try:
        d.wait_log(r"listen imap: accept: Too many open files")
        for _ in range(3):
            _admin_answers(d)
    finally:
        for s in socks:
            s.close()
    # and once the flood is gone, the listener serves again
    with rawclient.imap_connect(*d.listeners()["imap"], timeout=5) as c:
        assert c.command("a", "LOGOUT").startswith(b"a OK")
