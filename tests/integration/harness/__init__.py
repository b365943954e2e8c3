"""Integration-test harness: real Dovecot 2.3 backends, directord processes
and the invariant oracle, for pytest and for scripts.

Nothing in this package imports pytest, so scripts (the demo) can use it.
"""
