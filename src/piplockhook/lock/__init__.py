"""The lock: its modes, its errors, and one lock file held through one descriptor.

The layer's vocabulary lives here, as tox-dev/filelock keeps its API in one
place: the modes (``SHARED``, ``EXCLUSIVE``, ordered by ``STRENGTH``), one
error family (``LockError``: ``LockTimeout``, also a ``TimeoutError``;
``LockUnusable``; ``LockUnavailable``), and ``FileLock``, over the operating
system's primitive behind one small interface (``_posix.py``: ``flock(2)``;
``_windows.py``: ``LockFileEx``): ``open_lock_file``, ``read_only``,
``try_lock``, ``lock`` (blocking) and ``unlock``. On top of it,
``environment.py`` is what a pip run holds. Nothing here knows pip or reads
a setting. (In the package's ``__init__``: every pip process imports it, and
a module of its own would cost each one an import.)
"""

from __future__ import annotations

import errno
import os
import sys
import time

TYPE_CHECKING = False  # typing's, without importing typing in every pip at startup (P2; mypy: always_true)


# The two modes, weakest first: a holder of a stronger mode covers a weaker request.
SHARED = "shared"
EXCLUSIVE = "exclusive"
STRENGTH = {SHARED: 1, EXCLUSIVE: 2}

if sys.platform == "win32":
    from piplockhook.lock import _windows as primitive
else:
    from piplockhook.lock import _posix as primitive

__all__ = [
    "EXCLUSIVE",
    "SHARED",
    "STRENGTH",
    "FileLock",
    "LockError",
    "LockTimeout",
    "LockUnavailable",
    "LockUnusable",
    "primitive",
]

_POLL_SECONDS = 0.02
# A filesystem that does not lock at all (Lustre noflock: ENOSYS; EOPNOTSUPP; the
# kernel's ENOTSUPP, 524; NFSv3 without lockd: ENOLCK): asked once, never retried
# (filelock#67 retried ENOSYS forever). Windows: ERROR_INVALID_FUNCTION, ERROR_NOT_SUPPORTED.
_REFUSED = (errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, 524, errno.ENOLCK)
_REFUSED_WINDOWS = (1, 50)
if TYPE_CHECKING:  # typing's Callable[...] costs every pip ~0.1 M instructions at run time (P2)
    from typing import Callable

    OnWait = Callable[[int], None]  # told once, with the descriptor, when a wait has lasted its patience


class LockError(Exception):
    """Every error of the lock: ``except LockError`` catches them all."""


class LockUnusable(LockError):
    """The lock cannot be used at all (its path is a directory, ...): an error for the user."""


class LockUnavailable(LockError):
    """No lock file exists and none can be made here: the caller runs unlocked
    (EnvironmentLock says why in ``unavailable``; it never raises this)."""


class LockTimeout(LockError, TimeoutError):
    """The timeout ran out while waiting for `file`."""

    def __init__(self, file: FileLock, message: str = "") -> None:
        self.file = file
        super().__init__(message or f"timed out waiting for {file.path}")


def refuses_locks(exc: OSError) -> bool:
    """Is `exc` a filesystem saying it does not lock at all (not "someone holds it")?"""
    return exc.errno in _REFUSED or getattr(exc, "winerror", None) in _REFUSED_WINDOWS


def refused(path: str, exc: OSError) -> str:
    return (
        f"{path} cannot be locked: its filesystem refuses file locks ({exc.strerror}); "
        "`piplockhook check` there says why, and PIPLOCKHOOK_LOCKFILE can name a file on one that locks"
    )


def names_file(path: str, fd: int) -> bool:
    """Does `path` still name the file open as `fd` (not deleted, not replaced)?"""
    try:
        now, ours = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (ours.st_dev, ours.st_ino)


def is_a_directory(path: str) -> str:
    return f"the lock path {path} is a directory"


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
            raise LockUnusable(is_a_directory(self.path)) from None
        except FileNotFoundError as exc:
            why = f"cannot create {self.path}: {exc.strerror}" if self.create else f"{self.path} does not exist"
            raise LockUnavailable(why) from None
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR):
                raise LockUnavailable(f"cannot create {self.path}: {exc.strerror}") from None
            if exc.errno == errno.ELOOP and self.public:
                raise LockUnavailable(f"{self.path} is a symbolic link, not followed") from None
            raise
        if os.path.isdir(self.path):  # Windows opens a directory without complaint
            os.close(fd)
            raise LockUnusable(is_a_directory(self.path))
        return fd

    @property
    def read_only(self) -> bool:
        """Opened without write permission: NFSv4 refuses such a descriptor the exclusive lock."""
        return self.fd is not None and primitive.read_only(self.fd)

    def acquire(
        self, mode: str, timeout: float | None = None, on_wait: OnWait | None = None, patience: float = 0.0
    ) -> float:
        """Take the lock in `mode`; return the seconds waited.

        `on_wait(fd)` is told once if the lock is still busy after `patience`
        seconds. Changing mode on a held descriptor is a release followed by a
        new request, never an in-place upgrade (flock drops the old lock first
        anyway). LockTimeout when `timeout` runs out.
        """
        exclusive = mode == EXCLUSIVE
        start = time.monotonic()
        deadline = None if timeout is None else start + timeout
        try:
            while True:
                fd = self.ensure_open()
                if not primitive.try_lock(fd, exclusive):
                    self._wait(fd, exclusive, start + patience, deadline, on_wait)
                # A lock file deleted or replaced while we waited must not let a
                # second writer in: the lock counts only on the file the path names now.
                if names_file(self.path, fd):
                    self.mode = mode
                    return time.monotonic() - start
                self.close()  # the path names another file now: lock that one
                on_wait = None  # said already, if it had to be
        except OSError as exc:
            if refuses_locks(exc):
                raise LockUnavailable(refused(self.path, exc)) from None
            if exc.errno == errno.EBADF and exclusive and self.read_only:
                raise LockUnavailable(
                    f"{self.path} is open read-only (no write permission), and this filesystem (NFSv4) "
                    "refuses an exclusive lock on a read-only descriptor (EBADF): make it writable for this user"
                ) from None
            raise

    def _wait(self, fd: int, exclusive: bool, notice_at: float, deadline: float | None, on_wait: OnWait | None) -> None:
        # Poll until the notice is due (or the deadline), then either block
        # (no deadline) or go on polling until the deadline.
        while True:
            now = time.monotonic()
            if on_wait is not None and now >= notice_at:
                on_wait(fd)  # the lock was busy a moment ago: its holders are still there to name
                on_wait = None
            if deadline is None and on_wait is None:
                primitive.lock(fd, exclusive)
                return
            if deadline is not None and now >= deadline:
                raise LockTimeout(self)
            until = min(t for t in (deadline, notice_at if on_wait else None) if t is not None)
            time.sleep(max(0.0, min(_POLL_SECONDS, until - now)))
            if primitive.try_lock(fd, exclusive):
                return

    def release(self) -> None:
        if self.fd is not None and self.mode is not None:
            primitive.unlock(self.fd)
        self.mode = None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing also releases the lock
        self.fd = None
        self.mode = None
