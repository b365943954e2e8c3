"""A mixed ring: two real Dovecot 2.3 directors (Debian's dovecot-core)
and two of ours, alternating in the ring's address order so that every
link joins one of ours to one of theirs.  Users, backends, moves and
kicks propagate both ways; `doveadm director ring status` on a Dovecot
director shows the ring synced.  This is how operators migrate: our
directors join the Dovecot ring, then the Dovecot directors are retired."""
import os
import time

import pytest

from harness import adminclient, certs, dovecot, dovecot_director, \
    netutil, rawclient
from harness.ring import wait_until

PASS = dovecot.USER_PASSWORD

pytestmark = pytest.mark.skipif(not dovecot_director.available(),
                                reason="dovecot-core's director is missing")


def admin_cmd(path, *fields):
    with adminclient.AdminClient(path) as a:
        return a.command(*fields)


def admin_list(path, cmd):
    with adminclient.AdminClient(path) as a:
        return a.list(cmd)


def lookup(path, user):
    return admin_cmd(path, "USER-LOOKUP", user).split("\t")[0]


def hosts(path):
    return {f[0]: f[1:] for f in admin_list(path, "HOST-LIST")}


def dovecot_synced(dd):
    rows = admin_list(dd.admin_socket, "DIRECTOR-LIST")
    return any(len(r) > 4 and r[2] == "self" and r[4] == "ring synced"
               for r in rows)


def start_mixed_ring(director_factory, backends, address_plan, workroot,
                     kinds, tls=False):
    """kinds: "ours" or "dovecot" per director address 1..len(kinds).
    With tls, ours speak TLS with each other and let the Dovecot
    directors in through director_ring_plaintext_networks.  Returns
    (ring, dovecot directors to stop)."""
    port = netutil.RING_PORT
    n = len(kinds)
    servers = " ".join("%s:%d" % (address_plan.director_ip(i), port)
                       for i in range(1, n + 1))
    base = os.path.join(workroot, "interop-%d" % len(os.listdir(workroot)))
    settings = {"disable_plaintext_auth": "no",
                "director_hashing": "dovecot",
                "director_user_kick_delay": "1 s"}
    ring_listener = {"port": port}
    if tls:
        ca = certs.make_ca(base)
        ring_listener["tls"] = "starttls"
        settings["ssl_ca"] = ca[0]
        settings["director_ring_plaintext_networks"] = " ".join(
            "%s/32" % address_plan.director_ip(i)
            for i, k in enumerate(kinds, 1) if k == "dovecot")
    ring, made = [], []
    for i, kind in enumerate(kinds, 1):
        ip = address_plan.director_ip(i)
        if kind == "ours":
            top = dict(settings)
            if tls:
                top["ssl_cert"], top["ssl_key"] = certs.make_leaf(
                    base, ca, "d%d" % i, ip)
            d = director_factory(i, start=False, director_servers=servers,
                                 settings=top,
                                 extra_listeners={"ring": ring_listener})
        else:
            d = dovecot_director.DovecotDirector(
                "dc%d" % i, ip, port, os.path.join(base, "dc%d" % i),
                servers, backends.ips, kick_delay="1 s")
            made.append(d)
        ring.append(d)
    for d in ring:
        d.start()
    for d in ring:
        if isinstance(d, dovecot_director.DovecotDirector):
            # the director process starts on the first admin connection
            wait_until("%s synced" % d.name, lambda: dovecot_synced(d),
                       timeout=40)
        else:
            d.wait_log(r"ring: (handshaked with %d directors|synced)" % n,
                       timeout=40)
    return ring, made


@pytest.fixture
def mixed_ring(director_factory, backends, address_plan, workroot):
    """[ours1, dovecot2, ours3, dovecot4] on director addresses 1..4."""
    ring, made = start_mixed_ring(director_factory, backends, address_plan,
                                  workroot,
                                  ["ours", "dovecot", "ours", "dovecot"])
    yield ring
    for d in made:
        d.stop()


def imap_login(d, user):
    c = rawclient.imap_connect(*d.listeners()["imap"])
    reply = c.command("a", "LOGIN %s %s" % (user, PASS))
    assert reply.startswith(b"a OK"), (d.name, user, reply)
    return c


