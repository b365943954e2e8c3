"""SIGHUP and the settings that only a restart may change.

Live user assignments are keyed by the user hash.  A reload that changed
how a login name is hashed (director_username_hash,
auth_master_user_separator) would send a new login of a user who still has
sessions open to another backend; such a reload is refused as a whole
("reload failed", the old configuration keeps running).  The tests pick a
user whose backend really differs under the two settings (checked with the
reference Dovecot vhost ring of test_proxy_routing, director_hashing =
dovecot), keep one IMAP session open across the SIGHUP and log in again:
the second login must reach the first one's backend, in the director's log
and in the backends' own logs (oracle)."""
import imaplib
import re
import time

import pytest

from harness import dovecot
from test_proxy_routing import _md5_u32, dovecot_ring_pick

PASS = dovecot.USER_PASSWORD
MASTER_LOGIN_SUFFIX = dovecot.MASTER_SEPARATOR + dovecot.MASTER_USER

# setting -> (value before, value after, login name of user, password,
# text hashed before, text hashed after)
CASES = {
    "director_username_hash": (
        "%Lu", "%Uu", lambda u: u, PASS,
        lambda u: u.lower(), lambda u: u.upper()),
    "auth_master_user_separator": (
        None, dovecot.MASTER_SEPARATOR, lambda u: u + MASTER_LOGIN_SUFFIX,
        dovecot.MASTER_PASSWORD,
        lambda u: (u + MASTER_LOGIN_SUFFIX).lower(), lambda u: u.lower()),
}


def _pick_user(ips, before, after):
    """A user whose backend differs between the hashed texts before(u) and
    after(u), with both backends."""
    for user in dovecot.user_names():
        old = dovecot_ring_pick(ips, _md5_u32(before(user)) or 1)
        new = dovecot_ring_pick(ips, _md5_u32(after(user)) or 1)
        if old != new:
            return user, old, new
    raise AssertionError("no user changes backend")


def _imap_login(d, name, password):
    m = imaplib.IMAP4(*d.listeners()["imap"], timeout=10)
    typ, _ = m.login(name, password)
    assert typ == "OK"
    return m


def _director_backend(d, user, offset):
    """The backend IP of user's next successful login in d's log."""
    m = d.wait_log(r"login: user=<%s(?:\*[^>]*)?>, client=[^,]*, "
                   r"backend=([^:,]+):\d+, result=ok" % re.escape(user),
                   offset=offset)
    return m.group(1)


def _open_backends(backends, user, count, timeout=5.0):
    """IPs of the backends on which user has sessions open, once the
    backends' logs show count of them."""
    deadline = time.time() + timeout
    while True:
        ips = [backends.by_name(s.backend).ip for s in backends.sessions()
               if s.user == user and s.is_open]
        if len(ips) >= count or time.time() > deadline:
            return sorted(ips)
        time.sleep(0.05)


@pytest.mark.parametrize("setting", sorted(CASES))
def test_reload_refuses_user_hash_change(proxy_director, backends, setting):
    before, after, name_of, password, hashed_before, hashed_after = \
        CASES[setting]
    user, old_ip, new_ip = _pick_user(backends.ips, hashed_before,
                                      hashed_after)
    settings = {"director_hashing": "dovecot", setting: before}
    d = proxy_director(settings=settings)
    off = d.log_offset()
    first = _imap_login(d, name_of(user), password)
    second = None
    try:
        assert _director_backend(d, user, off) == old_ip
        assert _open_backends(backends, user, 1) == [old_ip]
        # the precondition: under the new value this user belongs elsewhere
        assert new_ip != old_ip
        d.settings[setting] = after
        d.write_config()
        off = d.log_offset()
        d.reload()
        d.wait_log(r"reload failed|configuration reloaded", offset=off)
        assert d.running
        # the user's sessions stay together on the first one's backend
        second = _imap_login(d, name_of(user), password)
        assert _director_backend(d, user, off) == old_ip
        assert _open_backends(backends, user, 2) == [old_ip, old_ip]
        # because the whole reload was refused, naming the setting
        log = d.log_text(off)
        assert re.search(r"reload failed: .*%s.*restart.*; keeping the old "
                         r"configuration" % setting, log), log
        assert "configuration reloaded" not in log
    finally:
        for m in (second, first):
            if m is not None:
                m.logout()
