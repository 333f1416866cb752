"""The environment lock in one process, on tmp_path (the fast tier).

flock excludes between two descriptors of one process, so two
EnvironmentLocks here contend as two pips would; the nesting tests use the
in-process record and the inherited marker. Real processes: test_locking.py.
"""

import os
import sys
import threading
import time

import pytest
from inprocess import fresh_process

from piplockhook.locations import LockLocation
from piplockhook.lock import EXCLUSIVE, SHARED, FileLock, LockError, LockTimeout, environment, holders
from piplockhook.lock.environment import TURNSTILE_SUFFIX, EnvironmentLock, environment_lock
from piplockhook.report import Reporter
from piplockhook.settings import read

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="flock between descriptors")


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch):
    fresh_process()
    monkeypatch.delenv(environment.MARKER, raising=False)
    yield
    fresh_process()


class Recorder(Reporter):
    """A Reporter that keeps its lines instead of writing them."""

    def __init__(self, debug=True, quiet=0, patience=None):
        super().__init__(debug, quiet)
        self.lines = []
        self._patience = patience

    @property
    def patience(self):
        return super().patience if self._patience is None else self._patience

    def debug(self, event, mode, path, detail=""):
        self.lines.append(("debug", event, mode))

    def waiting(self, mode, path, environment, cause):
        self.lines.append(("waiting", mode, cause))

    def acquired(self, mode, waited):
        self.lines.append(("acquired", mode))

    def warning(self, text):
        self.lines.append(("warning", text))

    def unlocked(self, why, loud):
        self.lines.append(("unlocked", why, loud))

    def said(self, kind):
        return [line for line in self.lines if line[0] == kind]


def forget_holds():
    """As if the holds so far were another process's (they are not nested then)."""
    fresh_process()
    os.environ.pop(environment.MARKER, None)


def make(tmp_path, reporter=None, **kwargs):
    where = LockLocation(str(tmp_path / "env" / ".lock"), str(tmp_path / "env"))
    return EnvironmentLock(where, reporter=reporter or Recorder(), **kwargs)


def in_thread(function):
    """Run `function` in a thread; return (thread, result list)."""
    result = []
    thread = threading.Thread(target=lambda: result.append(function()), daemon=True)
    thread.start()
    return thread, result


def waiting_line_while(lock, reporter, release):
    """Take `lock` shared in a thread; once it says it waits, `release()` what
    holds it; return the waiting line (bounded: 10 s for each step)."""
    thread, _ = in_thread(lambda: lock.acquire(SHARED))
    deadline = time.monotonic() + 10
    while not reporter.said("waiting") and time.monotonic() < deadline:
        time.sleep(0.01)
    release()
    thread.join(10)
    (waiting,) = reporter.said("waiting")
    return waiting


@posix_only
def test_two_locks_in_one_process_exclude_each_other(tmp_path):
    first, second = make(tmp_path), make(tmp_path, timeout=0.2)
    first.acquire(EXCLUSIVE)
    assert os.path.exists(first.path) and first.mode == EXCLUSIVE
    forget_holds()
    with pytest.raises(LockTimeout) as raised:
        second.acquire(SHARED)
    assert raised.value.file.path == first.path
    message = str(raised.value)
    assert message.startswith("timed out after 0.2s (PIPLOCKHOOK_TIMEOUT) waiting for the shared lock on ")
    assert message.endswith("; nothing was changed") and f"({first.path})" in message
    assert second.mode is None and second.file.fd is None  # it closed what it opened
    first.close()
    second.acquire(SHARED)
    assert second.mode == SHARED
    second.close()


@posix_only
def test_shared_holders_share_and_an_exclusive_request_waits_for_them(tmp_path):
    readers = [make(tmp_path), make(tmp_path)]
    for reader in readers:
        reader.acquire(SHARED)
        forget_holds()
    writer = make(tmp_path, timeout=0.1)
    with pytest.raises(LockTimeout, match="exclusive lock"):
        writer.acquire(EXCLUSIVE)
    for reader in readers:
        reader.close()
    writer.timeout = None
    writer.acquire(EXCLUSIVE)
    writer.close()


