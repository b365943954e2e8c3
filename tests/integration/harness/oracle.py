"""The invariant oracle: a user's mailbox is never served by two backends
at the same time (DESIGN.md section 2), checked from the backends' logs.

Every backend log (Dovecot 2.3, log_timestamp with microseconds) is parsed
into sessions (user, backend, protocol, start, end, session id, client ip):

  start  "imap-login: Info: Login: user=<u>, ..., rip=IP, mpid=PID, ...,
         session=<ID>" (pop3-login likewise)
  end    the first line of the mail process "imap(u)<PID><ID>: ..." that
         says Disconnected / Connection closed / Logged out, or that is
         Fatal/Panic; or "service(imap): child PID killed/returned"; or a
         harness marker ("harness: Info: instance stopped|killed", written
         by DovecotBackend when it ends the instance); or a later "starting
         up" line of the master (the instance died unnoticed: the end is the
         last line before it).  A session with no end is open until `now`.
         A session that ends right after its login (a client pipelining
         LOGOUT) may have its end logged without the mail prefix: "imap:
         Info: Disconnected: ...".  Such a line ends the one open session
         of its protocol that started at most BARE_END_WINDOW seconds
         before it (or the one whose login is logged at most
         BARE_EARLY_WINDOW after it).  With several candidates it waits:
         a candidate that later logs an end line of its own did not write
         it (a session logs one end), and once one candidate is left the
         bare line ends that one, at the bare line's time; if that never
         happens it ends none, so the oracle errs towards reporting an
         overlap rather than hiding one.
  LMTP   "lmtp(u)<PID><ID>: Info: ...saved mail to ..." is a delivery, a
         session of zero length.

Two sessions of one user overlap if they are on different backends and
their time intervals intersect; a zero-length delivery overlaps an interval
only strictly inside it.  Touching ends (one ends when the other starts)
do not overlap.

Nothing here imports pytest.
"""
import datetime
import os
import re
import time

_TS = r"(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) "
_LOGIN_RX = re.compile(_TS + r"(?P<proto>[a-z0-9]+)-login: Info: Login: "
                       r"user=<(?P<user>[^>]*)>(?P<rest>.*)$")
_MAIL_RX = re.compile(_TS + r"(?P<proto>imap|pop3|managesieve|submission)"
                      r"\((?P<user>[^)]*)\)<(?P<pid>\d+)><(?P<sid>[^>]*)>: "
                      r"(?P<level>[A-Za-z]+): (?P<msg>.*)$")
_LMTP_RX = re.compile(_TS + r"lmtp\((?P<user>[^)]*)\)<(?P<pid>\d+)>"
                      r"<(?P<sid>[^>]*)>: Info: (?P<msg>.*saved mail to.*)$")
_CHILD_RX = re.compile(_TS + r"master: [A-Za-z]+: "
                       r"service\((?P<proto>[a-z0-9]+)\): "
                       r"child (?P<pid>\d+) (killed|returned)")
_MARKER_RX = re.compile(_TS + r"harness: Info: "
                        r"instance (?P<what>stopped|killed)")
_STARTUP_RX = re.compile(_TS + r"master: Info: Dovecot v.* starting up")
_BARE_END_RX = re.compile(_TS + r"(?P<proto>imap|pop3): Info: "
                          r"(?P<msg>(Disconnected|Connection closed|"
                          r"Logged out).*)$")
_ANY_TS_RX = re.compile(_TS)
_END_MSG_RX = re.compile(r"^(Disconnected|Connection closed|Logged out)")

HARNESS_MARKER = "harness: Info: instance %s\n"
BARE_END_WINDOW = 1.0       # seconds, see above
BARE_EARLY_WINDOW = 0.1


def parse_timestamp(ts):
    """Local-time log timestamp -> seconds since the epoch (float)."""
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in ts else "%Y-%m-%d %H:%M:%S"
    return datetime.datetime.strptime(ts, fmt).timestamp()


def format_timestamp(t):
    if t is None:
        return "open"
    return datetime.datetime.fromtimestamp(t).strftime("%H:%M:%S.%f")


def marker_line(what, when=None):
    """The line a harness writes into a backend log when it ended the
    instance (what = "stopped" or "killed")."""
    when = time.time() if when is None else when
    ts = datetime.datetime.fromtimestamp(when).strftime(
        "%Y-%m-%d %H:%M:%S.%f")
    return ts + " " + HARNESS_MARKER % what


