"""The environment lock: a reader/writer lock on one file, taken by one pip run.

``FileLock`` is the primitive (one descriptor, shared or exclusive, with a
timeout, checked against the path after acquiring). ``EnvironmentLock`` is what
a pip command holds: it knows about nesting (ancestors and this process), the
inherited marker, and moving from shared to exclusive.
"""

from __future__ import annotations

import errno
import os
import time
from typing import Dict, Optional

from piplockhook import _platform, nesting
from piplockhook.holders import holders_of
from piplockhook.policy import EXCLUSIVE, SHARED
from piplockhook.report import Reporter

__all__ = ["EXCLUSIVE", "SHARED", "EnvironmentLock", "FileLock", "LockError", "LockTimeout"]

_POLL_SECONDS = 0.02
TURNSTILE_SUFFIX = ".turnstile"  # beside the lock file; see EnvironmentLock._acquire_fairly


class LockError(Exception):
    """The lock cannot be used at all (its path is a directory, ...)."""


class LockUnavailable(Exception):
    """No lock file exists and none can be made here: run unlocked."""


class LockTimeout(Exception):
    """PIPLOCKHOOK_TIMEOUT ran out while waiting."""


class FileLock:
    """A shared or exclusive flock/LockFileEx on `path`, through one descriptor."""

    def __init__(self, path: str, *, create: bool = True) -> None:
        self.path = path
        self.create = create
        self.fd: Optional[int] = None
        self.mode: Optional[str] = None

    def ensure_open(self) -> None:
        if self.fd is None:
            self._open()

    def _open(self) -> None:
        try:
            if self.create:
                os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self.fd = _platform.open_lock_file(self.path, self.create)
        except IsADirectoryError:
            raise LockError(f"the lock path {self.path} is a directory") from None
        except FileNotFoundError:
            raise LockUnavailable(f"{self.path} does not exist") from None
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise LockUnavailable(f"cannot create {self.path}: {exc.strerror}") from None
            raise
        if os.path.isdir(self.path):
            self.close()
            raise LockError(f"the lock path {self.path} is a directory")

    def _names_locked_file(self) -> bool:
        # A lock file deleted or replaced while we waited must not let a
        # second writer in: the lock counts only on the file the path names now.
        try:
            now, ours = os.stat(self.path), os.fstat(self.fd)
        except OSError:
            return False
        return (now.st_dev, now.st_ino) == (ours.st_dev, ours.st_ino)

    def acquire(self, mode: str, timeout: Optional[float], on_wait) -> float:
        """Take the lock in `mode`; return the seconds waited.

        `on_wait(fd)` is called once if the lock is busy. Changing mode on a
        held descriptor is a release followed by a new request, never an
        in-place upgrade (flock drops the old lock first anyway).
        """
        exclusive = mode == EXCLUSIVE
        start = time.monotonic()
        deadline = None if timeout is None else start + timeout
        waited_before = False
        while True:
            self.ensure_open()
            if not _platform.try_lock(self.fd, exclusive):
                if not waited_before:
                    waited_before = True
                    on_wait(self.fd)
                if deadline is None:
                    _platform.lock(self.fd, exclusive)
                else:
                    while not _platform.try_lock(self.fd, exclusive):
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise LockTimeout(self.fd)
                        time.sleep(min(_POLL_SECONDS, left))
            if self._names_locked_file():
                self.mode = mode
                return time.monotonic() - start
            self.close()  # the path names another file now: lock that one

    def release(self) -> None:
        if self.fd is not None and self.mode is not None:
            _platform.unlock(self.fd)
        self.mode = None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing also releases the lock
        self.fd = None
        self.mode = None


# Locks this process holds, by path: an in-process nested pip counts as nested.
_held_here: Dict[str, "EnvironmentLock"] = {}


