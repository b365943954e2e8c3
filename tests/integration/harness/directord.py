"""directord processes for the integration tests.

A Directord owns one daemon: its work directory (config, pid file, admin
socket, state dir, captured stderr) and the foreground process started as
`directord -F -c FILE`.  The contract it relies on (from the daemon's
brief): ready = pid_file exists; SIGTERM -> exit 0 and pid_file removed;
SIGHUP -> "configuration reloaded" or "reload failed" in the log;
`directord -n -c FILE` checks a file.

stop() reports sanitizer findings (ASan, UBSan, LSan) in the captured
stderr; the pytest fixtures turn them into test failures.  The atexit hook
in procutil kills forgotten daemons.  Nothing here imports pytest.
"""
import os
import pwd
import re
import signal
import subprocess
import time

from . import netutil, procutil

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
DEFAULT_BUILD = os.path.join(ROOT, "build", "check")
DIRECTOR_USER = "director"

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
CHECK_TIMEOUT = 10.0

SANITIZER_PATTERNS = (
    "ERROR: AddressSanitizer",
    "runtime error:",
    "ERROR: LeakSanitizer",
    "LeakSanitizer has encountered a fatal error",
    "UndefinedBehaviorSanitizer",
)


def build_dir():
    return os.environ.get("DIRECTOR_BUILD", DEFAULT_BUILD)


def binary_path(name="directord"):
    """Path of a program in the build directory ($DIRECTOR_BUILD)."""
    return os.path.join(build_dir(), name)


def sanitizer_env(env=None):
    env = dict(os.environ if env is None else env)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


def sanitizer_reports(text):
    """Lines of text that report a sanitizer finding."""
    return [l for l in text.splitlines()
            if any(p in l for p in SANITIZER_PATTERNS)]


def _conf_block(name, settings, indent=""):
    lines = ["%s%s {" % (indent, name)]
    for k, v in settings.items():
        lines.append("%s  %s = %s" % (indent, k, v))
    lines.append(indent + "}")
    return lines


class DirectordError(RuntimeError):
    pass


