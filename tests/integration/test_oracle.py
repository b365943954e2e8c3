"""The invariant oracle on synthetic Dovecot 2.3 log lines (no processes).

The oracle must be able to fail: several cases here contain overlaps that
must be reported, others contain near misses that must not.
"""
import datetime

import pytest

from harness import oracle

DAY = "2026-11-28 "


def ts(hms):
    return oracle.parse_timestamp(DAY + hms)


def login(hms, user, sid, pid, proto="imap", rip="127.0.0.1"):
    return ("%s%s %s-login: Info: Login: user=<%s>, method=PLAIN, rip=%s, "
            "lip=127.0.1.1, mpid=%d, secured, session=<%s>" %
            (DAY, hms, proto, user, rip, pid, sid))


def logout(hms, user, sid, pid, proto="imap", msg="Disconnected: Logged out "
           "in=32 out=788 deleted=0 expunged=0"):
    return "%s%s %s(%s)<%d><%s>: Info: %s" % (DAY, hms, proto, user, pid,
                                               sid, msg)


def delivery(hms, user, pid=900, sid="lmtpSID"):
    return ("%s%s lmtp(%s)<%d><%s>: Info: msgid=<x@y>: saved mail to INBOX" %
            (DAY, hms, user, pid, sid))


def write(tmp_path, name, lines):
    path = tmp_path / (name + ".log")
    path.write_text("\n".join(lines) + "\n")
    return (name, str(path))


def test_parse_login_and_logout():
    text = "\n".join([
        DAY + "10:00:00.000001 master: Info: Dovecot v2.3.19.1 (9b53102964)"
        " starting up for imap, pop3, lmtp (core dumps disabled)",
        login("10:00:01.250000", "user1", "AAAA", 101, rip="192.0.2.7"),
        DAY + "10:00:01.300000 imap-login: Info: Disconnected: Connection "
        "closed (auth failed, 1 attempts in 0 secs): user=<user2>, "
        "method=PLAIN, rip=127.0.0.1, lip=127.0.1.1, secured, session=<B>",
        logout("10:00:02.500000", "user1", "AAAA", 101),
        login("10:00:03.000000", "user3", "CCCC", 102, proto="pop3"),
        logout("10:00:04.000000", "user3", "CCCC", 102, proto="pop3",
               msg="Disconnected: Logged out top=0/0, retr=0/0, del=0/0, "
               "size=0"),
        delivery("10:00:05.000000", "user4"),
        login("10:00:06.000000", "user5", "DDDD", 103),
    ])
    ss = oracle.parse_log(text, "b1")
    assert [(s.user, s.protocol) for s in ss] == [
        ("user1", "imap"), ("user3", "pop3"), ("user4", "lmtp"),
        ("user5", "imap")]
    s1 = ss[0]
    assert s1.backend == "b1"
    assert s1.client_ip == "192.0.2.7"
    assert s1.session_id == "AAAA"
    assert s1.pid == 101
    assert s1.start == pytest.approx(ts("10:00:01.25"))
    assert s1.end == pytest.approx(ts("10:00:02.5"))
    assert ss[1].end == pytest.approx(ts("10:00:04"))
    assert ss[2].start == ss[2].end == pytest.approx(ts("10:00:05"))
    assert ss[3].is_open


def test_end_logged_before_login_closes_the_session():
    # a short session: the mail process's "Disconnected" is written before
    # imap-login's "Login" line (two processes, one log)
    text = "\n".join([
        logout("10:00:01.217268", "user7", "EEEE", 104),
        login("10:00:01.217384", "user7", "EEEE", 104),
        login("10:00:02.000000", "user8", "FFFF", 105),
    ])
    ss = oracle.parse_log(text, "b1")
    assert [s.user for s in ss] == ["user7", "user8"]
    assert not ss[0].is_open
    assert ss[0].end == ss[0].start == pytest.approx(ts("10:00:01.217384"))
    assert ss[1].is_open


def bare_end(hms, proto="imap"):
    # a session that ended right after its login, logged without the mail
    # prefix (seen with a LOGOUT pipelined right behind LOGIN)
    return ("%s%s %s: Info: Disconnected: Logged out in=8 out=469 "
            "deleted=0 expunged=0" % (DAY, hms, proto))


def test_bare_end_closes_the_one_recent_session(tmp_path):
    b3 = [login("04:52:53.484894", "user832", "FCAA", 25476),
          bare_end("04:52:53.486209"),
          login("04:52:53.626586", "user851", "YCAA", 25514)]
    ss = oracle.parse_log("\n".join(b3), "b3")
    assert not ss[0].is_open
    assert ss[0].end == pytest.approx(ts("04:52:53.486209"))
    assert ss[1].is_open
    # the same user later on another backend: no overlap
    b2 = [login("04:52:54.930767", "user832", "FCAB", 25878),
          logout("04:52:54.931442", "user832", "FCAB", 25878)]
    files = [write(tmp_path, "b3", b3), write(tmp_path, "b2", b2)]
    oracle.check_no_overlap(files, now=ts("04:52:57"))
    # without the bare line the b3 session is open: reported
    write(tmp_path, "b3", [b3[0], b3[2]])
    with pytest.raises(oracle.InvariantViolation):
        oracle.check_no_overlap(files, now=ts("04:52:57"))


