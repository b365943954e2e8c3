"""A director hung (SIGSTOP) while users are moved through the others
(issue 12, failure 2 of Dovecot's own ring):

- the other two drop it within 10 s (the times of their log lines);
- moves sent to the others right after it hung answer, and each moved
  user logs in on its new backend through the others, within 30 s of the
  move's start (timed); users that keep their backend are served at
  once meanwhile, and a new user within 30 s;
- when it resumes it closes every local session whose user is now
  assigned elsewhere before it serves anything: a live IMAP session
  through it, whose user was moved meanwhile and which has a NOOP waiting
  in its socket, is closed without an answer to that NOOP, and its log
  shows the kick before any login it serves; a login that waited in its
  listen queue goes to the user's new backend; its log shows the clock
  jump; afterwards all three agree on backends and users;
- the invariant oracle finds no user on two backends at once.

Nobody logs the moved user with the live session in elsewhere while the
director is hung: that session is still open on the old backend, and no
director can end it before the hung one runs again.

`make check` hangs the director for HUNG_SECONDS (long enough for the
others to drop it and for it to see its clock jump); `make soak` for the
issue's full minute.  The resumed director must pass no byte of a
session the ring moved away before it kicks it, and the moves sent while
it hung must not wait for the 30 s move timeout (their kill tokens died
with it: the others send them again when the ring closes without it)."""
import signal
import threading
import time

import pytest

from harness import dovecot, rawclient
from harness.ring import admin_cmd, backend_of, imap_login, log_times, \
    wait_agreement

HUNG_SECONDS = 12
DROP_WITHIN = 10.0
LOCKOUT_MAX = 30.0
MOVED = ["user%d" % n for n in range(961, 965)]
KEPT = ["user%d" % n for n in range(965, 967)]
NEW_USER = "user967"


def other_backend(backends, ip, offset=1):
    ips = backends.ips
    return ips[(ips.index(ip) + offset) % len(ips)]


def login_backend(d, user):
    """Logs user in and out through d; returns the backend it went to."""
    off = d.log_offset()
    with imap_login(d, user, timeout=40) as c:
        c.command("z", "LOGOUT")
    return backend_of(d, user, off)


def timed_moves(moves, backends, t0):
    """Runs each (director, user, target, login director or None) move
    in a thread of its own; returns {user: [seconds from t0 until the
    move answered, until the user logged in on target]} (filled in as the
    threads end) and the threads."""
    took = {}

    def move(d, user, target, via):
        reply = admin_cmd(d, "USER-MOVE", user, target, timeout=70)
        took[user] = [time.monotonic() - t0 if reply == "OK" else None]
        if via is not None and reply == "OK":
            ok = login_backend(via, user) == target
            took[user].append(time.monotonic() - t0 if ok else None)

    threads = [threading.Thread(target=move, args=m, daemon=True)
               for m in moves]
    for t in threads:
        t.start()
    return took, threads


def run_hung(ring, backends, note, hung_seconds):
    d1, d2, hung = ring(3, settings={"director_user_kick_delay": "1 s"})
    user = "user960"
    live = imap_login(hung, user)
    old = backend_of(hung, user)
    new = other_backend(backends, old)
    before = {u: login_backend(d1, u) for u in MOVED + KEPT}
    offsets = {d.name: d.log_offset() for d in (d1, d2, hung)}
    t_stop = time.time()
    t0 = time.monotonic()
    hung.signal(signal.SIGSTOP)
    try:
        # queued in the hung director's sockets: a login in its listen
        # queue, a NOOP on the live session
        waiting = rawclient.RawClient(*hung.listeners()["imap"], timeout=60)
        waiting.send("a LOGIN %s %s\r\n" % (user, dovecot.USER_PASSWORD))
        live.send("n NOOP\r\n")
        moves = [(d1, user, new, None)]
        for i, u in enumerate(MOVED):
            moves.append(((d1, d2)[i % 2], u,
                          other_backend(backends, before[u], 1 + i % 2),
                          (d2, d1)[i % 2]))
        took, threads = timed_moves(moves, backends, t0)
        for u in KEPT:
            t = time.monotonic()
            assert login_backend(d2, u) == before[u], u
            assert time.monotonic() - t < 5, u
        for d in (d1, d2):
            pattern = (r"ring: director %s:\d+ \(\w+\): .*disconnecting" %
                       hung.ip)
            try:
                d.wait_log(pattern, offset=offsets[d.name],
                           timeout=t_stop + DROP_WITHIN + 1 - time.time())
            except TimeoutError:
                pass
            drops = log_times(d, pattern, offsets[d.name])
            assert drops, "%s did not drop the hung director" % d.name
            note("%s dropped the hung director %.1f s after SIGSTOP" %
                 (d.name, drops[0][0] - t_stop))
            assert drops[0][0] - t_stop <= DROP_WITHIN, drops[0][1]
        t = time.monotonic()
        login_backend(d1, NEW_USER)
        note("a new user logged in through another director %.1f s after "
             "SIGSTOP (it waited %.1f s for the ring)" %
             (time.monotonic() - t0, time.monotonic() - t))
        assert time.monotonic() - t0 < LOCKOUT_MAX
        time.sleep(max(0.0, t_stop + hung_seconds - time.time()))
    finally:
        hung.signal(signal.SIGCONT)
    t_resume = time.time()
    # the live session is closed
    assert live.closed(timeout=20), "the moved user's session stayed open"
    assert b"n OK" not in live.pending, \
        "the resumed director forwarded the queued NOOP to the old " \
        "backend before it kicked the session: %r" % live.pending
    live.close()
    # the login that waited in the listen queue goes to the new backend
    with waiting:
        assert waiting.line(timeout=40).startswith(b"* OK")
        reply = waiting.until("a ", timeout=40)[-1]
        assert reply.startswith(b"a OK"), reply
        waiting.command("z", "LOGOUT")
    assert backend_of(hung, user, offsets[hung.name]) == new
    jumped = log_times(hung, r"ring: our clock jumped", offsets[hung.name])
    assert jumped, "the resumed director did not notice its clock jump"
    kicked = log_times(hung, r"disconnect: user=<%s>, backend=%s:" %
                       (user, old), offsets[hung.name])
    served = log_times(hung, r"login: user=<[^>]*>, .*result=ok",
                       offsets[hung.name])
    assert kicked and served and kicked[0][0] <= served[0][0], \
        (kicked, served)
    note("resumed after %.1f s: the moved user's session closed %.3f s "
         "after SIGCONT, its waiting login served after %.3f s" %
         (t_resume - t_stop, kicked[0][0] - t_resume,
          served[0][0] - t_resume))
    for t in threads:
        t.join(LOCKOUT_MAX + 40)
    note("moves sent when it hung: answered (and moved user logged in on "
         "the new backend) after %s s" %
         ", ".join("/".join("%.1f" % x if x is not None else "failed"
                            for x in took.get(m[1], [None]))
                   for m in moves))
    for m in moves:
        times = took.get(m[1])
        assert times and None not in times, (m[1], times)
        assert max(times) < LOCKOUT_MAX, (m[1], times)
    why = wait_agreement([d1, d2, hung], timeout=60)
    assert why is None, why
    backends.check_no_overlap()


def test_hung_director(ring, backends, note):
    run_hung(ring, backends, note, HUNG_SECONDS)


@pytest.mark.soak
def test_hung_director_one_minute(ring, backends, note):
    run_hung(ring, backends, note, 60)