class Session:
    """One login (or LMTP delivery) of user on backend."""

    __slots__ = ("user", "backend", "protocol", "start", "end", "session_id",
                 "client_ip", "pid", "line", "end_reason")

    def __init__(self, user, backend, protocol, start, end=None,
                 session_id="", client_ip="", pid=None, line=0,
                 end_reason=""):
        self.user = user
        self.backend = backend
        self.protocol = protocol
        self.start = start
        self.end = end
        self.session_id = session_id
        self.client_ip = client_ip
        self.pid = pid
        self.line = line
        self.end_reason = end_reason

    @property
    def is_open(self):
        return self.end is None

    def end_or(self, now):
        return now if self.end is None else self.end

    def describe(self, now=None):
        end = ("open" if self.end is None else format_timestamp(self.end))
        return ("%s on %s [%s - %s] session=%s rip=%s (log line %d)" %
                (self.protocol, self.backend, format_timestamp(self.start),
                 end, self.session_id, self.client_ip, self.line))

    def __repr__(self):
        return "Session(%s, %s)" % (self.user, self.describe())


def _login_fields(rest):
    fields = {}
    for m in re.finditer(r"(\w+)=(<[^>]*>|[^,]*)", rest):
        v = m.group(2)
        fields[m.group(1)] = v[1:-1] if v.startswith("<") else v
    return fields


def parse_log(text, backend):
    """Parse one backend's log text into a list of Session (in log order).
    Sessions still running at the end of the text have end None."""
    sessions = []
    open_by_key = {}            # (pid, session id) -> Session
    # ends logged before their login: each process writes its own lines,
    # so a short session's "Disconnected" may come before imap-login's
    # "Login" line
    ended_early = {}            # session id -> (time, reason)
    bare_early = []             # [(protocol, time, reason)] not yet paired
    # bare ends with several candidates: [time, reason, {open keys}]
    bare_pending = []
    last_ts = None

    def close(s, t, reason):
        s.end = max(t, s.start)
        s.end_reason = reason

    def ended_on_its_own(key):
        # the session of key did not write a pending bare end: one that
        # is left with a single candidate ends it
        for entry in list(bare_pending):
            entry[2].discard(key)
            if len(entry[2]) > 1:
                continue
            bare_pending.remove(entry)
            if entry[2]:
                other = entry[2].pop()
                s = open_by_key.pop(other, None)
                if s is not None:
                    close(s, entry[0], entry[1])
                    ended_on_its_own(other)

    def close_all(t, reason, pid=None):
        for key in list(open_by_key):
            s = open_by_key[key]
            if pid is None or s.pid == pid:
                close(s, t, reason)
                del open_by_key[key]

    for lineno, line in enumerate(text.splitlines(), 1):
        m = _ANY_TS_RX.match(line)
        if not m:
            continue
        t = parse_timestamp(m.group("ts"))
        m = _LOGIN_RX.match(line)
        if m:
            f = _login_fields(m.group("rest"))
            pid = int(f["mpid"]) if f.get("mpid", "").isdigit() else None
            s = Session(m.group("user"), backend, m.group("proto"), t,
                        session_id=f.get("session", ""),
                        client_ip=f.get("rip", ""), pid=pid, line=lineno)
            sessions.append(s)
            early = ended_early.pop(s.session_id, None)
            bare = [b for b in bare_early if b[0] == s.protocol and
                    t - b[1] <= BARE_EARLY_WINDOW]
            if early is not None and s.session_id:
                close(s, early[0], early[1])
            elif len(bare) == 1:
                bare_early.remove(bare[0])
                close(s, bare[0][1], bare[0][2])
            else:
                open_by_key[(pid, s.session_id)] = s
            last_ts = t
            continue
        m = _BARE_END_RX.match(line)
        if m:
            proto, msg = m.group("proto"), m.group("msg")
            recent = [k for k, o in open_by_key.items()
                      if o.protocol == proto and
                      t - o.start <= BARE_END_WINDOW]
            if len(recent) == 1:
                close(open_by_key.pop(recent[0]), t, msg[:60])
                ended_on_its_own(recent[0])
            elif not recent:
                bare_early.append((proto, t, msg[:60]))
            else:
                bare_pending.append([t, msg[:60], set(recent)])
            last_ts = t
            continue
        m = _MAIL_RX.match(line)
        if m:
            msg = m.group("msg")
            if (_END_MSG_RX.match(msg) or
                    m.group("level") in ("Fatal", "Panic")):
                key = (int(m.group("pid")), m.group("sid"))
                s = open_by_key.pop(key, None)
                if s is None:
                    # pair by session id alone (pid unknown at login)
                    for k in list(open_by_key):
                        if k[1] == key[1]:
                            s = open_by_key.pop(k)
                            key = k
                            break
                if s is not None:
                    close(s, t, msg[:60])
                    ended_on_its_own(key)
                elif key[1]:
                    ended_early[key[1]] = (t, msg[:60])
            last_ts = t
            continue
        m = _LMTP_RX.match(line)
        if m:
            sessions.append(Session(m.group("user"), backend, "lmtp", t, t,
                                    session_id=m.group("sid"),
                                    pid=int(m.group("pid")), line=lineno,
                                    end_reason="delivery"))
            last_ts = t
            continue
        m = _CHILD_RX.match(line)
        if m:
            close_all(t, "process died", pid=int(m.group("pid")))
            last_ts = t
            continue
        m = _MARKER_RX.match(line)
        if m:
            close_all(t, "instance " + m.group("what"))
            last_ts = t
            continue
        if _STARTUP_RX.match(line):
            if open_by_key:
                close_all(last_ts if last_ts is not None else t,
                          "instance restarted without a stop")
            last_ts = t
            continue
        last_ts = t
    return sessions


