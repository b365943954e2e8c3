"""Health checks in a ring of our directors: every director checks the
same backends; a stopped backend is marked down by each of them once (no
flapping, no loop), its users move through the ring's user moves so the
directors agree on where they are, logins through any director land on
the same new backend, and the oracle sees no user on two backends; the
backend comes back up everywhere once it runs again."""
import re

import pytest

from harness import ring as ringutil
from test_health import FLIP_RX, assert_flips_earned, events, health


@pytest.mark.parametrize("count", [2, 3])
def test_ring_directors_agree_on_a_dead_backend(ring, fresh_backends,
                                                count):
    ds = ring(count, settings=health(), mail_servers=fresh_backends)
    assert ringutil.wait_agreement(ds) is None
    users = ["user%d" % i for i in range(600, 624)]
    for i, u in enumerate(users):
        ringutil.imap_login(ds[i % count], u).close()
    assert ringutil.wait_agreement(ds) is None
    where = {u: ringutil.lookup(ds[0], u)[0] for u in users}
    victim_ip = max(fresh_backends.ips, key=lambda ip: sum(
        1 for v in where.values() if v == ip))
    moved = [u for u in users if where[u] == victim_ip]
    assert moved
    offs = [d.log_offset() for d in ds]
    fresh_backends.by_ip(victim_ip).stop()
    for d, off in zip(ds, offs):
        d.wait_log(r"backend %s health check: down" % re.escape(victim_ip),
                   timeout=30, offset=off)
    # every director moves the users (or sees the others' moves); in the
    # end they agree, and nobody is left on the dead backend
    assert ringutil.wait_agreement(ds) is None
    for u in moved:
        for i, d in enumerate(ds):
            c = ringutil.imap_login(d, u)
            c.close()
        now = {ringutil.lookup(d, u)[0] for d in ds}
        assert len(now) == 1 and victim_ip not in now, (u, now)
    fresh_backends.check_no_overlap()
    offs2 = [d.log_offset() for d in ds]
    fresh_backends.by_ip(victim_ip).start()
    for d, off in zip(ds, offs2):
        d.wait_log(r"backend %s health check: up again" %
                   re.escape(victim_ip), timeout=30, offset=off)
    for d, off in zip(ds, offs):
        evs = events(d, victim_ip, off)
        # down once, up once: no loop between the directors
        assert assert_flips_earned(evs, rise=2, fall=2) == 2, (d.name, evs)
        assert len(re.findall(FLIP_RX % re.escape(victim_ip),
                              d.log_text(off))) == 2
    assert ringutil.wait_agreement(ds) is None
    fresh_backends.check_no_overlap()
