"""The environment lock: a reader/writer lock on one file, taken by one pip run.

``FileLock`` is one descriptor's lock (shared or exclusive, with a timeout,
checked against the path after acquiring), on the operating system's primitive
(``_posix.py``, ``_windows.py``). ``EnvironmentLock`` is what a pip command
holds: it knows about nesting (ancestors, through the ``PIPLOCKHOOK_HELD``
marker they leave, and this process), and moving from shared to exclusive.
(One module for all of it: every module costs each pip process an import.)
"""

from __future__ import annotations

import errno
import os
import sys
import time
from collections.abc import Sequence
from typing import Callable

from piplockhook.report import Reporter, describe_holders, holders_of

__all__ = [
    "EXCLUSIVE",
    "MARKER",
    "SHARED",
    "STRENGTH",
    "EnvironmentLock",
    "FileLock",
    "LockError",
    "LockTimeout",
    "primitive",
]

# The two modes, weakest first: a holder of a stronger mode covers a weaker request.
SHARED = "shared"
EXCLUSIVE = "exclusive"
STRENGTH = {SHARED: 1, EXCLUSIVE: 2}

# The lock primitive, one small interface per operating system:
# open_lock_file(path, create) -> fd, try_lock(fd, exclusive) -> bool,
# lock(fd, exclusive) (blocking) and unlock(fd).
if sys.platform == "win32":
    from piplockhook import _windows as primitive
else:
    from piplockhook import _posix as primitive

_POLL_SECONDS = 0.02
OnWait = Callable[[int], None]  # called once with the descriptor when the lock is busy
TURNSTILE_SUFFIX = ".turnstile"  # beside the lock file; see EnvironmentLock._acquire_fairly


class LockError(Exception):
    """The lock cannot be used at all (its path is a directory, ...)."""


class LockUnavailable(Exception):
    """No lock file exists and none can be made here: run unlocked."""


class LockTimeout(Exception):
    """The timeout (PIPLOCKHOOK_TIMEOUT, or --timeout) ran out while waiting."""


class FileLock:
    """A shared or exclusive flock/LockFileEx on `path`, through one descriptor."""

    def __init__(self, path: str, *, create: bool = True, public: bool = False) -> None:
        self.path = path
        self.create = create
        self.public = public  # in a world-writable directory (see primitive.open_lock_file)
        self.fd: int | None = None
        self.mode: str | None = None

    def ensure_open(self) -> int:
        if self.fd is None:
            self.fd = self._open()
        return self.fd

    def _open(self) -> int:
        try:
            parent = os.path.dirname(self.path)
            if self.create and not self.public and not os.path.isdir(parent):  # one stat in the common case
                os.makedirs(parent, exist_ok=True)
            fd = primitive.open_lock_file(self.path, self.create, self.public)
        except IsADirectoryError:
            raise LockError(f"the lock path {self.path} is a directory") from None
        except FileNotFoundError:
            raise LockUnavailable(f"{self.path} does not exist") from None
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise LockUnavailable(f"cannot create {self.path}: {exc.strerror}") from None
            if exc.errno == errno.ELOOP and self.public:
                raise LockUnavailable(f"{self.path} is a symbolic link, not followed") from None
            raise
        if os.path.isdir(self.path):
            os.close(fd)
            raise LockError(f"the lock path {self.path} is a directory")
        return fd

    @property
    def read_only(self) -> bool:
        """Opened without write permission: NFSv4 refuses such a descriptor the exclusive lock."""
        return self.fd is not None and primitive.read_only(self.fd)

    def _names_locked_file(self, fd: int) -> bool:
        # A lock file deleted or replaced while we waited must not let a
        # second writer in: the lock counts only on the file the path names now.
        try:
            now, ours = os.stat(self.path), os.fstat(fd)
        except OSError:
            return False
        return (now.st_dev, now.st_ino) == (ours.st_dev, ours.st_ino)

    def acquire(self, mode: str, timeout: float | None, on_wait: OnWait) -> float:
        """Take the lock in `mode`; return the seconds waited.

        `on_wait(fd)` is called once if the lock is busy. Changing mode on a
        held descriptor is a release followed by a new request, never an
        in-place upgrade (flock drops the old lock first anyway).
        """
        exclusive = mode == EXCLUSIVE
        start = time.monotonic()
        deadline = None if timeout is None else start + timeout
        waited_before = False
        try:
            while True:
                fd = self.ensure_open()
                if not primitive.try_lock(fd, exclusive):
                    if not waited_before:
                        waited_before = True
                        on_wait(fd)
                    if deadline is None:
                        primitive.lock(fd, exclusive)
                    else:
                        while not primitive.try_lock(fd, exclusive):
                            left = deadline - time.monotonic()
                            if left <= 0:
                                raise LockTimeout(self)
                            time.sleep(min(_POLL_SECONDS, left))
                if self._names_locked_file(fd):
                    self.mode = mode
                    return time.monotonic() - start
                self.close()  # the path names another file now: lock that one
        except OSError as exc:
            if exc.errno == errno.EBADF and exclusive and self.read_only:
                raise LockUnavailable(
                    f"{self.path} is open read-only (no write permission), and this filesystem (NFSv4) "
                    "refuses an exclusive lock on a read-only descriptor (EBADF): make it writable for this user"
                ) from None
            raise

    def release(self) -> None:
        if self.fd is not None and self.mode is not None:
            primitive.unlock(self.fd)
        self.mode = None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing also releases the lock
        self.fd = None
        self.mode = None


