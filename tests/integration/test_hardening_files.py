"""The files root touches in directories the service user owns (issue #13
item 7): the admin socket is never created through a link or over a file
that is not a socket, and the state file is not read from a directory
that others may write to."""
import os
import pwd
import socket
import stat

from harness import adminclient, directord


def _start_refused(d, want):
    """Runs d, which must exit non-zero with a log line matching want."""
    d.expect_exit = None
    d.spawn()
    rc = d.wait_exit(10)
    assert rc not in (0, None) and rc > 0, (rc, d.log_tail())
    d.wait_log(want)
    assert d.sanitizer_reports() == []


def _root_file(d):
    path = os.path.join(d.workdir, "root-owned")
    with open(path, "w") as f:
        f.write("root's\n")
    os.chown(path, 0, 0)
    os.chmod(path, 0o600)
    return path


def _untouched(path):
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o600)
    with open(path) as f:
        assert f.read() == "root's\n"


def test_symlink_at_the_admin_socket_is_refused(director_factory):
    d = director_factory(1, start=False)
    target = _root_file(d)
    os.symlink(target, d.admin_socket)
    _start_refused(d, r"admin_socket .*: not a socket")
    _untouched(target)
    assert os.path.islink(d.admin_socket)


def test_regular_file_at_the_admin_socket_is_refused(director_factory):
    d = director_factory(1, start=False)
    with open(d.admin_socket, "w") as f:
        f.write("keep\n")
    _start_refused(d, r"admin_socket .*: not a socket")
    with open(d.admin_socket) as f:
        assert f.read() == "keep\n"


def test_stale_socket_is_replaced_with_owner_and_mode(director_factory):
    d = director_factory(1, start=False,
                         settings={"admin_socket_mode": "0660"})
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(d.admin_socket)
    stale.close()
    d.start()
    st = os.lstat(d.admin_socket)
    user = pwd.getpwnam(directord.DIRECTOR_USER)
    assert stat.S_ISSOCK(st.st_mode)
    assert st.st_uid == user.pw_uid
    assert stat.S_IMODE(st.st_mode) == 0o660
    c = adminclient.AdminClient(d.admin_socket, timeout=5)
    c.close()


def test_world_writable_state_dir_is_refused(director_factory):
    d = director_factory(1, start=False)
    os.chmod(d.state_dir, 0o777)
    _start_refused(d, r"state_dir .*writable by group or others")


def test_foreign_state_dir_is_refused(director_factory):
    d = director_factory(1, start=False)
    nobody = pwd.getpwnam("nobody")
    os.chown(d.state_dir, nobody.pw_uid, nobody.pw_gid)
    _start_refused(d, r"state_dir .*owned by uid %d" % nobody.pw_uid)
