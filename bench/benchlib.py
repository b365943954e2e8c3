"""What the benchmark scripts of bench/ share: one real Dovecot backend
and a release directord in front of it on loopback (the integration
harness), pinning Dovecot to a CPU of its own, and measuring the CPU
time each side spends."""
import contextlib
import os
import resource
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from harness import directord, dovecot, netutil, procutil  # noqa: E402


def require(name, build, programs):
    """Exits unless root and every program of build is there."""
    if os.geteuid() != 0:
        sys.exit("%s: run as root (it starts Dovecot and directord)" % name)
    for prog in programs:
        if not os.access(os.path.join(build, prog), os.X_OK):
            sys.exit("%s: %s missing in %s (make BUILD=%s benches bins)" %
                     (name, prog, build, build))


@contextlib.contextmanager
def cluster(build, settings, dovecot_extra="", keep=False,
            extra_directors=(), extra_listeners=None):
    """Yields (backend, director): one Dovecot backend and a started
    directord from build with settings (log_level warning by default);
    stops both and removes their files afterwards (kept with keep).  Each
    entry of extra_directors (a backend block's settings) starts one more
    directord (d2, d3, ...) with it, yielded after the first.
    extra_listeners: more listen blocks of every directord (see
    harness.directord.Directord)."""
    plan = netutil.allocate_plan()
    work = tempfile.mkdtemp(prefix="director-bench-", dir="/tmp")
    os.chmod(work, 0o755)
    backend = None
    directors = []
    try:
        (backend,) = dovecot.start_backends(plan, work, 1,
                                            extra_conf=dovecot_extra)
        top = {"log_level": "warning"}
        top.update(settings)
        for i, block in enumerate([None] + list(extra_directors), 1):
            d = directord.Directord(
                "d%d" % i, plan.director_ip(i),
                os.path.join(work, "d%d" % i), mail_servers=[backend],
                binary=os.path.join(build, "directord"), settings=top,
                backend_settings=block, env={"ASAN_OPTIONS": ""},
                extra_listeners=extra_listeners)
            directors.append(d)
            d.start()
        yield (backend,) + tuple(directors)
    finally:
        for director in reversed(directors):
            director.stop()
        if backend is not None:
            dovecot.stop_backends([backend])
        procutil.stop_all()
        plan.release()
        if keep:
            print("work directory kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def backend_pids(backend):
    """The Dovecot master of backend and all its children."""
    with open(backend.master_pid_path) as f:
        master = int(f.read().strip())
    pids = [master]
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid == master:
                pids.append(int(p))
    return pids


def pin_tree(pids, cpus):
    """Pins every thread of pids to cpus (new children inherit it)."""
    for pid in pids:
        try:
            for tid in os.listdir("/proc/%d/task" % pid):
                os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass


@contextlib.contextmanager
def backend_on_own_cpu(backend, *directors):
    """Pins Dovecot to the last CPU and directord and this process (so its
    load generators) to the others, as deployed: the backend on a host of
    its own, clients and directors elsewhere.  Direct runs then talk to
    Dovecot across CPUs as the proxied ones do (a client on the backend's
    own CPU would make the direct runs unrealistically cheap: on loopback
    a same-CPU wake-up costs much less than a cross-CPU one, more so in a
    virtual machine).  Yields the label to print, or None on a single
    CPU."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        yield None
        return
    pin_tree(backend_pids(backend), {cpus[-1]})
    os.sched_setaffinity(0, set(cpus[:-1]))
    pin_tree([d.pid for d in directors], set(cpus[:-1]))
    try:
        yield ("Dovecot pinned to CPU %d, directord and the load generator "
               "to CPUs %s" % (cpus[-1], ",".join(map(str, cpus[:-1]))))
    finally:
        os.sched_setaffinity(0, set(cpus))
        pin_tree(backend_pids(backend), set(cpus))
        pin_tree([d.pid for d in directors], set(cpus))


def cpu_seconds(pids):
    """User + system CPU seconds used so far by pids and their reaped
    children."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds of Dovecot (master, children and reaped children),
    directord and this process's reaped children (the load generators)
    over one run: start(), then stop() returns the three figures."""

    def __init__(self, backend, director):
        self.backend, self.director = backend, director

    def _now(self):
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (cpu_seconds(backend_pids(self.backend)),
                cpu_seconds([self.director.pid]),
                ru.ru_utime + ru.ru_stime)

    def start(self):
        self.t0 = time.monotonic()
        self.c0 = self._now()

    def stop(self):
        c1 = self._now()
        return {"dovecot": c1[0] - self.c0[0],
                "directord": c1[1] - self.c0[1],
                "load": c1[2] - self.c0[2],
                "wall": time.monotonic() - self.t0}


def shared_label():
    return ("load generator, Dovecot and directord share %d CPUs" %
            len(os.sched_getaffinity(0)))
