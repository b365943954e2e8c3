"""Real Dovecot 2.3 mail backends on loopback, one `dovecot -c CONF` each.

A DovecotBackend owns one instance: its work directory (config, run and
state dirs, log, maildirs, passwd-file), the daemonized master and every
process in the master's session.  stop() and kill() leave no process of the
instance behind; the atexit hook in procutil stops forgotten instances.

The log (one file, info and errors) is what the invariant oracle reads:
timestamps with microseconds, the imap-login/pop3-login "Login:" lines with
user, rip and session, the mail processes' disconnect lines, and LMTP's
"saved mail to" lines.

Importable without pytest (scripts/demo.py uses it).
"""
import os
import pwd
import re
import shutil
import signal
import subprocess
import time

from . import netutil, oracle, procutil

DOVECOT = os.environ.get("DOVECOT_BIN", "/usr/sbin/dovecot")

USER_COUNT = 1000               # user0 .. user999
USER_PASSWORD = "pass"
SPECIAL_USER = "alice"          # the one user with another password
SPECIAL_PASSWORD = "alice-secret"
MASTER_USER = "master"          # log in as "user1*master" with this password
MASTER_PASSWORD = "master-secret"
MASTER_SEPARATOR = "*"
MAIL_USER = "vmail"

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
MAIL_STOP_TIMEOUT = 3.0

# verbose_proctitle titles: "dovecot-INSTANCE/imap [user1 127.0.0.1]"
_MAIL_TITLE = re.compile(r"/(imap|pop3|lmtp|managesieve)( |$)")

CONFIG_TEMPLATE = """\
# Dovecot 2.3 mail backend @NAME@ on @IP@ (written by the test harness)
instance_name = @INSTANCE@
base_dir = @DIR@/run
state_dir = @DIR@/state
log_path = @DIR@/log/dovecot.log
info_log_path = @DIR@/log/dovecot.log
log_timestamp = "%Y-%m-%d %H:%M:%S.%{usecs} "
listen = @IP@
protocols = imap pop3 lmtp sieve
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_master_user_separator = @MASTER_SEP@
# the director forwards the client address (IMAP ID, XCLIENT) from here
login_trusted_networks = 127.0.0.0/8
verbose_proctitle = yes
shutdown_clients = yes

# every backend has its own storage on purpose: a message read back through
# the director proves which backend the user was routed to
mail_location = maildir:@DIR@/mail/%u
mail_uid = @MAIL_USER@
mail_gid = @MAIL_USER@
first_valid_uid = 1

# the passwords are for PLAIN and LOGIN only: an OAuth 2.0 bearer token
# (OAUTHBEARER, XOAUTH2, with an oauth2 passdb in extra_conf) must never
# be taken for a password
passdb {
  driver = passwd-file
  master = yes
  mechanisms = plain login
  args = @DIR@/etc/master-users
}
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = @DIR@/etc/users
}
userdb {
  driver = passwd-file
  args = @DIR@/etc/users
  default_fields = home=@DIR@/mail/%u
}

protocol imap {
  mail_max_userip_connections = 10000
}
protocol pop3 {
  mail_max_userip_connections = 10000
}

service imap-login {
  inet_listener imap {
    port = @IMAP_PORT@
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = @POP3_PORT@
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = @IP@
    port = @LMTP_PORT@
  }
}
service managesieve-login {
  inet_listener sieve {
    port = @SIEVE_PORT@
  }
}
# Sieve scripts live with the mailbox (ManageSieve through the director)
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
}
service anvil {
  unix_listener anvil {
    mode = 0600
  }
  # no auth penalty: failed logins (tests) must not slow down later logins
  # from the same address (every proxied login comes from the director)
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
@EXTRA@
"""


HAPROXY_CONF = """
haproxy_trusted_networks = 127.0.0.0/8
login_trusted_networks =
service imap-login {
  inet_listener imap {
    haproxy = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    haproxy = yes
  }
}
service lmtp {
  inet_listener lmtp {
    haproxy = yes
  }
}
service managesieve-login {
  inet_listener sieve {
    haproxy = yes
  }
}
"""


def _write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def user_names(count=USER_COUNT):
    """The regular test users, user0 .. user<count-1>."""
    return ["user%d" % i for i in range(count)]


class DovecotError(RuntimeError):
    pass


