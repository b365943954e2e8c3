"""A workload for a ring of directors: concurrent IMAP and LMTP clients
going through random directors, and random admin changes sent to random
directors, until stop().  Used by the chaos and soak tests together with
harness.chaos.

Every outcome is counted (`counts`).  What must never happen is listed
in `problems`: a login or a recipient that gets a permanent failure
(every test user exists and has the right password, so a refusal can
only mean that a director turned "cannot route now" into "no"); anything
else a client sees (a temporary failure, a closed connection, a kick) is
a normal outcome under faults and only counted.

Nothing here imports pytest.
"""
import random
import smtplib
import threading

from . import adminclient, dovecot, rawclient

# a login may wait for the ring up to the director's request timeout (30 s)
CLIENT_TIMEOUT = 45.0
ADMIN_TIMEOUT = 45.0
HOLD = (0.0, 1.5)               # seconds a logged-in session stays
ADMIN_INTERVAL = (0.3, 1.5)
WEIGHTS = (0, 50, 100, 100, 150, 200)
# how often each admin change is drawn
ADMIN_OPS = (("USER-MOVE", 5), ("HOST-SET", 2), ("HOST-UPDATE", 1),
             ("HOST-DOWN", 1), ("HOST-UP", 2), ("HOST-RESET-USERS", 1))
MESSAGE = (b"From: chaos@example.com\r\nSubject: ring chaos\r\n\r\n"
           b"delivered through a director\r\n")


class RingLoad:
    """directors: started harness.directord objects of one ring (a
    director may be down for a while: its clients count as refused);
    backend_ips: the backends the admin changes pick from; users: the
    user names the clients log in as (few, so that one user is often
    active through several directors at once)."""

    def __init__(self, directors, backend_ips, users, seed, imap_clients=3,
                 lmtp_clients=2, admin_clients=1, log=print):
        self.directors = list(directors)
        self.backend_ips = list(backend_ips)
        self.users = list(users)
        self.seed = seed
        self.log = log
        self.counts = {}
        self.problems = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._down = set()      # backends this load set down
        self._threads = []
        for kind, n in (("imap", imap_clients), ("lmtp", lmtp_clients),
                        ("admin", admin_clients)):
            for i in range(n):
                self._threads.append(threading.Thread(
                    target=self._run, args=(kind, seed * 100 + len(
                        self._threads)), daemon=True,
                    name="load-%s-%d" % (kind, i)))

    def count(self, what, n=1):
        with self._lock:
            self.counts[what] = self.counts.get(what, 0) + n

    def problem(self, text):
        with self._lock:
            if len(self.problems) < 100:
                self.problems.append(text)
        self.count("problems")

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(CLIENT_TIMEOUT + 15)
        stuck = [t.name for t in self._threads if t.is_alive()]
        if stuck:
            self.problem("clients still waiting %.0f s after stop: %s" %
                         (CLIENT_TIMEOUT + 15, ", ".join(stuck)))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _run(self, kind, seed):
        rng = random.Random(seed)
        step = getattr(self, "_" + kind)
        while not self._stop.is_set():
            try:
                step(rng)
            except Exception as e:      # a bug of the load: say it
                self.problem("%s client: %r" % (kind, e))
                self._stop.wait(1)
            if kind == "admin":
                self._stop.wait(rng.uniform(*ADMIN_INTERVAL))

    # -- clients ----------------------------------------------------------

    def _imap(self, rng):
        d = rng.choice(self.directors)
        user = rng.choice(self.users)
        try:
            c = rawclient.imap_connect(*d.listeners()["imap"],
                                       timeout=CLIENT_TIMEOUT)
        except (OSError, EOFError):
            self.count("imap refused")      # a director restarting
            self._stop.wait(0.2)
            return
        with c:
            try:
                reply = c.command("a", "LOGIN %s %s" %
                                  (user, dovecot.USER_PASSWORD))
            except (OSError, EOFError):
                self.count("imap closed before the login reply")
                return
            if reply.startswith(b"a NO [UNAVAILABLE]"):
                self.count("logins failed temporarily")
                return
            if not reply.startswith(b"a OK"):
                self.problem("IMAP login of %s through %s: %r" %
                             (user, d.name, reply))
                return
            self.count("logins")
            try:
                self._stop.wait(rng.uniform(*HOLD))
                c.command("n", "NOOP")
                c.command("z", "LOGOUT")
            except (OSError, EOFError):
                self.count("sessions kicked or cut")

    def _lmtp(self, rng):
        d = rng.choice(self.directors)
        user = rng.choice(self.users)
        try:
            with smtplib.LMTP(d.ip, d.lmtp_port,
                              timeout=CLIENT_TIMEOUT) as lmtp:
                lmtp.sendmail("chaos@example.com", [user], MESSAGE)
            self.count("deliveries")
        except smtplib.SMTPRecipientsRefused as e:
            self._lmtp_refused(d, user, e.recipients[user][0],
                               e.recipients[user][1])
        except smtplib.SMTPResponseException as e:
            self._lmtp_refused(d, user, e.smtp_code, e.smtp_error)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.count("lmtp connections cut")
            self._stop.wait(0.2)

    def _lmtp_refused(self, d, user, code, text):
        if 400 <= code < 500:
            self.count("deliveries failed temporarily")
        else:
            self.problem("LMTP to %s through %s: %d %r" %
                         (user, d.name, code, text))

    # -- admin changes -------------------------------------------------------

    def _admin_fields(self, rng):
        op = rng.choices([o for o, _ in ADMIN_OPS],
                         [w for _, w in ADMIN_OPS])[0]
        ip = rng.choice(self.backend_ips)
        if op == "USER-MOVE":
            up = [b for b in self.backend_ips if b not in self._down]
            return (op, rng.choice(self.users), rng.choice(up))
        if op in ("HOST-SET", "HOST-UPDATE"):
            return (op, ip, str(rng.choice(WEIGHTS)))
        if op == "HOST-DOWN":
            # one backend down at a time: users always have somewhere to go
            if self._down:
                return None
            self._down.add(ip)
            return (op, ip)
        if op == "HOST-UP":
            if not self._down:
                return None
            return (op, self._down.pop())
        return (op, ip)

    def _admin(self, rng):
        fields = self._admin_fields(rng)
        if fields is None:
            return
        d = rng.choice(self.directors)
        try:
            with adminclient.AdminClient(d.admin_socket,
                                         timeout=ADMIN_TIMEOUT) as a:
                reply = a.command(*fields)
        except (OSError, EOFError):
            self.count("admin commands unanswered")
            return
        self.count("admin %s %s" % (fields[0], "ok" if reply == "OK"
                                    else "answered %r" % reply[:40]))

    def settle(self, director):
        """Every backend up with 100 vhosts again, through director:
        after the load, so that the directors are compared in a calm
        state.  Returns the replies that were not OK."""
        bad = []
        for ip in self.backend_ips:
            for fields in (("HOST-UP", ip), ("HOST-SET", ip, "100")):
                with adminclient.AdminClient(director.admin_socket,
                                             timeout=ADMIN_TIMEOUT) as a:
                    reply = a.command(*fields)
                if reply != "OK":
                    bad.append("%s: %s" % (" ".join(fields), reply))
        self._down.clear()
        return bad

    def summary(self):
        return ", ".join("%s %d" % (k, v) for k, v in
                         sorted(self.counts.items()))