def test_bare_end_before_its_login():
    ss = oracle.parse_log("\n".join([
        bare_end("10:00:01.100000", proto="pop3"),
        login("10:00:01.100200", "user7", "EEEE", 104, proto="pop3"),
        login("10:00:01.200000", "user8", "FFFF", 105, proto="pop3"),
    ]), "b1")
    assert not ss[0].is_open
    assert ss[0].end == ss[0].start
    assert ss[1].is_open


def test_bare_end_never_guesses():
    ss = oracle.parse_log("\n".join([
        # two recent candidates: neither is ended
        login("10:00:01.000000", "user1", "AAAA", 101),
        login("10:00:01.100000", "user2", "BBBB", 102),
        bare_end("10:00:01.200000"),
        # an old session is not ended by a bare line
        login("10:00:05.000000", "user3", "CCCC", 103, proto="pop3"),
        bare_end("10:00:06.500000", proto="pop3"),
        # nor one whose login comes well after it, nor a session of the
        # other protocol
        login("10:00:06.700000", "user4", "DDDD", 104, proto="pop3"),
        bare_end("10:00:06.800000"),
    ]), "b1")
    assert [s.is_open for s in ss] == [True, True, True, True]


def test_bare_end_resolved_when_the_other_candidates_end():
    # the soak's false positive: two recent imap sessions when the bare
    # line came; the other one logs its own end later, so the bare line
    # was the first one's
    ss = oracle.parse_log("\n".join([
        login("18:14:41.564878", "user902", "OHAA", 22205),
        login("18:14:42.055596", "user915", "wEAA", 22212),
        bare_end("18:14:42.122702"),
        login("18:14:42.137052", "user924", "gHAA", 22215),
        logout("18:14:42.337863", "user915", "wEAA", 22212),
        # three candidates: resolved once two have ended on their own
        login("18:20:00.000000", "a", "A1", 1),
        login("18:20:00.100000", "b", "B1", 2),
        login("18:20:00.200000", "c", "C1", 3),
        bare_end("18:20:00.300000"),
        logout("18:20:01.000000", "a", "A1", 1),
        logout("18:20:02.000000", "c", "C1", 3),
    ]), "b1")
    by_user = {s.user: s for s in ss}
    assert by_user["user902"].end == pytest.approx(ts("18:14:42.122702"))
    assert by_user["user915"].end == pytest.approx(ts("18:14:42.337863"))
    assert by_user["user924"].is_open
    assert by_user["b"].end == pytest.approx(ts("18:20:00.300000"))
    assert by_user["a"].end == pytest.approx(ts("18:20:01.000000"))


def test_end_by_connection_closed_fatal_child_death_and_marker():
    text = "\n".join([
        login("10:00:00.0", "a", "S1", 1),
        login("10:00:00.0", "b", "S2", 2),
        login("10:00:00.0", "c", "S3", 3),
        login("10:00:00.0", "d", "S4", 4),
        login("10:00:00.0", "e", "S5", 5),
        logout("10:00:01.0", "a", "S1", 1,
               msg="Disconnected: Connection closed (SELECT finished 0.005 "
               "secs ago) in=20 out=720"),
        "%s10:00:02.0 imap(b)<2><S2>: Fatal: master: service(imap): "
        "child 2 killed" % DAY,
        "%s10:00:03.0 master: Error: service(imap): child 3 killed with "
        "signal 9" % DAY,
        logout("10:00:04.0", "d", "S4", 4,
               msg="Disconnected: Server shutting down. in=0 out=438"),
        oracle.marker_line("killed", ts("10:00:05.0")).rstrip("\n"),
    ])
    ends = {s.user: s.end for s in oracle.parse_log(text, "b1")}
    assert ends == pytest.approx({"a": ts("10:00:01"), "b": ts("10:00:02"),
                                  "c": ts("10:00:03"), "d": ts("10:00:04"),
                                  "e": ts("10:00:05")})


def test_restart_without_stop_ends_sessions_at_last_line():
    text = "\n".join([
        login("10:00:00.0", "a", "S1", 1),
        DAY + "10:00:07.0 imap-login: Info: Disconnected: Connection closed "
        "(no auth attempts in 0 secs): user=<>, rip=127.0.0.1, session=<X>",
        DAY + "10:00:30.0 master: Info: Dovecot v2.3.19.1 (9b53102964) "
        "starting up for imap, pop3, lmtp (core dumps disabled)",
    ])
    (s,) = oracle.parse_log(text, "b1")
    assert s.end == pytest.approx(ts("10:00:07"))