def _backend_logs(backends):
    """(name, log path) for each backend object or (name, path) pair."""
    out = []
    for b in backends:
        if isinstance(b, (tuple, list)):
            out.append((b[0], b[1]))
        else:
            out.append((b.name, b.log_path))
    return out


def collect_sessions(backends):
    """Sessions from the logs of backends (DovecotBackend objects or
    (name, log path) pairs).  A missing log counts as empty."""
    sessions = []
    for name, path in _backend_logs(backends):
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            text = ""
        sessions.extend(parse_log(text, name))
    return sessions


def _overlaps(a, b, now, tolerance):
    a_end, b_end = a.end_or(now), b.end_or(now)
    lo, hi = max(a.start, b.start), min(a_end, b_end)
    a_point, b_point = a.start == a_end, b.start == b_end
    if a_point or b_point:
        if a_point and b_point:
            return a.start == b.start
        p, o, o_end = (a, b, b_end) if a_point else (b, a, a_end)
        return o.start + tolerance < p.start < o_end - tolerance
    return hi - lo > tolerance


def find_overlaps(sessions, now=None, tolerance=0.0):
    """Pairs (a, b) of sessions of the same user on different backends
    whose intervals intersect by more than tolerance seconds.  Open sessions
    last until now (default: the current time)."""
    now = time.time() if now is None else now
    by_user = {}
    for s in sessions:
        by_user.setdefault(s.user, []).append(s)
    found = []
    for user in sorted(by_user):
        ss = sorted(by_user[user], key=lambda s: s.start)
        if len({s.backend for s in ss}) < 2:
            continue
        for i, a in enumerate(ss):
            a_end = a.end_or(now)
            for b in ss[i + 1:]:
                if b.start > a_end + tolerance:
                    break
                if a.backend != b.backend and _overlaps(a, b, now,
                                                        tolerance):
                    found.append((a, b))
    return found


def format_overlaps(overlaps, now=None):
    users = sorted({a.user for a, _ in overlaps})
    lines = ["invariant violated: %d user(s) served by two backends at "
             "the same time: %s" % (len(users), ", ".join(users))]
    for a, b in overlaps:
        lines.append("  %s: %s\n      overlaps %s" %
                     (a.user, a.describe(now), b.describe(now)))
    return "\n".join(lines)


class InvariantViolation(AssertionError):
    """Raised by check_no_overlap; .overlaps holds the session pairs."""

    def __init__(self, message, overlaps):
        super().__init__(message)
        self.overlaps = overlaps


def check_no_overlap(backends, now=None, tolerance=0.0):
    """Check the invariant over backends (DovecotBackend objects, (name,
    log path) pairs, or a list of Session).  Returns the sessions checked;
    raises InvariantViolation listing every user with overlapping sessions
    on two backends."""
    backends = list(backends)
    if backends and isinstance(backends[0], Session):
        sessions = backends
    else:
        sessions = collect_sessions(backends)
    now = time.time() if now is None else now
    overlaps = find_overlaps(sessions, now, tolerance)
    if overlaps:
        raise InvariantViolation(format_overlaps(overlaps, now), overlaps)
    return sessions


def sessions_of(sessions, user, protocol=None):
    """The sessions of user (optionally only of protocol), by start."""
    return sorted((s for s in sessions if s.user == user and
                   (protocol is None or s.protocol == protocol)),
                  key=lambda s: s.start)


def append_marker(log_path, what, when=None):
    """Write a harness marker line to a backend log (see marker_line)."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "a") as f:
        f.write(marker_line(what, when))
