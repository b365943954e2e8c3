"""The director ring with real processes on loopback: three (and five)
directors handshake and sync; one user logging in through every director
lands on one backend; a host change made on one director is visible on
all of them before its admin command answers; a move made on one director
kicks the user's live session on another; a director killed with -9
leaves the others serving its users, and when it comes back it gets the
whole state from the ring.  The invariant oracle reads the backends' logs
at the end of each test."""
import os
import time

import pytest

from harness import certs, netutil
from harness.ring import admin, backend_of, host_list, imap_login, lookup, \
    ring_servers

SYNCED = r"ring: (handshaked with|synced)"


def test_three_directors_one_backend_per_user(ring, backends):
    ds = ring(3)
    for n in range(12):
        user = "user%d" % (700 + n)
        seen = set()
        # the first login makes the assignment on one director; the
        # others must take it from the ring, not hash on their own
        for d in ds[n % 3:] + ds[:n % 3]:
            off = d.log_offset()
            with imap_login(d, user) as c:
                c.command("z", "LOGOUT")
            seen.add(backend_of(d, user, off))
        assert len(seen) == 1, (user, seen)
        for d in ds:
            assert lookup(d, user)[0] in seen, (d.name, user)
    backends.check_no_overlap()


def test_host_change_visible_everywhere_before_reply(ring, backends):
    ds = ring(3)
    extra = "127.0.9.91"
    with admin(ds[0]) as a:
        assert a.command("HOST-SET", extra, "7") == "OK"
    # the reply came only after the change went around the ring
    for d in ds:
        assert host_list(d)[extra][0] == "7", d.name
    with admin(ds[1]) as a:
        assert a.command("HOST-DOWN", extra) == "OK"
    for d in ds:
        assert host_list(d)[extra][3] == "D", (d.name, host_list(d))
    with admin(ds[2]) as a:
        assert a.command("HOST-REMOVE", extra) == "OK"
    for d in ds:
        assert extra not in host_list(d), d.name
    # every director agrees on the backend list (user counts aside)
    lists = [sorted((ip, f[0], f[2], f[3]) for ip, f in host_list(d).items())
             for d in ds]
    assert lists[0] == lists[1] == lists[2]


def test_move_on_one_director_kicks_session_on_another(ring, backends):
    ds = ring(3, settings={"director_user_kick_delay": "1 s"})
    user = "user720"
    live = imap_login(ds[1], user)
    old = backend_of(ds[1], user)
    new = next(ip for ip in backends.ips if ip != old)
    with admin(ds[0]) as a:
        t0 = time.monotonic()
        assert a.command("USER-MOVE", user, new) == "OK"
        took = time.monotonic() - t0
    # the move answered after the kick went around and the delay passed
    assert took >= 0.9, took
    with pytest.raises((EOFError, ConnectionError, OSError)):
        for _ in range(50):
            live.command("n", "NOOP")
            time.sleep(0.05)
    live.close()
    for d in ds:
        assert lookup(d, user)[0] == new, d.name
    off = ds[2].log_offset()
    with imap_login(ds[2], user) as c:
        c.command("z", "LOGOUT")
    assert backend_of(ds[2], user, off) == new
    backends.check_no_overlap()


def test_killed_director_rejoins_with_the_ring_state(ring, backends):
    ds = ring(3)
    users = ["user%d" % (730 + n) for n in range(8)]
    where = {}
    for u in users:
        off = ds[0].log_offset()
        with imap_login(ds[0], u) as c:
            c.command("z", "LOGOUT")
        where[u] = backend_of(ds[0], u, off)
    victim = ds[2]
    victim.kill()
    victim.expect_exit = None
    # the others go on serving the users where they are
    for d in ds[:2]:
        d.wait_log(r"ring: (lost a neighbour|director .* (ping timed out"
                   r"|connection closed))", timeout=15)
    for u in users[:4]:
        off = ds[1].log_offset()
        with imap_login(ds[1], u) as c:
            c.command("z", "LOGOUT")
        assert backend_of(ds[1], u, off) == where[u], u
    off = victim.log_offset()
    victim.start()
    victim.wait_log(r"ring: handshaked with 3 directors", offset=off,
                    timeout=20)
    # the restarted director got every assignment from the ring
    for u in users:
        assert lookup(victim, u)[0] == where[u], u
    for d in ds[:2]:
        d.wait_log(SYNCED, timeout=10)
    backends.check_no_overlap()


