"""pytest fixtures for the integration tests: loopback address plan, work
directory, real Dovecot backends, directord processes.

Every fixture stops what it started, also when a test fails; the atexit
hook in harness.procutil is the last resort.  The work directory
(/tmp/dit-XXXX) is removed after a run without failures and kept (its path
is printed) otherwise, or always with DIRECTOR_KEEP_WORKDIR=1.

Fixtures:
  address_plan        session  harness.netutil.AddressPlan (reserved slot)
  workroot            session  the run's work directory
  backends            module   BackendSet of 3 backends b1..b3; checks the
                               invariant oracle at teardown
  backend_factory     function make(count=3, first=4, **kw) -> BackendSet
  fresh_backends      function 3 backends b4..b6 that a test may stop/kill
  director_factory    function make(index=1, start=True, **kw) -> Directord;
                               at teardown stops each one and fails on
                               sanitizer reports or an exit status other
                               than d.expect_exit (0; None = any)
  director            function a started directord d1
  ring                function make(count=3, settings=None, start=True,
                               **kw) -> [Directord] of one ring
                               (harness.ring.make_ring)
  note                function note(line): a line for the closing
                               summary of the run (what a test measured,
                               or an injection it could not make)

Tests marked `soak` (long runs) are skipped unless SOAK_SECONDS is set
(`make soak`).
"""
import itertools
import os
import shutil
import signal
import tempfile

import pytest

from harness import directord, dovecot, netutil, oracle, procutil, ring \
    as ringutil

_counter = itertools.count(1)


class BackendSet(list):
    """A list of DovecotBackend with oracle helpers."""

    check_invariant = True      # teardown runs oracle.check_no_overlap

    def by_name(self, name):
        for b in self:
            if b.name == name:
                return b
        raise KeyError(name)

    def by_ip(self, ip):
        for b in self:
            if b.ip == ip:
                return b
        raise KeyError(ip)

    @property
    def ips(self):
        return [b.ip for b in self]

    def sessions(self):
        return oracle.collect_sessions(self)

    def check_no_overlap(self, **kwargs):
        return oracle.check_no_overlap(self, **kwargs)

    def stop(self):
        dovecot.stop_backends(self)


def _subdir(workroot, kind, nodeid):
    # short names: Dovecot's UNIX socket paths must stay below 108 bytes
    path = os.path.join(workroot, "%s%d" % (kind, next(_counter)))
    os.makedirs(path)
    os.chmod(path, 0o755)
    with open(os.path.join(path, "NODEID"), "w") as f:
        f.write(nodeid + "\n")
    return path


def _finish_backends(sets):
    problems = []
    for bs in sets:
        dovecot.stop_backends(bs)
    for bs in sets:
        if bs.check_invariant:
            try:
                oracle.check_no_overlap(bs)
            except oracle.InvariantViolation as e:
                problems.append(str(e))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        item.session.dit_failed = True


@pytest.fixture(scope="session")
def address_plan():
    plan = netutil.allocate_plan()
    yield plan
    procutil.stop_all()
    plan.release()


@pytest.fixture(scope="session")
def workroot(request):
    path = tempfile.mkdtemp(prefix="dit-", dir="/tmp")
    os.chmod(path, 0o755)
    yield path
    procutil.stop_all()
    keep = (os.environ.get("DIRECTOR_KEEP_WORKDIR") or
            getattr(request.session, "dit_failed", False))
    if keep:
        request.config.dit_workroot = path
    else:
        shutil.rmtree(path, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, config):
    for line in getattr(config, "dit_notes", []):
        terminalreporter.write_line(line)
    path = getattr(config, "dit_workroot", None)
    if path:
        terminalreporter.write_line("integration work directory kept: " +
                                    path)


@pytest.fixture(scope="module")
def backends(address_plan, workroot, request):
    d = _subdir(workroot, "m", request.node.nodeid)
    bs = BackendSet(dovecot.start_backends(address_plan, d, 3))
    yield bs
    _finish_backends([bs])


@pytest.fixture
def backend_factory(address_plan, workroot, request):
    made = []

    def make(count=3, first=4, **kwargs):
        d = _subdir(workroot, "t", request.node.nodeid)
        bs = BackendSet(dovecot.start_backends(address_plan, d, count,
                                               first=first, **kwargs))
        made.append(bs)
        return bs

    yield make
    _finish_backends(made)


@pytest.fixture
def fresh_backends(backend_factory):
    return backend_factory(3, first=4)


@pytest.fixture
def director_factory(address_plan, workroot, request):
    made = []
    base = _subdir(workroot, "t", request.node.nodeid)

    def make(index=1, start=True, mail_servers=None, **kwargs):
        if mail_servers is None:
            mail_servers = [address_plan.backend_ip(i) for i in (1, 2, 3)]
        name = "d%d" % index
        d = directord.Directord(name, address_plan.director_ip(index),
                                os.path.join(base, "%s-%d" %
                                             (name, len(made))),
                                mail_servers=mail_servers, **kwargs)
        made.append(d)
        if start:
            d.start()
        return d

    yield make
    problems = []
    for d in reversed(made):
        try:
            d.stop()
        except Exception as e:
            problems.append("%s: %s" % (d.name, e))
        problems += d.problems(expect_exit=d.expect_exit)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def director(director_factory):
    return director_factory(1)


@pytest.fixture
def ring(director_factory, backends, address_plan):
    def make(count=3, settings=None, start=True, **kwargs):
        return ringutil.make_ring(director_factory, address_plan, count,
                                  settings, start, **kwargs)
    return make


@pytest.fixture
def note(request):
    notes = request.config.__dict__.setdefault("dit_notes", [])

    def add(line):
        line = "%s: %s" % (request.node.name, line)
        notes.append(line)
        print(line, flush=True)
    return add


def _terminate(signum, frame):
    # SIGTERM (CI timeouts, `timeout`) becomes an interrupt, so that the
    # fixtures' finalizers and the atexit hook still stop every process
    raise KeyboardInterrupt("SIGTERM")


def pytest_configure(config):
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)
    config.addinivalue_line("markers", "soak: a long run, only with "
                            "SOAK_SECONDS set (make soak)")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("SOAK_SECONDS"):
        return
    skip = pytest.mark.skip(reason="long run: make soak SOAK_SECONDS=N")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


# -- fixtures of the proxy tests (test_proxy_*.py) --------------------------

@pytest.fixture(scope="session")
def tls_cert(workroot):
    """(cert_path, key_path) of a self-signed certificate for directord."""
    from harness import rawclient
    return rawclient.make_cert(workroot)


@pytest.fixture
def proxy_director(director_factory, backends):
    """make(**kw) -> a started directord in front of the module's three
    backends, with plaintext logins allowed (the tests connect from
    another loopback address than the listener's); settings= merge."""

    def make(settings=None, **kwargs):
        top = {"disable_plaintext_auth": "no"}
        top.update(settings or {})
        return director_factory(1, settings=top, **kwargs)

    return make
