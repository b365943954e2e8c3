"""Chaos in a ring of three directors: ring packets delayed 0-100 ms,
ring connections aborted and directors paused every few seconds (see
harness.chaos; an injection this machine cannot make is named in the
run's summary and the others still run), while random admin changes go
to random directors and IMAP and LMTP clients log in and deliver through
random directors (harness.ringload).  Then:

- no user was ever served by two backends at once (the invariant oracle
  over the backends' logs);
- no login or recipient got a permanent failure: under faults a director
  says "try again later", never "no";
- once the faults stop, the directors agree again: every one synced, the
  same backends and the same user assignments everywhere.

The short run (CHAOS_SECONDS) is part of `make check`; `make soak
SOAK_SECONDS=N` runs the same for N seconds (at least 600 by default),
with directors killed and restarted too, and prints its counts.
Set CHAOS_SEED to replay a run's random choices (the timing differs)."""
import os
import random
import time

import pytest

from harness import chaos, ring as ringutil, ringload

CHAOS_SECONDS = 50
USERS = ["user%d" % n for n in range(900, 930)]


def run_chaos(ring, backends, address_plan, note, seconds, enable,
              clients=(3, 2)):
    seed = int(os.environ.get("CHAOS_SEED") or random.randrange(1 << 30))
    note("seed %d (CHAOS_SEED=%d replays the random choices), %d s" %
         (seed, seed, seconds))
    ds = ring(3, settings={"director_user_kick_delay": "1 s"})
    faults = chaos.Faults(ds, address_plan.slot, seed, enable=enable,
                          log=note)
    load = ringload.RingLoad(ds, backends.ips, USERS, seed,
                             imap_clients=clients[0],
                             lmtp_clients=clients[1])
    t0 = time.monotonic()
    try:
        faults.start()
        load.start()
        time.sleep(seconds)
    finally:
        load.stop()
        faults.stop()
    took = time.monotonic() - t0
    note("faults: %s" % ", ".join("%s %d" % kv
                                   for kv in faults.counts.items()))
    note("load over %.0f s: %s" % (took, load.summary()))
    assert not load.problems, "\n".join(load.problems[:20])
    # every injection the machine can make was made
    for name, count in (("delay", "delayed packets"),
                        ("disconnect", "disconnects"), ("pause", "pauses"),
                        ("restart", "restarts")):
        if name in faults.enabled:
            assert faults.counts[count] > 0, (name, faults.counts)
    bad = load.settle(ds[0])
    assert not bad, bad
    why = ringutil.wait_agreement(ds, timeout=60)
    assert why is None, "the directors still disagree: " + why
    assert load.counts.get("logins", 0) > 0, load.summary()
    assert load.counts.get("deliveries", 0) > 0, load.summary()
    backends.check_no_overlap()
    return faults, load


def test_ring_chaos(ring, backends, address_plan, note):
    run_chaos(ring, backends, address_plan, note, CHAOS_SECONDS,
              ("delay", "disconnect", "pause"))


@pytest.mark.soak
def test_ring_soak(ring, backends, address_plan, note):
    seconds = int(os.environ.get("SOAK_SECONDS", "600"))
    run_chaos(ring, backends, address_plan, note, seconds,
              ("delay", "disconnect", "pause", "restart"), clients=(4, 2))
