"""What the ring tests share: starting a ring of directors on the address
plan, the admin commands they send, logins through a given director, and
waiting until the directors agree on backends and users.

Nothing here imports pytest.
"""
import re
import time

from . import adminclient, dovecot, netutil, oracle, rawclient

HANDSHAKED = r"ring: handshaked with %d directors"
_LOG_TS = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) ")


def ring_servers(plan, count, first=1):
    """director_servers for directors first..first+count-1 of plan."""
    return " ".join("%s:%d" % (plan.director_ip(i), netutil.RING_PORT)
                    for i in range(first, first + count))


def make_ring(director_factory, plan, count=3, settings=None, start=True,
              timeout=15, **kwargs):
    """count directors of one ring (made by director_factory with a ring
    listener and plaintext logins allowed; settings merge, kwargs go to
    director_factory); with start, started and waited for until each one
    has handshaked."""
    servers = ring_servers(plan, count)
    top = {"disable_plaintext_auth": "no"}
    top.update(settings or {})
    ds = [director_factory(i, start=False, director_servers=servers,
                           settings=top,
                           extra_listeners={
                               "ring": {"port": netutil.RING_PORT}},
                           **kwargs)
          for i in range(1, count + 1)]
    if start:
        for d in ds:
            d.start()
        for d in ds:
            d.wait_log(HANDSHAKED % count, timeout=timeout)
    return ds


def wait_until(what, fn, timeout=20.0, interval=0.1):
    """fn()'s first true value, polled until timeout; AssertionError
    naming what otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" %
                                 (timeout, what))
        time.sleep(interval)


# -- admin ------------------------------------------------------------------

def admin(d, timeout=10):
    return adminclient.AdminClient(d.admin_socket, timeout=timeout)


def admin_cmd(d, *fields, timeout=10):
    """The one-line reply to an admin command sent to director d."""
    with admin(d, timeout) as a:
        return a.command(*fields)


def admin_list(d, *fields, timeout=10):
    with admin(d, timeout) as a:
        return a.list(*fields)


def lookup(d, user):
    """USER-LOOKUP's fields: current backend, expiry, hashed, initial."""
    return admin_cmd(d, "USER-LOOKUP", user).split("\t")


def host_list(d):
    """{ip: [vhosts, users, tag, U|D, changed]} from HOST-LIST."""
    return {f[0]: f[1:] for f in admin_list(d, "HOST-LIST")}


def user_map(d, host=""):
    """{user hash: backend ip} from USER-LIST (of one backend)."""
    fields = ("USER-LIST", host) if host else ("USER-LIST",)
    return {int(f[0]): f[2] for f in admin_list(d, *fields, timeout=60)}


def ring_state(d):
    """The status of d's own row in DIRECTOR-LIST ("ring synced", ...)."""
    for row in admin_list(d, "DIRECTOR-LIST"):
        if len(row) > 4 and row[2] == "self":
            return row[4]
    return ""


def disagreement(directors):
    """None if every director is synced and all have the same backend
    list (user counts aside) and the same user map, otherwise what
    differs (one line)."""
    states = {d.name: ring_state(d) for d in directors}
    if any(s != "ring synced" for s in states.values()):
        return "not synced: %s" % states
    hosts = {d.name: sorted((ip, f[0], f[2], f[3])
                            for ip, f in host_list(d).items())
             for d in directors}
    first = directors[0].name
    for name, h in hosts.items():
        if h != hosts[first]:
            return "backends differ: %s %s, %s %s" % (first, hosts[first],
                                                      name, h)
    maps = {d.name: user_map(d) for d in directors}
    for name, m in maps.items():
        diff = {u for u in set(m) | set(maps[first])
                if m.get(u) != maps[first].get(u)}
        if diff:
            sample = sorted(diff)[:5]
            return ("users differ between %s and %s (%d users, e.g. %s)" %
                    (first, name, len(diff),
                     ", ".join("%d: %s/%s" % (u, maps[first].get(u),
                                              m.get(u)) for u in sample)))
    return None


def wait_agreement(directors, timeout=60.0):
    """Waits until disagreement() is None; returns the last disagreement
    (None on success)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            why = disagreement(directors)
        except (OSError, EOFError) as e:
            why = "admin: %s" % e
        if why is None or time.monotonic() >= deadline:
            return why
        time.sleep(0.5)


# -- clients ----------------------------------------------------------------

def imap_login(d, user, password=dovecot.USER_PASSWORD, timeout=10.0):
    """An IMAP connection through d, logged in as user (checked)."""
    c = rawclient.imap_connect(*d.listeners()["imap"], timeout=timeout)
    reply = c.command("a", "LOGIN %s %s" % (user, password))
    assert reply.startswith(b"a OK"), (d.name, user, reply)
    return c


def backend_of(d, user, offset=0, timeout=5.0):
    """The backend of user's next successful login in d's log."""
    m = d.wait_log(r"login: user=<%s>, client=[^,]*, backend=([^:]+):\d+, "
                   r"result=ok" % user, offset=offset, timeout=timeout)
    return m.group(1)


def log_times(d, pattern, offset=0):
    """[(time since the epoch, line)] of the lines of d's log after offset
    that match the regex pattern."""
    out = []
    for line in d.log_text(offset).splitlines():
        m = _LOG_TS.match(line)
        if m and re.search(pattern, line):
            out.append((oracle.parse_timestamp(m.group(1)), line))
    return out
