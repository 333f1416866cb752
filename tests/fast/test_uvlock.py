"""uv's lock-file name for a non-virtual interpreter, and how pip opens that
file, as pure logic (fast tier). tests/slow/test_uv_system.py checks the names
against a real uv and the locking with real processes."""

import errno
import os
import stat
import sys

import pytest

from piplockhook import locations, lock, settings, uvlock
from piplockhook.cli.check import Mount, read_only_problem

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="uv's temp-dir lock is named for Unix paths only")


@pytest.mark.parametrize(
    ("executable", "digest"),
    [
        # Files uv 0.13.9 created, run for these interpreters.
        ("/usr/bin/python3.15", "bebe7b5187013b40"),
        ("/root/.pyenv/versions/3.12.1/bin/python3.12", "706ec5e9662ea698"),
    ],
)
def test_digests_that_uv_produced(executable, digest):
    assert uvlock.digest(executable) == digest


def test_the_path_is_hashed_by_components_as_rust_does():
    # Separators and `.` components do not count; the lengths keep a/bc from ab/c.
    assert uvlock.digest("/usr/bin/python3") == uvlock.digest("/usr//bin/./python3/")
    assert uvlock.digest("/a/bc") != uvlock.digest("/ab/c")
    assert uvlock.digest("./x") != uvlock.digest("x")  # a leading `.` is a component


def test_seahash_of_nothing_and_of_partial_words():
    assert uvlock.seahash(b"") != uvlock.seahash(b"\0")
    assert len({uvlock.seahash(b"x" * n) for n in range(17)}) == 17


def test_lock_path_follows_tmpdir_as_rust_temp_dir_does(tmp_path, monkeypatch):
    name = f"uv-{uvlock.digest('/p/python3')}.lock"
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert uvlock.lock_path("/p/python3") == str(tmp_path / name)
    monkeypatch.delenv("TMPDIR")
    assert uvlock.lock_path("/p/python3") == "/tmp/" + name
    monkeypatch.setenv("TMPDIR", "")  # set but empty: the working directory
    monkeypatch.chdir(tmp_path)
    assert uvlock.lock_path("/p/python3") == str(tmp_path / name)


@posix_only
def test_every_name_of_the_interpreter_gets_its_file(tmp_path, monkeypatch):
    real = tmp_path / "bin" / ("python%d.%d" % sys.version_info[:2])
    real.parent.mkdir()
    real.write_text("")
    (tmp_path / "bin" / "python3").symlink_to(real.name)
    (tmp_path / "bin" / "python").write_text("")  # another program: not a name of this one
    (tmp_path / "usrbin").symlink_to(tmp_path / "bin")  # as /bin -> /usr/bin
    monkeypatch.setenv("PATH", f"{tmp_path / 'usrbin'}{os.pathsep}/nonexistent")
    names = uvlock.executable_names(str(tmp_path / "bin" / "python3"))
    assert names == sorted(str(d / n) for d in (tmp_path / "bin", tmp_path / "usrbin") for n in ("python3", real.name))
    locks = uvlock.interpreter_locks(str(tmp_path / "bin" / "python3"))
    assert [path for path, _ in locks] == sorted(uvlock.lock_path(n) for n in names)


def test_uv_files_only_for_the_interpreter_s_own_packages(monkeypatch):
    monkeypatch.setattr(sys, "base_prefix", sys.prefix)  # as a system or conda Python
    assert locations.environment_location().uv_paths
    assert locations.location_for_options(None, "/elsewhere/x.lock").uv_paths  # the override replaces ours only

    class Target:
        target_dir = "/t"

    assert not locations.location_for_options(Target()).uv_paths  # uv locks /t/.lock itself
    monkeypatch.setattr(sys, "base_prefix", "/somewhere/else")  # a virtual environment
    assert not locations.environment_location().uv_paths


@posix_only
def test_uv_s_file_is_created_0666_and_never_through_a_symlink(tmp_path):
    path = str(tmp_path / "uv-x.lock")
    umask = os.umask(0o022)
    try:
        os.close(lock.primitive.open_lock_file(path, True, public=True))
    finally:
        os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666
    victim = tmp_path / "victim"
    victim.write_text("keep")
    os.symlink(victim, tmp_path / "uv-y.lock")
    with pytest.raises(lock.LockUnavailable, match="symbolic link"):
        lock.FileLock(str(tmp_path / "uv-y.lock"), public=True).ensure_open()
    assert victim.read_text() == "keep"
    with pytest.raises(lock.LockUnavailable):  # --dry-run creates nothing
        lock.FileLock(str(tmp_path / "uv-z.lock"), create=False, public=True).ensure_open()
    assert not os.path.exists(tmp_path / "uv-z.lock")


@posix_only
def test_nfs4_refusing_an_exclusive_lock_on_a_read_only_descriptor_is_named(tmp_path, monkeypatch):
    path = tmp_path / "lock"
    path.write_text("")
    file = lock.FileLock(str(path))
    file.fd = os.open(path, os.O_RDONLY)
    assert file.read_only

    def refuse(fd, exclusive):  # what flock(2) answers on NFSv4 for such a descriptor
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    monkeypatch.setattr(lock.primitive, "try_lock", refuse)
    with pytest.raises(lock.LockUnavailable, match=r"read-only .*NFSv4.*EBADF"):
        file.acquire(lock.EXCLUSIVE, 1, lambda fd: None)
    with pytest.raises(OSError):  # a shared request is not that case
        file.acquire(lock.SHARED, 1, lambda fd: None)
    file.close()


def test_check_names_the_nfs4_read_only_case():
    fails, why = read_only_problem("/n/.lock", Mount("/n", "nfs4", "rw,vers=4.2"))
    assert fails and "EBADF" in why
    fails, why = read_only_problem("/l/.lock", Mount("/", "ext4", "rw"))
    assert not fails and "NFSv4" in why


@pytest.mark.parametrize(("raw", "seconds"), [("", 300), ("2", 2), ("0", 0), ("0.5", 300), ("soon", 300), ("-1", 300)])
def test_uv_lock_timeout_is_read_as_uv_reads_it_and_never_stops_pip(raw, seconds):
    assert settings.parse_uv_timeout(raw) == seconds
