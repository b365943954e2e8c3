"""Routing through real logins: one user through 50 connections (in a row
and at the same time) always lands on the same backend; 200 users spread
over the backends, for the dovecot method exactly as a reference Dovecot
vhost ring (checked against the golden vectors of a real Dovecot director)
says; the backends' logs (oracle) agree with the director's log; the
registry keeps a user's backend after the session ended."""
import bisect
import hashlib
import os
import re
import threading
import time

import pytest

from harness import dovecot, oracle, rawclient

PASS = dovecot.USER_PASSWORD
VECTORS = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "vectors", "dovecot_select.tsv")


def _md5_u32(text):
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:4], "big")


def user_hash(name):
    """Dovecot's director user hash for director_username_hash = %Lu."""
    # %L is an ASCII-only lowercase in Dovecot
    data = name.encode().lower()
    return int.from_bytes(hashlib.md5(data).digest()[:4], "big") or 1


def dovecot_ring_pick(ips, h, vhosts=100):
    """The backend Dovecot 2.3's vhost ring gives user hash h: the first
    point >= h (wrapping), points MD5("<ip>-<i>") for i < vhosts.  ips
    must be IPv4 strings."""
    ring = sorted((_md5_u32("%s-%d" % (ip, i)), tuple(map(int,
                  ip.split("."))), ip) for ip in ips for i in range(vhosts))
    keys = [p[0] for p in ring]
    idx = bisect.bisect_left(keys, h)
    return ring[idx % len(ring)][2]


def test_reference_ring_matches_real_dovecot():
    # the 3-host set of the golden vectors: the reference used below is
    # right for the hosts Dovecot itself answered for
    hosts, users = [], []
    with open(VECTORS) as f:
        for line in f:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if fields[:2] == ["host", "h3"]:
                hosts.append(fields[2])
            elif fields[:2] == ["user", "h3"] and fields[2] == "":
                users.append((fields[3], int(fields[4]), fields[5]))
    assert len(hosts) == 3 and len(users) >= 50, (hosts, len(users))
    for name, h, want in users:
        assert user_hash(name) == h, name
        assert dovecot_ring_pick(hosts, h) == want, name


def login(d, user, proto="imap"):
    if proto == "imap":
        with rawclient.imap_connect(*d.listeners()["imap"]) as c:
            reply = c.command("a", "LOGIN %s %s" % (user, PASS))
            assert reply.startswith(b"a OK"), (user, reply)
            c.command("b", "LOGOUT")
    else:
        with rawclient.pop3_connect(*d.listeners()["pop3"]) as c:
            c.send("USER %s\r\nPASS %s\r\nQUIT\r\n" % (user, PASS))
            assert [c.line()[:3] for _ in range(3)] == [b"+OK"] * 3


def set_mail_servers(d, ips):
    """Reconfigures d's director_mail_servers and reloads it; returns the
    log offset from before the reload."""
    d.mail_servers = ips
    d.write_config()
    off = d.log_offset()
    d.reload()
    d.wait_log(r"configuration reloaded", offset=off)
    return off


def director_choices(d, offset=0):
    """{user: set of backend IPs} from the director's login lines."""
    out = {}
    for m in re.finditer(
            r"login: user=<([^>]*)>, client=[^,]*, backend=([^:]+):\d+, "
            r"result=ok", d.log_text(offset)):
        out.setdefault(m.group(1), set()).add(m.group(2))
    return out


def oracle_choices(backends, users, since=0.0):
    """{user: set of backend IPs} of the backends' logins since then."""
    out = {}
    for s in backends.sessions():
        if s.user in users and s.start >= since:
            out.setdefault(s.user, set()).add(backends.by_name(
                s.backend).ip)
    return out


def test_same_user_50_connections(proxy_director, backends):
    d = proxy_director()
    t0 = time.time()
    user = "user600"
    for i in range(25):
        login(d, user, "imap" if i % 2 else "pop3")
    errors = []

    def one():
        try:
            login(d, user)
        except Exception as e:      # reported below
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    seen = director_choices(d)[user]
    assert len(seen) == 1, seen
    assert len(re.findall(r"login: user=<%s>.*result=ok" % user,
                          d.log_text())) == 50
    assert oracle_choices(backends, {user}, since=t0)[user] == seen


@pytest.mark.parametrize("method", ["dovecot", "rendezvous"])
def test_200_users_spread(proxy_director, backends, method):
    d = proxy_director(settings={"director_hashing": method})
    t0 = time.time()
    users = ["user%d" % i for i in range(700, 900)]
    for u in users:
        login(d, u)
    chosen = director_choices(d)
    assert set(chosen) == set(users)
    assert all(len(v) == 1 for v in chosen.values())
    per_backend = {}
    for u in users:
        ip = next(iter(chosen[u]))
        per_backend[ip] = per_backend.get(ip, 0) + 1
        if method == "dovecot":
            assert ip == dovecot_ring_pick(backends.ips, user_hash(u)), u
    # every backend gets a reasonable share (expected 66 each)
    assert sorted(per_backend) == sorted(backends.ips), per_backend
    assert min(per_backend.values()) >= 40, per_backend
    # the backends saw exactly these logins (the oracle's view)
    assert oracle_choices(backends, set(users), since=t0) == chosen
    oracle.check_no_overlap(backends)


def test_assignment_survives_new_backend(proxy_director, backends):
    # a user whom the ring moves to b3 once b3 is added keeps the backend
    # the registry gave it while b3 was not yet configured
    ips = backends.ips
    user = next(u for u in ("user%d" % i for i in range(1000))
                if dovecot_ring_pick(ips, user_hash(u)) == ips[2])
    d = proxy_director(settings={"director_hashing": "dovecot"})
    off = set_mail_servers(d, ips[:2])
    login(d, user)
    first = director_choices(d, off)[user]
    assert first == {dovecot_ring_pick(ips[:2], user_hash(user))}
    off = set_mail_servers(d, ips)
    login(d, user)
    assert director_choices(d, off)[user] == first
    # a user never seen before does go to the new backend
    other = next(u for u in ("user%d" % i for i in range(999, 0, -1))
                 if dovecot_ring_pick(ips, user_hash(u)) == ips[2])
    login(d, other)
    assert director_choices(d, off)[other] == {ips[2]}


def test_assignment_persists_after_session(proxy_director, backends):
    d = proxy_director()
    user = "user601"
    login(d, user)
    first = director_choices(d)[user]
    off = d.log_offset()
    login(d, user, "pop3")
    assert director_choices(d, off)[user] == first


def test_removed_backend_kicked_before_its_users_move(proxy_director,
                                                      backends):
    # b is removed from the configuration while user has a live session
    # there: the session is kicked, and the user's next login waits the
    # kick delay before it reaches another backend (never two at once)
    d = proxy_director(settings={"director_user_kick_delay": "2 s"})
    user = "user77"
    with rawclient.imap_connect(*d.listeners()["imap"]) as live:
        assert live.command("a", "LOGIN %s %s" % (user, PASS)).startswith(
            b"a OK")
        (old,) = director_choices(d)[user]
        d.mail_servers = [ip for ip in backends.ips if ip != old]
        d.write_config()
        off = d.log_offset()
        reloaded_at = time.monotonic()
        d.reload()
        d.wait_log(r"backend %s removed \(no longer in "
                   r"director_mail_servers\): \d+ users forgotten, 1 "
                   r"sessions kicked" % re.escape(old), offset=off)
        assert live.closed(timeout=5)
    login(d, user)
    assert time.monotonic() - reloaded_at >= 1.9
    (new,) = director_choices(d, off)[user]
    assert new != old
    backends.check_no_overlap()