def test_five_directors(ring, backends):
    ds = ring(5)
    user = "user750"
    seen = set()
    for d in ds:
        off = d.log_offset()
        with imap_login(d, user) as c:
            c.command("z", "LOGOUT")
        seen.add(backend_of(d, user, off))
    assert len(seen) == 1, seen
    with admin(ds[3]) as a:
        lines = a.list("DIRECTOR-LIST")
    assert len(lines) == 5, lines


def test_hashing_mismatch_refused_with_a_clear_log(ring, director_factory,
                                                   address_plan):
    servers = ring_servers(address_plan, 2)
    ds = []
    for i, method in ((1, "rendezvous"), (2, "dovecot")):
        ds.append(director_factory(
            i, director_servers=servers,
            settings={"director_hashing": method},
            extra_listeners={"ring": {"port": netutil.RING_PORT}}))
    # whoever accepts the other's connection refuses it and says why
    m = None
    for d in ds:
        try:
            m = d.wait_log(r"hashing method differs from ours[^\n]*"
                           r"director_hashing = \w+", timeout=10)
            break
        except TimeoutError:
            continue
    assert m is not None
    for d in ds:
        with admin(d) as a:
            rows = a.list("DIRECTOR-LIST")
        assert not any(r[2] in ("left", "right", "left,right")
                       for r in rows), (d.name, rows)


