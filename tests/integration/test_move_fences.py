"""A move fences every way a session can reach the user's old backend.

Two holes a review found in the single director, each reproduced here
from outside with a backend that is frozen (SIGSTOP: its connections stay
open and answer nothing):

- an LMTP recipient whose RCPT is still on its way to the old backend
  when the user is moved must not be delivered there after the move;
- a login kicked while it waits for the old backend, with a second LOGIN
  pipelined behind it, must not reach the new backend before the kick
  delay has passed.

Only lower bounds on time are asserted (a slow machine can only make a
wait longer), so the tests do not depend on timing luck.
"""
import time

from harness import adminclient, dovecot, rawclient
from test_lmtp import Lmtp, frozen

PASS = dovecot.USER_PASSWORD
KICK_DELAY = 3.0


def _cluster(director_factory, backend_factory):
    bs = backend_factory(3, first=4)
    d = director_factory(1, mail_servers=bs, settings={
        "director_user_kick_delay": "%d s" % KICK_DELAY,
        "lmtp_backend_timeout": "60 s",
        "disable_plaintext_auth": "no",
    }, backend_settings={"connect_timeout": "60 s"})
    return bs, d


def _old_and_new(bs, d, user):
    """The backend the director would give user, and another one."""
    with adminclient.AdminClient(d.admin_socket) as a:
        row = a.command("USER-LOOKUP", user).split("\t")
    old = bs.by_ip(row[2])
    return old, next(b for b in bs if b is not old)


def test_lmtp_rcpt_in_flight_is_fenced_by_a_move(director_factory,
                                                  backend_factory):
    bs, d = _cluster(director_factory, backend_factory)
    user = "user401"
    old, new = _old_and_new(bs, d, user)
    with frozen(old):
        c = Lmtp(d, timeout=60)
        assert c.cmd("MAIL FROM:<sender@example.com>").startswith("250")
        c.send(("RCPT TO:<%s>\r\n" % user).encode())
        # the RCPT is routed and its link waits for the frozen backend
        time.sleep(0.5)
        with adminclient.AdminClient(d.admin_socket, timeout=60) as a:
            assert a.command("USER-MOVE", user, new.ip) == "OK"
    # the old backend wakes up: the recipient must not be accepted there
    reply = c.reply()
    if reply.startswith("250"):
        c.send(b"DATA\r\n")
        go = c.reply()
        if go.startswith("354"):
            c.send(b"Subject: fenced\r\n\r\nbody\r\n.\r\n")
            reply = "250 at RCPT, then DATA: " + c.reply()
    c.close()
    assert reply.startswith("4"), \
        "a recipient routed before the move reached the old backend " \
        "after it: %r" % reply


def test_pipelined_login_after_kick_waits_the_kick_delay(director_factory,
                                                         backend_factory):
    bs, d = _cluster(director_factory, backend_factory)
    user = "user402"
    old, new = _old_and_new(bs, d, user)
    c = rawclient.imap_connect(*d.listeners()["imap"], timeout=60)
    try:
        with frozen(old):
            c.send("a LOGIN %s %s\r\nb LOGIN %s %s\r\n"
                   % (user, PASS, user, PASS))
            time.sleep(0.5)         # routed, connected, no greeting yet
            with adminclient.AdminClient(d.admin_socket, timeout=60) as a:
                a.send("USER-MOVE", user, new.ip)
                first = c.until("a ")[-1]
                kicked_at = time.monotonic()
                assert first.startswith(b"a NO [UNAVAILABLE]"), first
                second = c.until("b ")[-1]
                logged_in_at = time.monotonic()
                assert a.line() == "OK"
        assert second.startswith(b"b OK"), second
        waited = logged_in_at - kicked_at
        assert waited >= KICK_DELAY - 0.2, \
            "the pipelined LOGIN reached the new backend %.3f s after " \
            "the kick (kick delay %.1f s)" % (waited, KICK_DELAY)
        d.wait_log(r"login: user=<%s>, client=[^,]*, backend=%s:"
                   % (user, new.ip.replace(".", r"\.")))
    finally:
        c.close()
    bs.check_invariant = False      # the frozen backend logged nothing