@posix_only
def test_moving_from_shared_to_exclusive_releases_first_and_says_so(tmp_path):
    reporter = Recorder()
    lock = make(tmp_path, reporter)
    lock.acquire(SHARED)
    lock.acquire(EXCLUSIVE)
    assert lock.mode == EXCLUSIVE
    events = [line[1:] for line in reporter.said("debug")]
    assert events == [("acquired", SHARED), ("released", SHARED), ("acquired", EXCLUSIVE)]
    assert environment.parse_marker(os.environ[environment.MARKER])[lock.path] == (os.getpid(), EXCLUSIVE)
    lock.close()
    assert environment.MARKER not in os.environ  # the inherited value (none) is back


@posix_only
def test_a_wait_shorter_than_its_patience_says_nothing(tmp_path):
    holder, reporter = make(tmp_path), Recorder(patience=5.0)
    holder.acquire(EXCLUSIVE)
    forget_holds()
    waiter = make(tmp_path, reporter)
    thread, _ = in_thread(lambda: waiter.acquire(SHARED))
    time.sleep(0.2)
    holder.close()
    thread.join(10)
    assert waiter.mode == SHARED
    assert not reporter.said("waiting") and not reporter.said("acquired")
    waiter.close()


@posix_only
def test_a_long_wait_names_the_holder_then_says_acquired(tmp_path):
    holder, reporter = make(tmp_path), Recorder(patience=0.05)
    holder.acquire(EXCLUSIVE)
    forget_holds()
    waiter = make(tmp_path, reporter)
    waiting = waiting_line_while(waiter, reporter, holder.close)
    # The holder is this very process: /proc/locks lists it with our pid,
    # which holders_of leaves out, so the kernel names nobody else here.
    assert waiting[1] == SHARED and waiting[2].startswith("held by ")
    assert reporter.said("acquired") == [("acquired", SHARED)]
    waiter.close()


@posix_only
def test_a_reader_behind_a_queued_writer_names_the_writer(tmp_path):
    lock = make(tmp_path)
    turnstile = FileLock(lock.path + TURNSTILE_SUFFIX)
    lock.file.ensure_open()
    turnstile.acquire(EXCLUSIVE)  # as a writer that waits for the lock holds it
    reporter = Recorder(patience=0.05)
    reader = make(tmp_path, reporter)
    waiting = waiting_line_while(reader, reporter, turnstile.close)
    assert waiting[2].startswith("queued behind ") and "; held by " in waiting[2]
    reader.close()
    lock.close()


def test_a_nested_request_of_the_same_strength_is_skipped_and_a_stronger_one_warns_once(tmp_path, monkeypatch):
    path = str(tmp_path / "env" / ".lock")
    monkeypatch.setenv(environment.MARKER, environment.with_hold("", path, SHARED))  # as an ancestor would
    reporter = Recorder()
    for _ in range(3):  # a build child asks again and again
        lock = make(tmp_path, reporter)
        lock.acquire(SHARED)
        assert lock.mode == SHARED and lock.file.fd is None  # covered: no file opened
        lock.acquire(EXCLUSIVE)
        lock.close()
    assert [line[1] for line in reporter.said("debug")].count("skipped") == 3
    warnings = reporter.said("warning")
    assert len(set(warnings)) == 1 and "would deadlock" in warnings[0][1] and "piplockhook run -x" in warnings[0][1]


def test_reporter_warnings_are_said_once_per_process(capsys):
    reporter = Reporter(False)
    reporter.warning("same")
    Reporter(False).warning("same")
    assert capsys.readouterr().err == "WARNING: piplockhook: same\n"


def test_quiet_levels(capsys):
    Reporter(False, quiet=0).acquired(SHARED, 1.25)
    Reporter(False, quiet=1).acquired(SHARED, 1.25)
    assert capsys.readouterr().err == "piplockhook: acquired shared lock after waiting 1.2s\n"
    assert Reporter(False, quiet=1).patience == 1.0 and Reporter(False, quiet=2).patience == 10.0


def test_an_inner_lock_of_this_process_covers_the_request(tmp_path):
    outer, inner = make(tmp_path), make(tmp_path)
    outer.acquire(EXCLUSIVE)
    inner.acquire(SHARED)
    assert inner.covered_by == EXCLUSIVE and inner.file.fd is None
    inner.close()
    assert outer.mode == EXCLUSIVE  # closing the inner one leaves the outer hold alone
    outer.close()