def test_director_remove_and_add_back(ring):
    ds = ring(3)
    gone = ds[2]
    with admin(ds[0]) as a:
        assert a.command("DIRECTOR-REMOVE", gone.ip) == "OK"
    # the two others closed the ring without it
    for d in ds[:2]:
        with admin(d) as a:
            rows = {(r[0], r[2]) for r in a.list("DIRECTOR-LIST")}
        assert (gone.ip, "left") not in rows and \
            (gone.ip, "right") not in rows, (d.name, rows)
    # the offset before the command: the ring may sync again before the
    # command's OK is read
    off = ds[0].log_offset()
    with admin(ds[1]) as a:
        assert a.command("DIRECTOR-ADD", gone.ip,
                         str(netutil.RING_PORT)) == "OK"
    ds[0].wait_log(SYNCED, offset=off, timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with admin(gone) as a:
            rows = a.list("DIRECTOR-LIST")
        if any(r[2] == "self" and r[4] == "ring synced" for r in rows) and \
                any(r[2] in ("left", "right", "left,right") for r in rows):
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the director did not rejoin: %s" % rows)


def _tls_ring(director_factory, address_plan, workroot, count, bad=()):
    """count directors with TLS on their ring links; those in bad get a
    certificate from another CA."""
    base = os.path.join(workroot, "ring-tls-%d" % len(os.listdir(workroot)))
    ca = certs.make_ca(base)
    rogue = certs.make_ca(base, "rogue-ca")
    servers = ring_servers(address_plan, count)
    ds = []
    for i in range(1, count + 1):
        ip = address_plan.director_ip(i)
        cert, key = certs.make_leaf(base, rogue if i in bad else ca,
                                    "d%d" % i, ip)
        ds.append(director_factory(
            i, start=False, director_servers=servers,
            settings={"disable_plaintext_auth": "no", "ssl_cert": cert,
                      "ssl_key": key, "ssl_ca": ca[0]},
            extra_listeners={"ring": {"port": netutil.RING_PORT,
                                      "tls": "starttls"}}))
    for d in ds:
        d.start()
    return ds


def ring_rows(d, want, timeout=20.0):
    """DIRECTOR-LIST of d once want(rows) holds (AssertionError if it
    does not within timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        with admin(d) as a:
            rows = a.list("DIRECTOR-LIST")
        if want(rows):
            return rows
        if time.monotonic() >= deadline:
            raise AssertionError("%s: %s" % (d.name, rows))
        time.sleep(0.1)


def test_tls_ring_links(director_factory, backends, address_plan, workroot):
    ds = _tls_ring(director_factory, address_plan, workroot, 3)
    for d in ds:
        # a left and a right, both over TLS, and the ring synced
        ring_rows(d, lambda rows: sum(
            1 for r in rows
            if r[2] in ("left", "right") and "(tls)" in r[4]) == 2 and
            any(r[2] == "self" and r[4] == "ring synced" for r in rows))
    user = "user760"
    seen = set()
    for d in ds:
        off = d.log_offset()
        with imap_login(d, user) as c:
            c.command("z", "LOGOUT")
        seen.add(backend_of(d, user, off))
    assert len(seen) == 1, seen


def test_tls_ring_refuses_a_foreign_certificate(director_factory, backends,
                                                address_plan, workroot):
    ds = _tls_ring(director_factory, address_plan, workroot, 3, bad=(3,))
    # the two with the right CA form a ring; the third is kept out
    for d in ds[:2]:
        d.wait_log(r"ring: handshaked with 3 directors", timeout=40)
    m = None
    for d in ds:
        try:
            m = d.wait_log(r"TLS: [^\n]*(certificate|alert)[^\n]*",
                           timeout=5)
            break
        except TimeoutError:
            continue
    assert m is not None, "no TLS certificate error logged"
    for d in ds[:2]:
        with admin(d) as a:
            rows = a.list("DIRECTOR-LIST")
        assert not any(r[0] == ds[2].ip and r[2] in ("left", "right")
                       for r in rows), rows


def test_plaintext_peer_refused_by_a_tls_ring(director_factory, backends,
                                              address_plan, workroot):
    ds = _tls_ring(director_factory, address_plan, workroot, 2)
    ds[1].stop()
    # the same director without TLS: the TLS one refuses it
    plain = director_factory(
        2, director_servers=ring_servers(address_plan, 2),
        settings={"disable_plaintext_auth": "no"},
        extra_listeners={"ring": {"port": netutil.RING_PORT}})
    ds[0].wait_log(r"does not speak TLS and is not in "
                   r"director_ring_plaintext_networks", timeout=20)
    with admin(plain) as a:
        rows = a.list("DIRECTOR-LIST")
    assert not any(r[2] in ("left", "right") for r in rows), rows


def test_reload_adds_a_director(ring, director_factory, address_plan):
    ds = ring(2)
    servers = ring_servers(address_plan, 3)
    third = director_factory(
        3, director_servers=servers,
        settings={"disable_plaintext_auth": "no"},
        extra_listeners={"ring": {"port": netutil.RING_PORT}})
    for d in ds:
        off = d.log_offset()
        d.director_servers = servers
        d.write_config()
        d.reload()
        d.wait_log(r"director %s:%d added by a reload" %
                   (third.ip, netutil.RING_PORT), offset=off, timeout=10)
    for d in ds + [third]:
        ring_rows(d, lambda rows: len(rows) == 3 and any(
            r[2] == "self" and r[4] == "ring synced" for r in rows) and sum(
            1 for r in rows if r[2] in ("left", "right")) == 2, timeout=40)


def test_kick_on_one_director_reaches_the_others(ring, backends):
    ds = ring(3)
    live = [imap_login(d, "user770") for d in ds[1:]]
    with admin(ds[0]) as a:
        assert a.command("USER-KICK", "user770") == "OK"
    for c in live:
        assert c.closed(timeout=10), "USER-KICK did not reach a director"