def test_overlap_on_two_backends_is_reported(tmp_path):
    b1 = write(tmp_path, "b1", [
        login("10:00:00.0", "user1", "S1", 11),
        logout("10:00:10.0", "user1", "S1", 11),
        login("10:00:00.0", "user2", "S2", 12),
        logout("10:00:01.0", "user2", "S2", 12),
    ])
    b2 = write(tmp_path, "b2", [
        login("10:00:09.5", "user1", "S3", 21, proto="pop3"),
        logout("10:00:11.0", "user1", "S3", 21, proto="pop3"),
        login("10:00:02.0", "user2", "S4", 22),
        logout("10:00:03.0", "user2", "S4", 22),
    ])
    with pytest.raises(oracle.InvariantViolation) as ei:
        oracle.check_no_overlap([b1, b2], now=ts("10:00:20"))
    msg = str(ei.value)
    assert "1 user(s)" in msg
    assert "user1" in msg and "user2" not in msg
    assert "on b1" in msg and "on b2" in msg
    assert "S1" in msg and "S3" in msg
    assert len(ei.value.overlaps) == 1


def test_open_session_overlaps_until_now(tmp_path):
    b1 = write(tmp_path, "b1", [login("10:00:00.0", "user1", "S1", 11)])
    b2 = write(tmp_path, "b2", [login("10:05:00.0", "user1", "S2", 21),
                                logout("10:05:01.0", "user1", "S2", 21)])
    with pytest.raises(oracle.InvariantViolation):
        oracle.check_no_overlap([b1, b2], now=ts("10:10:00"))
    # "now" before the second login: no overlap yet
    oracle.check_no_overlap([b1, b2], now=ts("10:04:00"))


def test_delivery_inside_session_elsewhere_is_reported(tmp_path):
    b1 = write(tmp_path, "b1", [login("10:00:00.0", "user7", "S1", 11),
                                logout("10:00:05.0", "user7", "S1", 11)])
    b2 = write(tmp_path, "b2", [delivery("10:00:04.999999", "user7")])
    with pytest.raises(oracle.InvariantViolation) as ei:
        oracle.check_no_overlap([b1, b2])
    assert "lmtp on b2" in str(ei.value)


def test_several_users_all_listed(tmp_path):
    b1 = write(tmp_path, "b1", [login("10:00:00.0", u, "A" + u, 10 + i)
                                for i, u in enumerate(["u1", "u2", "u3"])])
    b2 = write(tmp_path, "b2", [login("10:00:01.0", u, "B" + u, 20 + i)
                                for i, u in enumerate(["u1", "u3"])])
    with pytest.raises(oracle.InvariantViolation) as ei:
        oracle.check_no_overlap([b1, b2], now=ts("10:01:00"))
    assert "2 user(s)" in str(ei.value)
    assert "u1, u3" in str(ei.value)


def test_no_overlap_cases(tmp_path):
    b1 = write(tmp_path, "b1", [
        # same user twice at once on ONE backend: allowed
        login("10:00:00.0", "user1", "S1", 11),
        login("10:00:01.0", "user1", "S2", 12),
        logout("10:00:05.0", "user1", "S1", 11),
        logout("10:00:06.0", "user1", "S2", 12),
        # ends exactly when the session on b2 starts: touching, allowed
        login("10:01:00.0", "user2", "S3", 13),
        logout("10:01:02.0", "user2", "S3", 13),
        delivery("10:02:00.0", "user3"),
    ])
    b2 = write(tmp_path, "b2", [
        login("10:00:06.000001", "user1", "S4", 21),
        logout("10:00:07.0", "user1", "S4", 21),
        login("10:01:02.0", "user2", "S5", 22),
        logout("10:01:03.0", "user2", "S5", 22),
        # delivery at the very end of an interval elsewhere: allowed
        delivery("10:00:07.0", "user1"),
        login("10:02:00.5", "user3", "S6", 23),
    ])
    ss = oracle.check_no_overlap([b1, b2], now=ts("10:03:00"))
    assert len(ss) == 8
    assert [s.backend for s in oracle.sessions_of(ss, "user1")] == [
        "b1", "b1", "b2", "b2"]


def test_tolerance_ignores_tiny_overlaps(tmp_path):
    b1 = write(tmp_path, "b1", [login("10:00:00.0", "u", "S1", 1),
                                logout("10:00:01.010", "u", "S1", 1)])
    b2 = write(tmp_path, "b2", [login("10:00:01.0", "u", "S2", 2),
                                logout("10:00:02.0", "u", "S2", 2)])
    with pytest.raises(oracle.InvariantViolation):
        oracle.check_no_overlap([b1, b2])
    oracle.check_no_overlap([b1, b2], tolerance=0.05)


def test_marker_line_round_trip():
    when = datetime.datetime(2026, 11, 28, 10, 0, 0, 123456).timestamp()
    line = oracle.marker_line("stopped", when)
    assert line == "2026-11-28 10:00:00.123456 harness: Info: instance " \
        "stopped\n"
    text = login("09:59:59.0", "u", "S", 1) + "\n" + line
    (s,) = oracle.parse_log(text, "b1")
    assert s.end == pytest.approx(when)
    assert s.end_reason == "instance stopped"