# -- nesting: a pip never waits for a lock its ancestor holds
#
# A process that takes a lock records it in the environment variable
# ``PIPLOCKHOOK_HELD`` (one ``pid mode path`` line per lock), which pip's build
# children, ``setup.py`` scripts and commands run by ``piplockhook run`` inherit.
# A record counts only while its pid is alive and, where the kernel tells us
# (Linux), an ancestor of this process: a stray exported value changes nothing.

MARKER = "PIPLOCKHOOK_HELD"


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rpartition(b")")[2].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _is_ancestor(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # os.kill(pid, 0) would end that process; Wine shows the host's /proc
        return primitive.process_alive(pid)
    if os.path.isdir("/proc/self"):
        current: int | None = os.getpid()
        for _ in range(128):
            current = _parent_of(current) if current else None
            if not current:
                return False
            if current == pid:
                return True
        return False
    try:  # no /proc (macOS): a live pid is the best we know
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def parse_marker(value: str) -> dict[str, tuple[int, str]]:
    """{path: (pid, mode)} from a marker value; malformed lines are ignored."""
    held: dict[str, tuple[int, str]] = {}
    for line in value.splitlines():
        pid, _, rest = line.partition(" ")
        mode, _, path = rest.partition(" ")
        if pid.isdigit() and mode and path:
            held[path] = (int(pid), mode)
    return held


def ancestor_mode(path: str) -> str | None:
    """The mode in which an ancestor process holds `path`, if one does."""
    record = parse_marker(os.environ.get(MARKER, "")).get(path)
    if record and _is_ancestor(record[0]):
        return record[1]
    return None


def with_record(value: str, path: str, mode: str) -> str:
    """The marker value with this process holding `path` in `mode`."""
    held = parse_marker(value)
    held[path] = (os.getpid(), mode)
    return "\n".join(f"{pid} {m} {p}" for p, (pid, m) in held.items())


# Locks this process holds, by path: an in-process nested pip counts as nested.
_held_here: dict[str, EnvironmentLock] = {}


class EnvironmentLock:
    """One pip run's hold on the environment lock."""

    def __init__(
        self,
        path: str,
        *,
        environment: str,
        reporter: Reporter,
        timeout: float | None = None,
        timeout_setting: str = "PIPLOCKHOOK_TIMEOUT",
        create: bool = True,
        uv_paths: Sequence[str] = (),
        uv_timeout: float = 300.0,
    ) -> None:
        self.path = path
        self.environment = environment
        self.reporter = reporter
        self.timeout = timeout
        self.timeout_setting = timeout_setting  # where `timeout` came from, for the message
        self.file = FileLock(path, create=create)
        self.turnstile: FileLock | None = FileLock(path + TURNSTILE_SUFFIX, create=create)
        # uv's own lock for this interpreter where it is not our file (see
        # uvlock.py): taken after ours, in this order, by every pip alike.
        self.uv_files = [FileLock(p, create=create, public=True) for p in sorted(set(uv_paths))]
        self.uv_timeout = uv_timeout  # then go on without it, as uv does (UV_LOCK_TIMEOUT)
        self.covered_by: str | None = None  # mode an ancestor holds, if nested
        self._covered_how = ""
        self.active = False
        self.unavailable: str | None = None  # why this run goes unlocked
        self._saved_marker: str | None = None
        self._warned = False

    @property
    def mode(self) -> str | None:
        return self.covered_by or self.file.mode

    def acquire(self, mode: str) -> None:
        """Hold the lock in `mode` (from nothing, or moving from another mode)."""
        if self.mode == mode or self.unavailable:
            return
        if not self.active:
            self.covered_by, self._covered_how = self._outer_mode()
            self.active = True
        if self.covered_by is not None:
            self._nested(mode)
            return
        if self.file.mode is not None:
            old = self.file.mode
            self._release_uv_files()  # all of them: holding one while waiting for ours could deadlock
            self.file.release()
            self.reporter.debug("released", old, self.path, f"to take it {mode}")
        said_waiting: list[bool] = []
        start = time.monotonic()

        def on_wait(_fd: int) -> None:
            if not said_waiting:
                said_waiting.append(True)
                self._waiting(mode, self.file.ensure_open())

        try:
            waited = self._acquire_fairly(mode, on_wait)
            if self.reporter.debug_enabled:
                note = self._read_only_note(self.file, mode)
                self.reporter.debug("acquired", mode, self.path, f"waited {waited:.3f}s{note}")
            self._acquire_uv_files(mode, None if self.timeout is None else start + self.timeout, said_waiting)
        except LockUnavailable as exc:
            self.reporter.debug("unlocked", mode, self.path, f"lock unavailable: {exc}")
            self.unavailable = str(exc)
            return
        except LockTimeout as exc:
            stuck = exc.args[0] if exc.args and isinstance(exc.args[0], FileLock) else self.file
            holders = holders_of(stuck.fd) if stuck.fd is not None else []
            self.close()
            who = describe_holders(holders)
            raise LockTimeout(
                f"timed out after {self.timeout:g}s ({self.timeout_setting}) waiting for the "
                f"{mode} lock on {self.environment} ({stuck.path}), held by {who}; nothing was changed"
            ) from None
        except BaseException:  # Ctrl-C while waiting: leave nothing behind
            self.close()
            raise
        waited = time.monotonic() - start
        if said_waiting:
            self.reporter.acquired_after_wait(mode, waited)
        _held_here[self.path] = self
        if self._saved_marker is None:
            self._saved_marker = os.environ.get(MARKER, "")
        os.environ[MARKER] = with_record(self._saved_marker, self.path, mode)

    def _acquire_uv_files(self, mode: str, deadline: float | None, said_waiting: list[bool]) -> None:
        for uv_file in list(self.uv_files):

            def on_wait(fd: int, path: str = uv_file.path) -> None:
                said_waiting.append(True)
                self.reporter.debug("waiting", mode, path, "uv's lock")
                self.reporter.waiting(mode, path, self.environment, holders_of(fd))

            left = self.uv_timeout if deadline is None else max(0.0, min(deadline - time.monotonic(), self.uv_timeout))
            try:
                uv_file.acquire(mode, left, on_wait)
            except LockTimeout:
                if deadline is not None and time.monotonic() >= deadline:
                    raise  # our timeout ran out
                # A holder that never lets go (anyone may lock a file in /tmp):
                # uv itself gives up after this long; so does pip.
                holders = describe_holders(holders_of(uv_file.fd)) if uv_file.fd is not None else "?"
                self._drop(uv_file)
                self.reporter.warning(
                    f"waited {self.uv_timeout:g}s (UV_LOCK_TIMEOUT) for uv's lock {uv_file.path}, held by "
                    f"{holders}; going on without it, as uv itself does"
                )
                continue
            except (LockUnavailable, LockError, OSError) as exc:  # ours still holds: only uv is not excluded
                self.reporter.debug("skipped", mode, uv_file.path, f"uv's lock unavailable: {exc}")
                self._drop(uv_file)
                continue
            self.reporter.debug("acquired", mode, uv_file.path, "uv's lock" + self._read_only_note(uv_file, mode))

    def _drop(self, uv_file: FileLock) -> None:
        uv_file.close()
        self.uv_files.remove(uv_file)

    @staticmethod
    def _read_only_note(file: FileLock, mode: str) -> str:
        """A note (", ...") where an exclusive lock rests on a read-only descriptor."""
        if not (file.read_only and mode == EXCLUSIVE):
            return ""
        return ", open read-only, no write permission: an NFSv4 mount would refuse this exclusive lock (EBADF)"

    def _release_uv_files(self) -> None:
        for uv_file in reversed(self.uv_files):
            if uv_file.mode is not None:
                self.reporter.debug("released", uv_file.mode, uv_file.path, "uv's lock")
            uv_file.release()

    def _acquire_fairly(self, mode: str, on_wait: OnWait) -> float:
        """Take the lock through the turnstile; return the seconds waited.

        flock has no queue: an exclusive request behind overlapping shared
        holders would wait for as long as they keep overlapping. So every
        request first takes the turnstile (a second file) exclusively; a
        reader lets it go at once, a writer keeps it while it waits for the
        lock. Readers that come after a waiting writer queue behind it, and the
        writer gets the lock once the holders present at its arrival are done.
        uv ignores the turnstile: fairness is among pips, exclusion with uv
        holds through the lock file itself.
        """
        start = time.monotonic()
        deadline = None if self.timeout is None else start + self.timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        self.file.ensure_open()  # first, so a waiting line can name the holders
        turnstile = self._enter_turnstile(left(), on_wait)
        try:
            if turnstile is not None and mode != EXCLUSIVE:
                turnstile.release()
                turnstile = None
            self.file.acquire(mode, left(), on_wait)
        finally:
            if turnstile is not None:
                turnstile.release()
        return time.monotonic() - start

    def _enter_turnstile(self, timeout: float | None, on_wait: OnWait) -> FileLock | None:
        """The turnstile, held exclusively; None where it cannot be used."""
        turnstile = self.turnstile
        if turnstile is None:
            return None
        try:
            turnstile.acquire(EXCLUSIVE, timeout, on_wait)
        except (LockUnavailable, LockError) as exc:  # fairness lost, exclusion kept
            self.reporter.debug("unfair", EXCLUSIVE, turnstile.path, f"turnstile unavailable: {exc}")
            self.turnstile = None
            return None
        return turnstile

    def _outer_mode(self) -> tuple[str | None, str]:
        outer = _held_here.get(self.path)
        if outer is not None and outer is not self and outer.mode:
            return outer.mode, "this process holds it"
        mode = ancestor_mode(self.path)
        return (mode if mode in STRENGTH else None), "an ancestor process holds it"

    def _nested(self, mode: str) -> None:
        if self.covered_by is not None and STRENGTH[mode] <= STRENGTH[self.covered_by]:
            self.reporter.debug("skipped", mode, self.path, f"nested: {self._covered_how} {self.covered_by}")
        elif not self._warned:
            self._warned = True
            self.reporter.warning(
                f"this pip needs the {mode} lock on {self.environment}, but a parent process "
                f"holds it {self.covered_by} and would deadlock waiting for it; going on under "
                f"the parent's lock (run the parent exclusively, e.g. `piplockhook run -x`, to avoid this)"
            )

    def _waiting(self, mode: str, fd: int) -> None:
        self.reporter.debug("waiting", mode, self.path)
        self.reporter.waiting(mode, self.path, self.environment, holders_of(fd))

    def close(self) -> None:
        """Release whatever this run holds and restore the inherited marker."""
        self._release_uv_files()
        for uv_file in self.uv_files:
            uv_file.close()
        if self.file.mode is not None:
            self.reporter.debug("released", self.file.mode, self.path)
        self.file.close()
        if self.turnstile is not None:
            self.turnstile.close()
        if _held_here.get(self.path) is self:
            del _held_here[self.path]
        if self._saved_marker is not None:
            if self._saved_marker:
                os.environ[MARKER] = self._saved_marker
            else:
                os.environ.pop(MARKER, None)
            self._saved_marker = None
        self.active = False
        self.covered_by = None
        self.unavailable = None