class EnvironmentLock:
    """One pip run's hold on the environment lock."""

    def __init__(
        self,
        path: str,
        *,
        environment: str,
        reporter: Reporter,
        timeout: Optional[float] = None,
        create: bool = True,
    ) -> None:
        self.path = path
        self.environment = environment
        self.reporter = reporter
        self.timeout = timeout
        self.file = FileLock(path, create=create)
        self.turnstile: Optional[FileLock] = FileLock(path + TURNSTILE_SUFFIX, create=create)
        self.covered_by: Optional[str] = None  # mode an ancestor holds, if nested
        self._covered_how = ""
        self.active = False
        self.unavailable: Optional[str] = None  # why this run goes unlocked
        self._saved_marker: Optional[str] = None
        self._warned = False

    @property
    def mode(self) -> Optional[str]:
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
            self.file.release()
            self.reporter.debug("released", old, self.path, f"to take it {mode}")
        said_waiting = []

        def on_wait(_fd: int) -> None:
            if not said_waiting:
                said_waiting.append(True)
                self._waiting(mode, self.file.fd)

        try:
            waited = self._acquire_fairly(mode, on_wait)
        except LockUnavailable as exc:
            self.reporter.debug("unlocked", mode, self.path, f"lock unavailable: {exc}")
            self.unavailable = str(exc)
            return
        except LockTimeout:
            holders = holders_of(self.file.fd) if self.file.fd is not None else []
            self.close()
            who = "; ".join(h.describe() for h in holders) or "an unknown holder"
            raise LockTimeout(
                f"timed out after {self.timeout:g}s (PIPLOCKHOOK_TIMEOUT) waiting for the "
                f"{mode} lock on {self.environment} ({self.path}), held by {who}; nothing was changed"
            ) from None
        except BaseException:  # Ctrl-C while waiting: leave nothing behind
            self.close()
            raise
        if said_waiting:
            self.reporter.acquired_after_wait(mode, waited)
        self.reporter.debug("acquired", mode, self.path, f"waited {waited:.3f}s")
        _held_here[self.path] = self
        if self._saved_marker is None:
            self._saved_marker = os.environ.get(nesting.MARKER, "")
        os.environ[nesting.MARKER] = nesting.with_record(self._saved_marker, self.path, mode)

    def _acquire_fairly(self, mode: str, on_wait) -> float:
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

        def left() -> Optional[float]:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        self.file.ensure_open()  # first, so a waiting line can name the holders
        in_turnstile = self._enter_turnstile(left(), on_wait)
        try:
            if in_turnstile and mode != EXCLUSIVE:
                self.turnstile.release()
                in_turnstile = False
            self.file.acquire(mode, left(), on_wait)
        finally:
            if in_turnstile:
                self.turnstile.release()
        return time.monotonic() - start

    def _enter_turnstile(self, timeout: Optional[float], on_wait) -> bool:
        if self.turnstile is None:
            return False
        try:
            self.turnstile.acquire(EXCLUSIVE, timeout, on_wait)
        except (LockUnavailable, LockError) as exc:  # fairness lost, exclusion kept
            self.reporter.debug("unfair", EXCLUSIVE, self.turnstile.path, f"turnstile unavailable: {exc}")
            self.turnstile = None
            return False
        return True

    def _outer_mode(self) -> tuple:
        outer = _held_here.get(self.path)
        if outer is not None and outer is not self and outer.mode:
            return outer.mode, "this process holds it"
        return nesting.ancestor_mode(self.path), "an ancestor process holds it"

    def _nested(self, mode: str) -> None:
        if nesting.STRENGTH[mode] <= nesting.STRENGTH[self.covered_by]:
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
        if self.file.mode is not None:
            self.reporter.debug("released", self.file.mode, self.path)
        self.file.close()
        if self.turnstile is not None:
            self.turnstile.close()
        if _held_here.get(self.path) is self:
            del _held_here[self.path]
        if self._saved_marker is not None:
            if self._saved_marker:
                os.environ[nesting.MARKER] = self._saved_marker
            else:
                os.environ.pop(nesting.MARKER, None)
            self._saved_marker = None
        self.active = False
        self.covered_by = None
        self.unavailable = None