class DovecotBackend(procutil.LogFollower):
    """One Dovecot 2.3 instance serving IMAP, POP3 and LMTP on ip.

    name: short label (also the oracle's backend name), e.g. "b1".
    workdir: a directory this instance may own (created if missing).
    extra_conf: text appended to the configuration.
    user_count: the regular users it knows (user0 .. user<count-1>).
    """

    def __init__(self, name, ip, workdir, imap_port=netutil.IMAP_PORT,
                 pop3_port=netutil.POP3_PORT, lmtp_port=netutil.LMTP_PORT,
                 sieve_port=netutil.SIEVE_PORT,
                 extra_conf="", instance_prefix="dit",
                 user_count=USER_COUNT, haproxy=False):
        self.name = name
        self.ip = ip
        self.workdir = os.path.abspath(workdir)
        self.imap_port = imap_port
        self.pop3_port = pop3_port
        self.lmtp_port = lmtp_port
        self.sieve_port = sieve_port
        # haproxy: every listener takes only PROXY connections, and no
        # login network is trusted (the client's address can only come
        # from a PROXY header)
        self.haproxy = haproxy
        self.extra_conf = extra_conf + (HAPROXY_CONF if haproxy else "")
        self.user_count = user_count
        self.instance_name = "%s-%s" % (instance_prefix, name)
        self.config_path = os.path.join(self.workdir, "etc", "dovecot.conf")
        self.log_path = os.path.join(self.workdir, "log", "dovecot.log")
        self._log_file = self.log_path
        self.startup_log = os.path.join(self.workdir, "log", "startup.out")
        self.master_pid_path = os.path.join(self.workdir, "run",
                                            "master.pid")
        self.master_pid = None
        self.started_at = None
        self.stopped_at = None      # time.time() when stop()/kill() ended it
        self._setup()

    # -- files ------------------------------------------------------------

    def _setup(self):
        for sub in ("etc", "run", "state", "log", "mail"):
            os.makedirs(os.path.join(self.workdir, sub), exist_ok=True)
        os.chmod(self.workdir, 0o755)
        vmail = pwd.getpwnam(MAIL_USER)
        os.chown(os.path.join(self.workdir, "mail"), vmail.pw_uid,
                 vmail.pw_gid)
        lines = ["%s:{PLAIN}%s::::::" % (u, USER_PASSWORD)
                 for u in user_names(self.user_count)]
        lines.append("%s:{PLAIN}%s::::::" % (SPECIAL_USER, SPECIAL_PASSWORD))
        _write(os.path.join(self.workdir, "etc", "users"),
               "\n".join(lines) + "\n")
        _write(os.path.join(self.workdir, "etc", "master-users"),
               "%s:{PLAIN}%s\n" % (MASTER_USER, MASTER_PASSWORD))
        _write(self.config_path, self.render_config())

    def render_config(self):
        subst = {
            "@NAME@": self.name,
            "@INSTANCE@": self.instance_name,
            "@IP@": self.ip,
            "@DIR@": self.workdir,
            "@MASTER_SEP@": MASTER_SEPARATOR,
            "@MAIL_USER@": MAIL_USER,
            "@IMAP_PORT@": str(self.imap_port),
            "@POP3_PORT@": str(self.pop3_port),
            "@LMTP_PORT@": str(self.lmtp_port),
            "@SIEVE_PORT@": str(self.sieve_port),
            "@EXTRA@": self.extra_conf,
        }
        text = CONFIG_TEMPLATE
        for key, value in subst.items():
            text = text.replace(key, value)
        return text

    def mail_dir(self, user):
        """The maildir of user on this backend."""
        return os.path.join(self.workdir, "mail", user)

    # -- lifecycle --------------------------------------------------------

    @property
    def running(self):
        return (self.master_pid is not None and
                procutil.pid_alive(self.master_pid))

    def start(self, timeout=START_TIMEOUT):
        """Start the daemon and wait until IMAP, POP3 and LMTP greet."""
        if self.running:
            raise DovecotError("%s is already running" % self.name)
        for port in (self.imap_port, self.pop3_port, self.lmtp_port,
                     self.sieve_port):
            if not netutil.port_is_free(self.ip, port):
                raise DovecotError("%s:%d is already in use" %
                                   (self.ip, port))
        procutil.register(self)
        self.stopped_at = None
        # never a pipe: the daemonized master keeps stdout/stderr open
        with open(self.startup_log, "ab") as out:
            proc = subprocess.run([DOVECOT, "-c", self.config_path],
                                  stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=out, timeout=timeout)
        if proc.returncode != 0:
            raise DovecotError("dovecot %s failed to start (exit %d): %s" %
                               (self.name, proc.returncode,
                                self._startup_output()))
        try:
            self.master_pid = self._read_master_pid(timeout)
            deadline = time.monotonic() + timeout
            for port, greeting in ((self.imap_port, b"* OK"),
                                   (self.pop3_port, b"+OK"),
                                   (self.lmtp_port, b"220 "),
                                   (self.sieve_port, b'"IMPLEMENTATION"')):
                left = max(0.5, deadline - time.monotonic())
                netutil.wait_for_port(
                    self.ip, port, left, greeting,
                    netutil.PROXY_V2_LOCAL if self.haproxy else b"")
        except Exception:
            self.kill()
            raise
        self.started_at = time.time()
        return self

    def _startup_output(self):
        try:
            with open(self.startup_log, errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def _read_master_pid(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(self.master_pid_path) as f:
                    pid = int(f.read().strip())
                if procutil.pid_alive(pid):
                    return pid
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise DovecotError("%s: no master.pid after %.1fs: %s" %
                           (self.name, timeout, self._startup_output()))

    def pids(self):
        """Every live process of this instance (the master's session)."""
        if self.master_pid is None:
            return []
        return procutil.session_pids(self.master_pid)

    def mail_pids(self):
        """The imap, pop3 and lmtp processes (the ones serving sessions)."""
        out = []
        for pid in self.pids():
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    title = f.read().split(b"\0")[0].decode("ascii",
                                                            "replace")
            except OSError:
                continue
            if _MAIL_TITLE.search(title):
                out.append(pid)
        return out

    def stop(self, timeout=STOP_TIMEOUT):
        """Stop gracefully; SIGKILL whatever remains after timeout.
        Safe to call when not running."""
        pids = self.begin_stop()
        self.finish_stop(pids, timeout)

    def begin_stop(self):
        """Ask the master to shut down (SIGTERM, which is what `dovecot
        stop` sends, without its polling delay); returns the pids to wait
        for in finish_stop()."""
        if self.master_pid is None:
            return []
        pids = self.pids()
        # Mail processes first, while the log process still runs, so that
        # every open session logs its "Disconnected: Server shutting down"
        # line (a SIGTERMed master lets them linger for 10 s otherwise).
        mail = self.mail_pids()
        procutil.kill_pids(mail, signal.SIGTERM)
        procutil.wait_pids_gone(mail, MAIL_STOP_TIMEOUT)
        if procutil.pid_alive(self.master_pid):
            procutil.kill_pids([self.master_pid], signal.SIGTERM)
        return pids + [self.master_pid]

    def finish_stop(self, pids, timeout=STOP_TIMEOUT):
        """Wait for a stop begun by begin_stop(); SIGKILL leftovers."""
        if self.master_pid is None:
            procutil.unregister(self)
            return
        left = procutil.wait_pids_gone(pids, timeout)
        self._finish(left, "stopped")

    def kill(self):
        """SIGKILL every process of the instance at once: a crash, no
        disconnect lines in the log."""
        if self.master_pid is None:
            procutil.unregister(self)
            return
        self._finish(self.pids() + [self.master_pid], "killed")

    def _finish(self, leftovers, what):
        for _ in range(5):
            leftovers = [p for p in leftovers if procutil.pid_alive(p)]
            leftovers += [p for p in self.pids() if p not in leftovers]
            if not leftovers:
                break
            procutil.kill_pids(leftovers, signal.SIGKILL)
            leftovers = procutil.wait_pids_gone(leftovers, 5.0)
        self.stopped_at = time.time()
        # tells the oracle that every session still open has ended now
        oracle.append_marker(self.log_path, what, self.stopped_at)
        self.master_pid = None
        try:
            os.unlink(self.master_pid_path)
        except OSError:
            pass
        procutil.unregister(self)

    def restart(self):
        self.stop()
        return self.start()

    # -- logs -------------------------------------------------------------

    def log_errors(self, offset=0):
        """Log lines at level Error, Fatal or Panic."""
        return [l for l in self.log_text(offset).splitlines()
                if re.search(r": (Error|Fatal|Panic): ", l)]

    def remove_workdir(self):
        if self.running:
            raise DovecotError("%s is still running" % self.name)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __repr__(self):
        return "DovecotBackend(%s, %s)" % (self.name, self.ip)


def stop_backends(backends, timeout=STOP_TIMEOUT):
    """Stop several backends in parallel."""
    pending = [(b, b.begin_stop()) for b in backends]
    for b, pids in pending:
        b.finish_stop(pids, timeout)


def start_backends(plan, workroot, count, first=1, **kwargs):
    """Start count backends on plan's backend addresses first..first+count-1
    (named b<index>), each in workroot/b<index>.  On failure, stops the ones
    already started and re-raises."""
    started = []
    try:
        for i in range(first, first + count):
            name = "b%d" % i
            b = DovecotBackend(name, plan.backend_ip(i),
                               os.path.join(workroot, name),
                               instance_prefix="dit%d" % plan.slot, **kwargs)
            b.start()
            started.append(b)
    except Exception:
        stop_backends(started)
        raise
    return started
