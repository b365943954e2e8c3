"""Backend health checks against real Dovecot backends and fake ones: a
stopped backend is marked down within its fall count and its users'
next logins go elsewhere without overlap; it comes back after its rise
count; a backend that never greets, one that greets slowly and one that
flaps; an admin-down backend stays down however healthy; a refused
connection is a tagged temporary failure at once and brings the check
forward.

No assertion is about elapsed time: tests wait for log lines with
generous deadlines and count check results instead."""
import re
import smtplib

import pytest

from harness import adminclient, dovecot, fakebackend, netutil, rawclient

PASS = dovecot.USER_PASSWORD

# fast checks: a dead backend is down after 2 failed checks, back after 2
# good ones
HEALTH = {
    "health_check": "yes",
    "health_check_interval": "1 s",
    "health_check_timeout": "1 s",
    "health_check_recheck_interval": "300 ms",
    "health_check_rise": "2",
    "health_check_fall": "2",
    "health_check_hold": "0",
    "director_user_kick_delay": "1 s",
    "disable_plaintext_auth": "no",
}
WAIT = 30.0

CHECK_RX = (r"backend %s health check (ok|warning|failed) in \d+ ms "
            r"\((against the verdict|agrees)\)")
FLIP_RX = r"backend %s health check: (down|up again)"


def health(**over):
    s = dict(HEALTH)
    s.update({k: str(v) for k, v in over.items()})
    return s


def login(d, user, proto="imap"):
    """A login through d that must succeed."""
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        reply = c.command("a", "LOGIN %s %s" % (user, PASS))
        assert reply.startswith(b"a OK"), (user, reply)
        c.command("b", "LOGOUT")


def choices(d, offset=0):
    """{user: [backend IPs in login order]} from d's login lines."""
    out = {}
    for m in re.finditer(
            r"login: user=<([^>]*)>, client=[^,]*, backend=([^:]+):\d+, "
            r"result=ok", d.log_text(offset)):
        out.setdefault(m.group(1), []).append(m.group(2))
    return out


def events(d, ip, offset=0):
    """The check results and verdict changes of backend ip, in order:
    ("check", result, against) and ("flip", "down"|"up again")."""
    rx = re.compile("(?:%s)|(?:%s)" % (CHECK_RX % re.escape(ip),
                                        FLIP_RX % re.escape(ip)))
    out = []
    for m in rx.finditer(d.log_text(offset)):
        if m.group(1) is not None:
            out.append(("check", m.group(1),
                        m.group(2) == "against the verdict"))
        else:
            out.append(("flip", m.group(3)))
    return out


def assert_flips_earned(evs, rise, fall):
    """Each flip comes after as many disagreeing checks in a row as the
    rise/fall counts ask for; returns the number of flips."""
    streak = flips = 0
    for e in evs:
        if e[0] == "check":
            streak = streak + 1 if e[2] else 0
            continue
        need = fall if e[1] == "down" else rise
        assert streak >= need, ("flip %r after %d checks" % (e[1], streak),
                                evs)
        streak = 0
        flips += 1
    return flips


def wait_checks(d, ip, count, offset=0, against=None):
    """Waits until count check results of ip are logged after offset."""
    def enough():
        n = [e for e in events(d, ip, offset) if e[0] == "check" and
             (against is None or e[2] == against)]
        return len(n) >= count
    d.wait_log(r"(?s)" + ("(?:%s.*){%d}" % (CHECK_RX % re.escape(ip),
                                            count)), timeout=WAIT,
               offset=offset)
    assert enough()


def test_stopped_backend_goes_down_users_move_and_it_comes_back(
        director_factory, fresh_backends):
    d = director_factory(1, mail_servers=fresh_backends, settings=health())
    users = ["user%d" % i for i in range(300, 330)]
    for u in users:
        login(d, u)
    placed = {u: ips[-1] for u, ips in choices(d).items()}
    victim_ip = max(fresh_backends.ips,
                    key=lambda ip: sum(1 for v in placed.values()
                                       if v == ip))
    victim = fresh_backends.by_ip(victim_ip)
    moved = [u for u in users if placed[u] == victim_ip]
    assert moved
    live = rawclient.imap_connect(*d.listeners()["imap"])
    try:
        assert live.command("a", "LOGIN %s %s" % (moved[0], PASS)) \
            .startswith(b"a OK")
        off = d.log_offset()
        victim.stop()
        d.wait_log(FLIP_RX % re.escape(victim_ip), timeout=WAIT,
                   offset=off)
        # its live session does not survive (the backend is gone, and
        # the move kicks what is left)
        assert live.closed(timeout=WAIT)
    finally:
        live.close()
    off2 = d.log_offset()
    for u in moved:
        login(d, u)
    after = choices(d, off2)
    for u in moved:
        assert after[u][-1] != victim_ip, (u, after[u])
    fresh_backends.check_no_overlap()
    # rise: back after two good checks in a row
    off3 = d.log_offset()
    victim.start()
    d.wait_log(r"backend %s health check: up again" % re.escape(victim_ip),
               timeout=WAIT, offset=off3)
    evs = events(d, victim_ip, off)
    assert assert_flips_earned(evs, rise=2, fall=2) == 2, evs
    fresh_backends.check_no_overlap()


