"""The director ring with real processes on loopback: three (and five)
directors handshake and sync; one user logging in through every director
lands on one backend; a host change made on one director is visible on
all of them before its admin command answers; a move made on one director
kicks the user's live session on another; a director killed with -9
leaves the others serving its users, and when it comes back it gets the
whole state from the ring.  The invariant oracle reads the backends' logs
at the end of each test."""
import time

import pytest

from harness import netutil
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
    with admin(ds[1]) as a:
        assert a.command("DIRECTOR-ADD", gone.ip,
                         str(netutil.RING_PORT)) == "OK"
    off = ds[0].log_offset()
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