def test_no_lock_file_and_none_can_be_made_runs_unlocked_saying_why(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    where = LockLocation(str(blocker / "sub" / ".lock"), "env")
    reporter = Recorder()
    lock = EnvironmentLock(where, reporter=reporter, loud=True)
    lock.acquire(EXCLUSIVE)
    assert lock.mode is None and lock.unavailable and "cannot create" in lock.unavailable
    assert reporter.said("unlocked") == [("unlocked", lock.unavailable, True)]
    lock.close()


def test_a_dry_run_creates_no_lock_file(tmp_path):
    lock = make(tmp_path, create=False)
    lock.acquire(SHARED)
    assert lock.unavailable and "does not exist" in lock.unavailable
    assert not os.path.exists(tmp_path / "env")
    lock.close()


def test_a_lock_path_that_is_a_directory_is_an_error(tmp_path):
    (tmp_path / "env" / ".lock").mkdir(parents=True)
    with pytest.raises(LockError, match="is a directory"):
        make(tmp_path).acquire(SHARED)


@posix_only
def test_busy_answers_eagain_and_eacces_alike(monkeypatch):
    import errno
    import fcntl

    from piplockhook.lock import _posix

    for code in (errno.EAGAIN, errno.EACCES):

        def refuse(fd, operation, code=code):
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(fcntl, "flock", refuse)
        assert _posix.try_lock(0, True) is False
    monkeypatch.setattr(fcntl, "flock", lambda fd, op: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
    with pytest.raises(OSError):
        _posix.try_lock(0, True)


@posix_only
def test_a_replaced_lock_file_is_not_trusted(tmp_path):
    file = FileLock(str(tmp_path / ".lock"))
    fd = file.ensure_open()
    os.rename(file.path, str(tmp_path / "old"))
    open(file.path, "w").close()  # another file now has the name
    file.acquire(EXCLUSIVE)
    assert file.fd != fd or os.fstat(file.fd).st_ino == os.stat(file.path).st_ino
    assert os.fstat(file.fd).st_ino == os.stat(file.path).st_ino
    file.close()


def test_environment_lock_is_built_from_the_settings(tmp_path):
    settings = read({"PIPLOCKHOOK_TIMEOUT": "3", "UV_LOCK_TIMEOUT": "7"}, lockfile_option=str(tmp_path / "x.lock"))
    lock = environment_lock(LockLocation(settings.lockfile, str(tmp_path)), settings, Reporter(False), loud=False)
    assert (lock.timeout, lock.timeout_setting, lock.uv_timeout, lock.loud) == (3.0, "PIPLOCKHOOK_TIMEOUT", 7.0, False)


def test_holders_are_parsed_from_proc_locks_and_other_namespaces_named():
    text = (
        "1: FLOCK  ADVISORY  WRITE 4242 fd:01:77 0 EOF\n"
        "2: FLOCK  ADVISORY  READ  0 fd:01:77 0 EOF\n"
        "3: -> FLOCK  ADVISORY  WRITE 99 fd:01:77 0 EOF\n"
        "4: POSIX  ADVISORY  WRITE 17 fd:01:77 0 EOF\n"
        "5: FLOCK  ADVISORY  READ  55 fd:01:78 0 EOF\n"
        "6: FLOCK  ADVISORY  READ  7 fd:01:77 0 EOF\n"
    )
    assert holders.parse_proc_locks(text, "fd:01:77", me=7) == [(0, "shared"), (4242, "exclusive")]
    assert "another pid namespace" in holders.Holder(0, "shared", "", None).describe()
    described = holders.describe([holders.Holder(4242, "exclusive", "pip install x", 12.4)])
    assert described == "pid 4242 (exclusive, running 12s): pip install x"
    assert "left no holder file, so probably not piplockhook" in holders.describe([])


@pytest.mark.skipif(sys.platform == "win32", reason="run hands no lock to its command on Windows")
def test_a_held_lock_hands_its_descriptors_and_names_its_heir(tmp_path):
    lock = make(tmp_path)
    assert lock.inheritable() == []  # nothing held, nothing to hand on
    lock.acquire(EXCLUSIVE)
    try:
        fds = lock.inheritable()
        assert lock.file.fd in fds and len(fds) == 2  # the lock file and the holder file
        assert all(os.get_inheritable(fd) for fd in fds)
        lock.handed_to(4242)
        assert holders.heir_of(lock.path, os.getpid()) == 4242
    finally:
        lock.close()
    assert holders.heir_of(lock.path, os.getpid()) == 0
