"""Failed logins leave nothing lasting behind and get slower.

The director assigns a backend before the backend checks the password.
A login that never succeeds keeps its assignment only through the kick
delay (so a half-done login is over before the user could be hashed
elsewhere), not for director_user_expire: random names with wrong
passwords cannot fill the user directory.  From one client address, the
second and later failed logins wait before their NO (2 s, 4 s, ... up to
15 s), and rejected logins count toward the bad-command limit (unit
tests: test_imap_client.c, test_pop3_client.c).

Only lower bounds on time are asserted.
"""
import re
import time

from harness import adminclient, dovecot, rawclient

PASS = dovecot.USER_PASSWORD


def _director(proxy_director):
    return proxy_director(settings={"director_user_kick_delay": "1 s",
                                    "director_user_expire": "15 min"})


def _users(d):
    with adminclient.AdminClient(d.admin_socket) as a:
        return a.list("USER-LIST")


def _wait_users(d, count, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        rows = _users(d)
        if len(rows) == count:
            return rows
        assert time.monotonic() < deadline, rows
        time.sleep(0.2)


def test_failed_logins_leave_no_lasting_assignment(proxy_director,
                                                   address_plan):
    d = _director(proxy_director)
    names = ["nosuch%d" % i for i in range(4)]
    for i, name in enumerate(names):
        # one client address each: no penalty in this test
        src = "127.%d.3.%d" % (address_plan.slot, 10 + i)
        with rawclient.imap_connect(*d.listeners()["imap"],
                                    source=src) as c:
            reply = c.command("a", "LOGIN %s wrong" % name)
            assert reply.startswith(b"a NO [AUTHENTICATIONFAILED]"), reply
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        assert c.command("a", "LOGIN user600 %s" % PASS).startswith(b"a OK")
        c.command("b", "LOGOUT")
    # the failed ones go after the kick delay, the real user stays
    rows = _wait_users(d, 1)
    assert len(rows) == 1
    d.wait_log(r"login: user=<user600>.*result=ok")


def test_repeated_failures_from_one_address_are_slowed(proxy_director,
                                                       address_plan):
    d = _director(proxy_director)
    src = "127.%d.3.30" % address_plan.slot
    with rawclient.imap_connect(*d.listeners()["imap"], source=src,
                                timeout=30) as c:
        t0 = time.monotonic()
        assert c.command("a", "LOGIN user601 wrong").startswith(b"a NO")
        first = time.monotonic() - t0
        t1 = time.monotonic()
        assert c.command("b", "LOGIN user601 wrong").startswith(b"b NO")
        second = time.monotonic() - t1
        # the penalty does not hold up a correct password afterwards
        assert c.command("c", "LOGIN user601 %s" % PASS).startswith(b"c OK")
    assert second >= 2.0, (first, second)
    d.wait_log(r"login: user=<user601>.*result=rejected.*penalty=2000ms")
    # another address is not slowed by this one's failures
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        assert c.command("a", "LOGIN user602 wrong").startswith(b"a NO")
    assert re.search(r"user=<user602>.*penalty=0ms", d.log_text())


def test_lmtp_unknown_recipient_leaves_no_lasting_assignment(proxy_director):
    from test_lmtp import Lmtp, message
    d = _director(proxy_director)
    with Lmtp(d) as c:
        assert c.cmd("MAIL FROM:<s@example.com>").startswith("250")
        reply = c.cmd("RCPT TO:<nosuchuser9>")
        assert reply.startswith("5"), reply
        assert c.cmd("RSET").startswith("250")
        at_rcpt, at_data = c.deliver(["user603"], message("known-603"))
        assert at_data["user603"].startswith("250"), at_data
    # the unknown name goes after the kick delay, the real user stays
    rows = _wait_users(d, 1)
    assert len(rows) == 1