@pytest.fixture
def fakes(address_plan):
    made = []
    ports = {"imap": netutil.IMAP_PORT, "pop3": netutil.POP3_PORT,
             "lmtp": netutil.LMTP_PORT}

    def make(index, mode="ok", delay=0.0):
        f = fakebackend.FakeBackend(address_plan.backend_ip(index), ports,
                                    mode, delay)
        made.append(f)
        return f

    yield make
    for f in made:
        f.close()


def test_silent_and_slow_greetings(director_factory, fakes):
    silent = fakes(7, "silent")
    slow_ok = fakes(8, "slow", delay=0.2)
    too_slow = fakes(9, "slow", delay=3.0)
    d = director_factory(1, mail_servers=[silent.ip, slow_ok.ip,
                                          too_slow.ip], settings=health())
    for f in (silent, too_slow):
        d.wait_log(r"backend %s health check: down" % re.escape(f.ip),
                   timeout=WAIT)
        assert "timed out" in d.wait_log(
            r"backend %s health check failed[^\n]*" % re.escape(f.ip),
            timeout=WAIT).group(0)
    # the slow greeter within the timeout stays up, check after check
    wait_checks(d, slow_ok.ip, 4)
    evs = events(d, slow_ok.ip)
    assert ("flip", "down") not in evs, evs
    assert all(e[1] == "ok" for e in evs if e[0] == "check"), evs


def test_flapping_backend_changes_no_faster_than_rise_and_fall(
        director_factory, fakes):
    f = fakes(7, "ok")
    d = director_factory(1, mail_servers=[f.ip],
                         settings=health(health_check_rise=3,
                                         health_check_fall=2))
    wait_checks(d, f.ip, 1)
    n = 1
    # flapping faster than the fall count: one failed check at a time
    # never takes it down
    for _ in range(4):
        f.set_mode("closed")
        n += 1
        wait_checks(d, f.ip, n)
        f.set_mode("ok")
        n += 2
        wait_checks(d, f.ip, n)
    assert ("flip", "down") not in events(d, f.ip)
    # slower: down after two failures, up after three good checks
    for _ in range(2):
        off = d.log_offset()
        f.set_mode("closed")
        d.wait_log(FLIP_RX % re.escape(f.ip), timeout=WAIT, offset=off)
        off = d.log_offset()
        f.set_mode("ok")
        d.wait_log(FLIP_RX % re.escape(f.ip), timeout=WAIT, offset=off)
    evs = events(d, f.ip)
    assert assert_flips_earned(evs, rise=3, fall=2) == 4, evs


def test_admin_down_backend_stays_down_when_healthy(director_factory,
                                                    fresh_backends):
    d = director_factory(1, mail_servers=fresh_backends, settings=health())
    b = fresh_backends[0]
    with adminclient.AdminClient(d.admin_socket) as a:
        assert a.command("HOST-DOWN", b.ip) == "OK"
        off = d.log_offset()
        wait_checks(d, b.ip, 3, offset=off)
        rows = {r[0]: r for r in a.list("HOST-LIST")}
    assert rows[b.ip][4] == "D", rows
    # our fields after 2.3's: health, last check, latency; admin down
    # is not health down
    assert rows[b.ip][7:9] == ["up", "ok"], rows
    assert int(rows[b.ip][9]) >= 0, rows
    assert ("flip", "up again") not in events(d, b.ip)
    for i in range(400, 430):
        login(d, "user%d" % i)
    assert all(ips[-1] != b.ip for ips in choices(d, off).values())
    fresh_backends.check_no_overlap()


def stop_users_backend(director_factory, fresh_backends, user):
    """A director whose regular checks are a minute apart (only a
    failed login or delivery can make the checker look again soon), with
    user logged in once; then user's backend is stopped.  Returns the
    director, that backend's ip and the log offset before the stop."""
    d = director_factory(1, mail_servers=fresh_backends,
                         settings=health(health_check_interval="60 s"))
    for ip in fresh_backends.ips:
        wait_checks(d, ip, 1)
    login(d, user)
    (ip,) = set(choices(d)[user])
    off = d.log_offset()
    fresh_backends.by_ip(ip).stop()
    return d, ip, off


def test_refused_login_is_a_tagged_tempfail_and_brings_the_check_forward(
        director_factory, fresh_backends):
    user = "user77"
    d, ip, off = stop_users_backend(director_factory, fresh_backends, user)
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        reply = c.command("a", "LOGIN %s %s" % (user, PASS))
    assert reply.startswith(b"a NO [UNAVAILABLE]"), reply
    d.wait_log(r"backend %s health check: down" % re.escape(ip),
               timeout=WAIT, offset=off)
    # the next login waits for the move and lands elsewhere
    login(d, user)
    assert choices(d, off)[user][-1] != ip
    fresh_backends.check_no_overlap()


def test_refused_delivery_is_a_4xx_and_brings_the_check_forward(
        director_factory, fresh_backends):
    user = "user78"
    d, ip, off = stop_users_backend(director_factory, fresh_backends, user)
    with smtplib.LMTP(*d.listeners()["lmtp"], timeout=30) as c:
        c.ehlo_or_helo_if_needed()
        code, _ = c.mail("sender@example.com")
        assert code == 250
        code, reply = c.rcpt(user)
        if code == 250:
            code, reply = c.data(b"Subject: x\r\n\r\nbody\r\n")
    assert 400 <= code < 500, (code, reply)
    d.wait_log(r"backend %s health check: down" % re.escape(ip),
               timeout=WAIT, offset=off)
