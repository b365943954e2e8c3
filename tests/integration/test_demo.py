"""`make demo` end to end: scripts/demo.py against the build directory.
It takes a few seconds; it needs root like the rest of the harness."""
import os
import subprocess
import sys

import pytest

from harness import directord

DEMO = os.path.join(directord.ROOT, "scripts", "demo.py")


def test_demo_runs(address_plan):
    if os.geteuid() != 0:
        pytest.skip("the demo runs as root")
    # the session's address plan is held by this run; the demo takes the
    # next free slot itself
    res = subprocess.run([sys.executable, DEMO, "--build",
                          directord.build_dir()], capture_output=True,
                         text=True, errors="replace", timeout=120,
                         env=directord.sanitizer_env())
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    for n in range(1, 9):
        assert "== Step %d:" % n in res.stdout
    # a ring of three directors, synced, and one user through all three
    assert res.stdout.count("ring: handshaked with 3 directors") == 3
    assert "ring synced" in res.stdout
    for d in ("d1", "d2", "d3"):
        assert "through %s (" % d in res.stdout
    assert "logged 3 login(s) of user42" in res.stdout
    assert res.stdout.count("Login: user=<") == 4
    # logins went through the director and met on the predicted backend
    assert res.stdout.count("(predicted ") == 3
    assert "no user was ever on two" in res.stdout
    # the LMTP step: one reply per recipient, each copy found over IMAP
    assert res.stdout.count("Saved") == 3
    assert res.stdout.count("IMAP through the director finds 1 copy") == 3
    # the admin step: status table, a move that kicks the live session
    assert "$ directorctl -c FILE status" in res.stdout
    assert "the open session on b" in res.stdout
    assert "was disconnected" in res.stdout
    assert "still no user on two" in res.stdout
    assert "peak/mean" in res.stdout
