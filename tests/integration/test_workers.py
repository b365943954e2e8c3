"""Worker threads (issue #16, `workers = N`): IMAP, POP3 and ManageSieve
sessions run on N threads besides the main one, which keeps the engine.
The rest of the suite runs with two workers too (run_tests.py); these
tests check what is particular to them: the threads exist and share the
sessions out, the engine still decides every route (one user, one
backend, whichever thread its sessions are on), kicks reach sessions on
any thread, the metrics add up every thread, and a reload and a shutdown
reach them all."""
import os
import poplib
import re

import pytest

from harness import adminclient, dovecot, rawclient
from harness.ring import backend_of

PASS = dovecot.USER_PASSWORD
WORKERS = 3


@pytest.fixture
def wd(proxy_director):
    return proxy_director(settings={"workers": str(WORKERS),
                                    "log_level": "debug"})


def threads(pid):
    return len(os.listdir("/proc/%d/task" % pid))


def login(d, user):
    c = rawclient.imap_connect(*d.listeners()["imap"])
    assert c.command("a", "LOGIN %s %s" % (user, PASS)).startswith(b"a OK")
    return c


def test_start_log_is_clean(wd):
    """Every thread makes its descriptor map at start without a word from
    libevent (each refused descriptor number was once a warning line)."""
    text = wd.log_text()
    assert "directord ready" in text
    assert "libevent" not in text, text[:2000]


def test_threads_and_one_backend_per_user(wd):
    """The daemon runs WORKERS more threads; six sessions of one user,
    spread round robin over them, all reach the user's one backend."""
    assert threads(wd.pid) >= WORKERS + 1
    wd.wait_log(r"%d worker threads carry" % WORKERS)
    off = wd.log_offset()
    sessions = [login(wd, "user501") for _ in range(6)]
    try:
        ids = set(re.findall(
            r"imap\(([\w-]+)\): login: user=<user501>.*result=ok",
            wd.log_text(off)))
        assert len(ids) == 6
        backends = set(re.findall(
            r"login: user=<user501>, client=\S+ backend=([\d.]+):",
            wd.log_text(off)))
        assert len(backends) == 1, backends
        assert backend_of(wd, "user501", off) in backends
        # a POP3 session of the same user, on yet another thread
        p = poplib.POP3(*wd.listeners()["pop3"], timeout=30)
        p.user("user501")
        p.pass_(PASS)
        p.quit()
        assert len(set(re.findall(
            r"login: user=<user501>, client=\S+ backend=([\d.]+):",
            wd.log_text(off)))) == 1
    finally:
        for c in sessions:
            c.close()


def test_kick_reaches_every_thread(wd):
    """An admin kick (engine on the main thread) ends the user's sessions
    on every worker."""
    sessions = [login(wd, "user502") for _ in range(WORKERS)]
    other = login(wd, "user503")
    with adminclient.AdminClient(wd.admin_socket) as a:
        assert a.command("USER-KICK", "user502") == "OK"
    for c in sessions:
        assert c.closed(timeout=10)
    assert not other.closed(timeout=0.5)
    other.close()


def test_metrics_count_every_thread(director_factory):
    """director_sessions and director_logins_total add up the sessions
    and logins of all threads."""
    from test_metrics import metrics_director, scrape, value
    d = metrics_director(director_factory,
                         settings={"workers": str(WORKERS)})
    sessions = [login(d, "user%d" % (510 + i)) for i in range(5)]
    try:
        s = scrape(d)
        assert value(s, "director_sessions", protocol="imap",
                     state="proxying") == 5
        assert value(s, "director_logins_total", protocol="imap",
                     result="ok") == 5
        # a worker's route answers by message, but none of these waited
        # for a move
        assert value(s, "director_requests_delayed_total") == 0
    finally:
        for c in sessions:
            c.close()


def test_reload_and_shutdown_reach_the_workers(wd):
    """After a reload the workers use the new configuration (a login
    then still works); a shutdown closes the sessions of every worker."""
    live = [login(wd, "user520"), login(wd, "user521")]
    wd.settings["login_timeout"] = "45s"
    wd.write_config()
    off = wd.log_offset()
    wd.reload()
    wd.wait_log("configuration reloaded", offset=off)
    c = login(wd, "user522")
    c.close()
    off = wd.log_offset()
    wd.stop()
    text = wd.log_text(off)
    assert len(re.findall(r"closed_by=shutdown", text)) >= 2, text
    for c in live:
        assert c.closed(timeout=5)