def test_mixed_ring_users_hosts_moves_kicks(mixed_ring, backends):
    ours1, dc2, ours3, dc4 = mixed_ring
    # a user assigned by a login through ours is known to Dovecot's
    user = "user800"
    with imap_login(ours1, user) as c:
        c.command("z", "LOGOUT")
    where = lookup(ours1.admin_socket, user)
    assert where in backends.ips
    for dd in (dc2, dc4):
        wait_until("%s knows %s" % (dd.name, user),
                   lambda: lookup(dd.admin_socket, user) == where)
    # a user Dovecot assigns (USER-MOVE creates the mapping) reaches ours
    other = "user801"
    target = backends.ips[1]
    assert admin_cmd(dc2.admin_socket, "USER-MOVE", other, target) == "OK"
    for d in (ours1, ours3):
        wait_until("%s knows %s" % (d.name, other),
                   lambda: lookup(d.admin_socket, other) == target)
    # a backend added on a Dovecot director is on ours before it answers
    extra = "127.0.9.93"
    assert admin_cmd(dc4.admin_socket, "HOST-SET", extra, "7") == "OK"
    for d in (ours1, ours3):
        wait_until("%s has %s" % (d.name, extra),
                   lambda: hosts(d.admin_socket).get(extra, [""])[0] == "7",
                   timeout=5)
    # and one set down on ours is down on Dovecot's when ours answers
    assert admin_cmd(ours3.admin_socket, "HOST-DOWN", extra) == "OK"
    for dd in (dc2, dc4):
        assert hosts(dd.admin_socket)[extra][3] == "D", dd.name
    assert admin_cmd(ours1.admin_socket, "HOST-REMOVE", extra) == "OK"
    for dd in (dc2, dc4):
        assert extra not in hosts(dd.admin_socket), dd.name
    # a move made on a Dovecot director kicks our live session
    mover = "user802"
    live = imap_login(ours3, mover)
    old = lookup(ours3.admin_socket, mover)
    new = next(ip for ip in backends.ips if ip != old)
    assert admin_cmd(dc2.admin_socket, "USER-MOVE", mover, new) == "OK"
    assert live.closed(timeout=10), "the move did not kick our session"
    for d in (ours1, ours3):
        wait_until("%s moved %s" % (d.name, mover),
                   lambda: lookup(d.admin_socket, mover) == new)
    # a kick on a Dovecot director reaches our sessions
    kicked = "user803"
    live = imap_login(ours1, kicked)
    assert admin_cmd(dc4.admin_socket, "USER-KICK", kicked) == "OK"
    assert live.closed(timeout=10), "USER-KICK did not reach ours"
    # a move made on ours completes through Dovecot's directors
    with imap_login(ours1, "user804") as c:
        c.command("z", "LOGOUT")
    old = lookup(ours1.admin_socket, "user804")
    new = next(ip for ip in backends.ips if ip != old)
    assert admin_cmd(ours1.admin_socket, "USER-MOVE", "user804", new) == "OK"
    for dd in (dc2, dc4):
        assert lookup(dd.admin_socket, "user804") == new
    # Dovecot's own view of the ring: every director, both links synced
    out = dc2.doveadm("ring", "status")
    for d in mixed_ring:
        assert d.ip in out, out
    assert "ring synced" in out, out
    backends.check_no_overlap()


def test_tls_between_ours_plaintext_with_dovecot(director_factory, backends,
                                                 address_plan, workroot):
    ring, made = start_mixed_ring(director_factory, backends, address_plan,
                                  workroot, ["ours", "ours", "dovecot"],
                                  tls=True)
    try:
        ours1, ours2, dc3 = ring
        # ours1 -> ours2 is TLS; the links with Dovecot's are plaintext
        deadline = time.monotonic() + 20
        while True:
            rows = admin_list(ours1.admin_socket, "DIRECTOR-LIST")
            right = [r for r in rows if r[2] == "right"]
            if right and right[0][0] == ours2.ip and "(tls)" in right[0][4]:
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.1)
        ours1.wait_log(r"link with %s[^\n]*not encrypted" % dc3.ip,
                       timeout=10)
        user = "user810"
        with imap_login(ours2, user) as c:
            c.command("z", "LOGOUT")
        where = lookup(ours2.admin_socket, user)
        wait_until("dc3 knows " + user,
                   lambda: lookup(dc3.admin_socket, user) == where)
        wait_until("ours1 knows " + user,
                   lambda: lookup(ours1.admin_socket, user) == where)
    finally:
        for d in made:
            d.stop()