class Directord(procutil.LogFollower):
    """One directord on ip.

    name: short label ("d1"); workdir: a directory this instance owns.
    mail_servers: the backend IPs (strings) or objects with .ip.
    settings: top-level settings that override the generated ones (a
    value of None drops the setting); extra_conf: text appended verbatim.
    listen_settings: {listener name: {key: value}} merged into the
    generated imap/pop3/lmtp blocks (e.g. {"imap": {"tls": "starttls"}});
    extra_listeners: {name: {key: value}} more listen blocks, each with
    the director's address unless it sets one (e.g. {"imaps":
    {"protocol": "imap", "port": 1993, "tls": "implicit"}});
    backend_settings: {key: value} merged into the backend block.
    env: {name: value} for the daemon's environment (over the sanitizer
    defaults, e.g. a smaller ASan quarantine for memory measurements).
    preexec: a function run in the child before exec (e.g. to set a
    resource limit).
    """

    def __init__(self, name, ip, workdir, mail_servers=(),
                 imap_port=netutil.IMAP_PORT, pop3_port=netutil.POP3_PORT,
                 lmtp_port=netutil.LMTP_PORT, director_servers="",
                 settings=None, extra_conf="", pid_file=None,
                 binary=None, listen_settings=None, extra_listeners=None,
                 backend_settings=None, env=None, preexec=None):
        self.name = name
        self.ip = ip
        self.workdir = os.path.abspath(workdir)
        self.mail_servers = [getattr(m, "ip", m) for m in mail_servers]
        self.imap_port = imap_port
        self.pop3_port = pop3_port
        self.lmtp_port = lmtp_port
        self.director_servers = director_servers
        self.settings = dict(settings or {})
        self.extra_conf = extra_conf
        self.listen_settings = dict(listen_settings or {})
        self.extra_listeners = dict(extra_listeners or {})
        self.backend_settings = dict(backend_settings or {})
        self.env = dict(env or {})
        self.preexec = preexec
        self.binary = binary or binary_path()
        self.config_path = os.path.join(self.workdir, "directord.conf")
        self.run_dir = os.path.join(self.workdir, "run")
        self.state_dir = os.path.join(self.workdir, "state")
        self.pid_file = pid_file or os.path.join(self.run_dir,
                                                 "directord.pid")
        self.admin_socket = os.path.join(self.run_dir, "admin")
        self.stderr_path = os.path.join(self.workdir, "directord.log")
        self._log_file = self.stderr_path
        self.proc = None
        self.returncode = None
        self.expect_exit = 0        # what the fixtures accept at teardown
        self._setup()

    # -- files ------------------------------------------------------------

    def _setup(self):
        os.makedirs(self.workdir, exist_ok=True)
        os.chmod(self.workdir, 0o755)
        user = pwd.getpwnam(DIRECTOR_USER)
        for d in (self.run_dir, self.state_dir):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
            os.chown(d, user.pw_uid, user.pw_gid)
        self.write_config()

    def listeners(self):
        """{name: (address, port)} of the client listeners (the extra
        listeners included)."""
        out = {"imap": (self.ip, self.imap_port),
               "pop3": (self.ip, self.pop3_port),
               "lmtp": (self.ip, self.lmtp_port)}
        for name, conf in self.extra_listeners.items():
            out[name] = (conf.get("address", self.ip), int(conf["port"]))
        return out

    def _listen_blocks(self):
        lines = []
        for proto, (addr, port) in self.listeners().items():
            if proto in self.extra_listeners:
                block = {"address": addr}
                block.update(self.extra_listeners[proto])
            else:
                block = {"address": addr, "port": port}
                block.update(self.listen_settings.get(proto, {}))
            lines += _conf_block("listen " + proto, block)
        return lines

    def render_config(self, settings=None, extra_conf=None):
        """The configuration text; settings/extra_conf as in __init__
        (default: the instance's own)."""
        top = {
            "user": DIRECTOR_USER,
            "state_dir": self.state_dir,
            "pid_file": self.pid_file,
            "admin_socket": self.admin_socket,
            "log_level": "debug",
            "director_mail_servers": " ".join(self.mail_servers),
            "director_servers": self.director_servers,
            # backend health checks are off unless a test turns them on:
            # tests that stop backends on purpose expect them to stay in
            # the routing (tests/integration/test_health.py covers them)
            "health_check": "no",
        }
        # DIRECTOR_TEST_WORKERS=N runs every director with N worker
        # threads (run_tests.py runs the session tests that way too)
        if os.environ.get("DIRECTOR_TEST_WORKERS"):
            top["workers"] = os.environ["DIRECTOR_TEST_WORKERS"]
        top.update(self.settings if settings is None else settings)
        lines = ["# directord %s on %s (written by the test harness)" %
                 (self.name, self.ip)]
        for k, v in top.items():
            if v is not None:
                lines.append(("%s = %s" % (k, v)).rstrip())
        lines.append("")
        lines += self._listen_blocks()
        backend = {"imap_port": self.imap_port,
                   "pop3_port": self.pop3_port,
                   "lmtp_port": self.lmtp_port,
                   "sieve_port": netutil.SIEVE_PORT}
        backend.update(self.backend_settings)
        lines += _conf_block("backend", backend)
        extra = self.extra_conf if extra_conf is None else extra_conf
        if extra:
            lines.append(extra.rstrip("\n"))
        return "\n".join(lines) + "\n"

    def write_config(self, text=None, path=None):
        """Write text (default: render_config()) to path (default: the
        instance's config file, which start() and reload() use)."""
        path = path or self.config_path
        with open(path, "w") as f:
            f.write(self.render_config() if text is None else text)
        os.chmod(path, 0o644)
        return path

    # -- one-shot commands ------------------------------------------------

    def check_config(self, path=None, timeout=CHECK_TIMEOUT):
        """Run `directord -n -c FILE`; returns the CompletedProcess."""
        self._require_binary()
        return subprocess.run([self.binary, "-n", "-c",
                               path or self.config_path],
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, errors="replace", timeout=timeout,
                              env=sanitizer_env())

    # -- lifecycle --------------------------------------------------------

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _require_binary(self):
        if not os.access(self.binary, os.X_OK):
            raise DirectordError("no directord binary at %s (build it with "
                                 "make BUILD=build/check SAN=1 tests, or "
                                 "set DIRECTOR_BUILD)" % self.binary)

    def spawn(self):
        """Start `directord -F -c FILE` without waiting for readiness."""
        if self.running:
            raise DirectordError("%s is already running" % self.name)
        self._require_binary()
        self.returncode = None
        self._log_start = self.log_offset()
        procutil.register(self)
        # stderr goes to a file, never a pipe that nobody drains
        with open(self.stderr_path, "ab") as out:
            self.proc = subprocess.Popen(
                [self.binary, "-F", "-c", self.config_path],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                env=dict(sanitizer_env(), **self.env),
                start_new_session=True, preexec_fn=self.preexec)
        return self.proc

    def start(self, timeout=START_TIMEOUT):
        """Start and wait until the pid file exists.  Raises DirectordError
        with the log tail if the process exits or is not ready in time."""
        self.spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                procutil.unregister(self)
                raise DirectordError("%s exited with %d before it was ready:"
                                     "\n%s" % (self.name, self.returncode,
                                               self.log_tail()))
            if self.read_pid_file() is not None:
                return self
            time.sleep(0.02)
        self.kill()
        raise DirectordError("%s: no pid file %s after %.1fs:\n%s" %
                             (self.name, self.pid_file, timeout,
                              self.log_tail()))

    def read_pid_file(self):
        """The pid in pid_file, or None if it is missing or empty."""
        try:
            with open(self.pid_file) as f:
                text = f.read().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Wait for the process to exit; returns its exit status (negative
        for a signal).  Raises subprocess.TimeoutExpired."""
        self.returncode = self.proc.wait(timeout)
        procutil.unregister(self)
        return self.returncode

    def signal(self, sig):
        if self.running:
            os.kill(self.proc.pid, sig)

    def reload(self):
        """Send SIGHUP (the caller waits for the log line it expects)."""
        self.signal(signal.SIGHUP)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM and wait; SIGKILL if it does not exit in time.  Returns
        the exit status (None if it was never started).  Safe to call
        twice."""
        if self.proc is None:
            procutil.unregister(self)
            return None
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                return self.wait_exit(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise DirectordError("%s did not exit %.1fs after SIGTERM" %
                                     (self.name, timeout))
        self.returncode = self.proc.returncode
        procutil.unregister(self)
        return self.returncode

    def kill(self):
        """SIGKILL (a crash); returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.returncode = self.proc.wait(STOP_TIMEOUT)
        procutil.unregister(self)
        return self.returncode

    # -- logs -------------------------------------------------------------

    def log_tail(self, chars=4000):
        return self.log_text()[-chars:]

    def sanitizer_reports(self):
        return sanitizer_reports(self.log_text())

    def problems(self, expect_exit=0):
        """What is wrong after the daemon stopped: sanitizer reports and an
        unexpected exit status (expect_exit None: any).  [] if all is well."""
        out = []
        reports = self.sanitizer_reports()
        if reports:
            out.append("%s: sanitizer reports:\n  %s" %
                       (self.name, "\n  ".join(reports[:20])))
        if (expect_exit is not None and self.returncode is not None and
                self.returncode != expect_exit):
            out.append("%s exited with %d, expected %d" %
                       (self.name, self.returncode, expect_exit))
        if out:
            out.append("log tail of %s:\n%s" % (self.name,
                                                 self.log_tail(3000)))
        return out

    def __repr__(self):
        return "Directord(%s, %s)" % (self.name, self.ip)
