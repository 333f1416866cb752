"""The environment lock: what one pip run (or ``piplockhook run``/``verify``) holds.

On top of ``FileLock``: the turnstile that keeps writers from starving, uv's
own lock file outside virtual environments, nesting (a hold by an ancestor or
by this process covers a request), moving from shared to exclusive, and the
lines a waiting user sees. It reads no variable itself: it is built from a
``LockLocation`` and the ``Settings`` (``environment_lock``).

Nesting: a pip never waits for a lock its ancestor (or its own process) holds.

A process that takes a lock names it in the environment variable
``PIPLOCKHOOK_HELD`` (one ``pid mode path`` line per lock), which pip's build
children, ``setup.py`` scripts and commands run by ``piplockhook run`` inherit.
A marker line counts only while its pid is alive and, where the kernel tells us
(Linux), an ancestor of this process: a stray exported value changes nothing.
A holder that handed its lock to a child (``handed_to``: a ``piplockhook run``
killed while its command runs) counts while that child, named in its still
locked holder file, is this process or an ancestor.
Within one process, the locks held are in ``HELD``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Mapping, MutableMapping

from piplockhook.lock import (
    EXCLUSIVE,
    STRENGTH,
    FileLock,
    LockError,
    LockTimeout,
    LockUnavailable,
    holderfiles,
)
from piplockhook.report import Reporter

TYPE_CHECKING = False  # typing's, without importing typing in every pip at startup (P2; mypy: always_true)

if TYPE_CHECKING:
    from types import ModuleType

    from piplockhook.locations import LockLocation
    from piplockhook.lock import OnWait
    from piplockhook.lock.holders import Holder
    from piplockhook.settings import Settings

__all__ = [
    "JOURNAL_SUFFIX",
    "MARKER",
    "TURNSTILE_SUFFIX",
    "EnvironmentLock",
    "Publication",
    "environment_lock",
    "parse_marker",
    "with_hold",
]

TURNSTILE_SUFFIX = ".turnstile"  # beside the lock file; see EnvironmentLock._acquire_fairly
JOURNAL_SUFFIX = ".journal"  # beside the lock file: a writer's journal (journal/), see _restore_after_crash
HELD: dict[str, EnvironmentLock] = {}  # lock path -> the EnvironmentLock that holds it in this process
READ_ONLY_EXCLUSIVE = ", open read-only, no write permission: an NFSv4 mount would refuse this exclusive lock (EBADF)"


def _who() -> ModuleType:
    """lock/holders.py, who holds a lock: imported on a reader's first wait only (a pip
    that never waits skips it, P2); a writer's, up front (see __init__)."""
    from piplockhook.lock import holders

    return holders


# -- nesting: the holds of this process and of its ancestors

MARKER = "PIPLOCKHOOK_HELD"
THIS_PROCESS = "this process holds it"
AN_ANCESTOR = "an ancestor process holds it"


def parse_marker(value: str) -> dict[str, tuple[int, str]]:
    """{path: (pid, mode)} from a marker value; malformed lines are ignored."""
    held: dict[str, tuple[int, str]] = {}
    for line in value.splitlines():
        pid, _, rest = line.partition(" ")
        mode, _, path = rest.partition(" ")
        if pid.isdigit() and mode in STRENGTH and path:
            held[path] = (int(pid), mode)
    return held


def with_hold(value: str, path: str, mode: str) -> str:
    """The marker value with this process holding `path` in `mode`."""
    held = parse_marker(value)
    held[path] = (os.getpid(), mode)
    return "\n".join(f"{pid} {m} {p}" for p, (pid, m) in held.items())


def ancestor_mode(path: str, env: Mapping[str, str] = os.environ) -> str | None:
    """The mode in which an ancestor process holds `path`, if one does."""
    hold = parse_marker(env.get(MARKER, "")).get(path)
    if not hold:
        return None
    from piplockhook.lock.holders import is_ancestor  # only for a marked path: a top-level pip skips it (P2)

    pid, mode = hold
    if is_ancestor(pid):
        return mode
    # Its holder gone (a killed `piplockhook run`), the hold may live on in the
    # command that inherited it: only a live holder file names that heir.
    heir = _who().heir_of(path, pid)
    return mode if heir and is_ancestor(heir) else None


def covering_mode(path: str, asking: object) -> tuple[str | None, str]:
    """(mode, who) of a hold on `path` that covers `asking`'s request: this
    process's own (another EnvironmentLock), else an ancestor's; (None, "")."""
    outer = HELD.get(path)
    if outer is not None and outer is not asking and outer.mode:
        return outer.mode, THIS_PROCESS
    mode = ancestor_mode(path)
    return (mode, AN_ANCESTOR) if mode else (None, "")


class Publication:
    """This process's line in the marker, for its children; undone on release."""

    def __init__(self, env: MutableMapping[str, str] = os.environ) -> None:
        self.env = env
        self.saved: str | None = None  # the inherited value, while we publish

    def publish(self, path: str, mode: str, holder: EnvironmentLock) -> None:
        HELD[path] = holder
        if self.saved is None:
            self.saved = self.env.get(MARKER, "")
        self.env[MARKER] = with_hold(self.saved, path, mode)

    def withdraw(self, path: str, holder: EnvironmentLock) -> None:
        if HELD.get(path) is holder:
            del HELD[path]
        if self.saved is not None:
            if self.saved:
                self.env[MARKER] = self.saved
            else:
                self.env.pop(MARKER, None)
            self.saved = None


# -- the lock


class EnvironmentLock:
    """One run's hold on an environment's lock (and uv's, where that is another file)."""

    def __init__(
        self,
        where: LockLocation,
        *,
        reporter: Reporter,
        timeout: float | None = None,
        timeout_setting: str = "PIPLOCKHOOK_TIMEOUT",
        uv_timeout: float = 300.0,
        create: bool = True,
        loud: bool = True,
    ) -> None:
        self.path = where.path
        self.environment = where.environment
        self.reporter = reporter
        self.timeout = timeout
        self.timeout_setting = timeout_setting  # where `timeout` came from, for the message
        self.loud = loud  # running unlocked is a warning (writers), or a debug line (readers)
        self.file = FileLock(where.path, create=create)
        self.turnstile: FileLock | None = FileLock(where.path + TURNSTILE_SUFFIX, create=create)
        # uv's own lock for this interpreter where it is not our file (see
        # uvlock.py): taken after ours, in this order, by every pip alike.
        self.uv_files = [FileLock(p, create=create, public=True) for p in sorted(set(where.uv_paths))]
        self.uv_timeout = uv_timeout  # then go on without it, as uv does (UV_LOCK_TIMEOUT)
        self.covered_by: str | None = None  # the mode an ancestor (or this process) holds, if nested
        self._covered_how = ""
        self.active = False
        self.unavailable: str | None = None  # why this run goes unlocked
        self._publication = Publication()
        self._said_waiting = False
        self._holder_file: holderfiles.OwnHolderFile | None = None  # who we are, for waiters (holderfiles.py)
        self._restoring = False
        if loud:  # a writer may wait inside pip 26.3's install phase, which blocks imports
            _who()

    @property
    def mode(self) -> str | None:
        return self.covered_by or self.file.mode

    @contextlib.contextmanager
    def held(self, mode: str) -> Iterator[EnvironmentLock]:
        """``with lock.held(SHARED):`` the lock in `mode` for the block, released
        after it however it ends (``acquire``'s errors leave nothing held).
        Where it cannot be had here, the block runs and ``unavailable`` says why."""
        try:
            self.acquire(mode)
            yield self
        finally:
            self.close()

    def acquire(self, mode: str) -> None:
        """Hold the lock in `mode` (from nothing, or moving from another mode).

        LockTimeout (with the message a user sees) when the timeout runs out,
        LockError when the lock cannot be used at all; a lock that cannot be
        had here (LockUnavailable) leaves `unavailable` saying why.
        """
        if self.mode == mode or self.unavailable:
            return
        if not self.active:
            self.covered_by, self._covered_how = covering_mode(self.path, self)
            self.active = True
        if self.covered_by is not None:
            self._nested(mode)
            return
        self._let_go_before(mode)
        start = time.monotonic()
        self._said_waiting = False
        try:
            self._acquire_fairly(mode, start)
            self._acquire_uv_files(mode, start)
        except LockUnavailable as exc:
            self.reporter.debug("unlocked", mode, self.path, f"lock unavailable: {exc}")
            self.reporter.unlocked(str(exc), self.loud)
            self.unavailable = str(exc)
            return
        except LockTimeout as exc:
            message = self._timeout_message(mode, exc.file)
            self.close()
            raise LockTimeout(exc.file, message) from None
        except BaseException:  # Ctrl-C while waiting: leave nothing behind
            self.close()
            raise
        self._write_holder_file(mode)
        if self._said_waiting:
            self.reporter.acquired(mode, time.monotonic() - start)
            _who().sweep(self.path)  # what a holder that died while we waited left
        self._publication.publish(self.path, mode, self)
        # One lstat: the journal package is imported only where a journal is (P2).
        if not self._restoring and os.path.lexists(self.path + JOURNAL_SUFFIX):
            self._restore_after_crash(mode)

    def _restore_after_crash(self, mode: str) -> None:
        """A journal beside the lock we now hold: its writer died while changing the
        environment (a living one holds the exclusive lock until its journal is gone).
        Put the environment back under the exclusive lock, then hold `mode` again."""
        from piplockhook.journal.restore import restore

        self._restoring = True  # until `mode` is held again: a journal that stays is not restored twice
        try:
            self.acquire(EXCLUSIVE)  # released, then taken: readers that come meanwhile wait
            try:
                restore(self.path + JOURNAL_SUFFIX, self.reporter, holderfiles.host_name())
            except Exception as exc:  # never break the command: the journal stays for the next one
                where = self.path + JOURNAL_SUFFIX
                self.reporter.warning(f"could not restore from {where} ({exc!r}); run `piplockhook verify`")
            self.acquire(mode)
        finally:
            self._restoring = False

    def inheritable(self) -> list[int]:
        """The descriptors that hold this lock (the lock file, uv's, the holder file), made
        inheritable: a child given them holds the lock with us, and on after we are gone,
        as flock(1)'s command does (a flock belongs to the open file, not to a process).
        None on Windows (not yet: passing handles there is untested), where the lock ends with us."""
        if sys.platform == "win32" or self.file.mode is None:
            return []
        holder_fd = self._holder_file.fd if self._holder_file is not None else None
        fds = [f.fd for f in (self.file, *self.uv_files) if f.mode is not None and f.fd is not None]
        fds += [holder_fd] if holder_fd is not None else []
        for fd in fds:
            os.set_inheritable(fd, True)
        return fds

    def handed_to(self, pid: int) -> None:
        """`pid` inherited our descriptors (``inheritable``): the holder file names it, for
        waiters and nested pips once we are gone."""
        if self._holder_file is not None:
            self._holder_file.name_heir(pid)

    def _write_holder_file(self, mode: str) -> None:
        self._holder_file = holder_file = holderfiles.OwnHolderFile(self.path, mode)
        if holder_file.problem:
            self.reporter.debug("unnamed", mode, self.path, holder_file.problem)

    def _remove_holder_file(self) -> None:
        if self._holder_file is not None:
            self._holder_file.remove()
            self._holder_file = None

    def _let_go_before(self, mode: str) -> None:
        # Never an in-place upgrade: release all (holding uv's file while
        # waiting for ours could deadlock), then ask anew.
        old = self.file.mode
        if old is None:
            return
        self._release_uv_files()
        self._remove_holder_file()
        self.file.release()
        self.reporter.debug("released", old, self.path, f"to take it {mode}")

    def _patience_left(self, start: float) -> float:
        return max(0.0, start + self.reporter.patience - time.monotonic())

    def _left(self, start: float) -> float | None:
        return None if self.timeout is None else max(0.0, start + self.timeout - time.monotonic())

    def _waiting(self, mode: str, path: str, cause: str) -> None:
        self._said_waiting = True
        self.reporter.debug("waiting", mode, path)
        self.reporter.waiting(mode, path, self.environment, cause)

    def _holders(self, path: str, fd: int) -> list[Holder]:
        # Holder files are ours only: uv's files name who the kernel names.
        who = _who()
        found: list[Holder] = who.holders_at(path, fd) if path == self.path else who.holders_of(fd)
        return found

    def _held_by(self, mode: str, path: str) -> OnWait:
        def on_wait(fd: int) -> None:
            self._waiting(mode, path, "held by " + _who().describe(self._holders(path, fd)))

        return on_wait

    def _queued(self, mode: str) -> OnWait:
        def on_wait(fd: int) -> None:
            holders = _who()
            ahead = [
                holders.Holder(h.pid, "waiting for exclusive", h.command, h.running_for) for h in holders.holders_of(fd)
            ]
            writer = holders.describe(ahead) if ahead else "a writer that waits for the lock"
            main = self._holders(self.path, self.file.ensure_open())
            self._waiting(mode, self.path, f"queued behind {writer}; held by {holders.describe(main)}")

        return on_wait

    def _acquire_fairly(self, mode: str, start: float) -> None:
        """Take the lock through the turnstile.

        flock has no queue: an exclusive request behind overlapping shared
        holders would wait for as long as they keep overlapping. So every
        request first takes the turnstile (a second file) exclusively; a
        reader lets it go at once, a writer keeps it while it waits for the
        lock. Readers that come after a waiting writer queue behind it, and the
        writer gets the lock once the holders present at its arrival are done.
        uv ignores the turnstile: fairness is among pips, exclusion with uv
        holds through the lock file itself.
        """
        self.file.ensure_open()  # first, so a waiting line can name the holders
        turnstile = self._enter_turnstile(mode, start)
        try:
            if turnstile is not None and mode != EXCLUSIVE:
                turnstile.release()
                turnstile = None
            on_wait = None if self._said_waiting else self._held_by(mode, self.path)
            self.file.acquire(mode, self._left(start), on_wait, self._patience_left(start))
        finally:
            if turnstile is not None:
                turnstile.release()
        if self.reporter.debug_enabled:
            note = READ_ONLY_EXCLUSIVE if self.file.read_only and mode == EXCLUSIVE else ""
            self.reporter.debug("acquired", mode, self.path, f"waited {time.monotonic() - start:.3f}s{note}")

    def _enter_turnstile(self, mode: str, start: float) -> FileLock | None:
        """The turnstile, held exclusively; None where it cannot be used."""
        turnstile = self.turnstile
        if turnstile is None:
            return None
        try:
            turnstile.acquire(EXCLUSIVE, self._left(start), self._queued(mode), self._patience_left(start))
        except LockError as exc:  # unusable or unavailable: fairness lost, exclusion kept
            self.reporter.debug("unfair", EXCLUSIVE, turnstile.path, f"turnstile unavailable: {exc}")
            self.turnstile = None
            return None
        return turnstile

    def _acquire_uv_files(self, mode: str, start: float) -> None:
        for uv_file in list(self.uv_files):
            left = self._left(start)
            budget = self.uv_timeout if left is None else min(left, self.uv_timeout)
            on_wait = None if self._said_waiting else self._held_by(mode, uv_file.path)
            try:
                uv_file.acquire(mode, budget, on_wait, self._patience_left(start))
            except LockTimeout:
                if left is not None and budget >= left:
                    raise  # our own timeout ran out
                # A holder that never lets go (anyone may lock a file in /tmp):
                # uv itself gives up after this long; so does pip.
                who = _who().describe(_who().holders_of(uv_file.fd)) if uv_file.fd is not None else "?"
                self._drop(uv_file)
                self.reporter.warning(
                    f"waited {self.uv_timeout:g}s (UV_LOCK_TIMEOUT) for uv's lock {uv_file.path}, held by "
                    f"{who}; going on without it, as uv itself does"
                )
                continue
            except (LockError, OSError) as exc:  # ours still holds: only uv is not excluded
                self.reporter.debug("skipped", mode, uv_file.path, f"uv's lock unavailable: {exc}")
                self._drop(uv_file)
                continue
            note = READ_ONLY_EXCLUSIVE if uv_file.read_only and mode == EXCLUSIVE else ""
            self.reporter.debug("acquired", mode, uv_file.path, "uv's lock" + note)

    def _drop(self, uv_file: FileLock) -> None:
        uv_file.close()
        self.uv_files.remove(uv_file)

    def _release_uv_files(self) -> None:
        for uv_file in reversed(self.uv_files):
            if uv_file.mode is not None:
                self.reporter.debug("released", uv_file.mode, uv_file.path, "uv's lock")
            uv_file.release()

    def _timeout_message(self, mode: str, stuck: FileLock) -> str:
        who = _who().describe(self._holders(stuck.path, stuck.fd)) if stuck.fd is not None else "?"
        return (
            f"timed out after {self.timeout:g}s ({self.timeout_setting}) waiting for the "
            f"{mode} lock on {self.environment} ({stuck.path}), held by {who}; nothing was changed"
        )

    def _nested(self, mode: str) -> None:
        assert self.covered_by is not None
        if STRENGTH[mode] <= STRENGTH[self.covered_by]:
            self.reporter.debug("skipped", mode, self.path, f"nested: {self._covered_how} {self.covered_by}")
            return
        # Said once per process (Reporter.warning): a build child asks again and again.
        self.reporter.warning(
            f"this pip needs the {mode} lock on {self.environment}, but a parent process "
            f"holds it {self.covered_by} and would deadlock waiting for it; going on under "
            f"the parent's lock (run the parent exclusively, e.g. `piplockhook run -x`, to avoid this)"
        )

    def close(self) -> None:
        """Release whatever this run holds and restore the inherited marker."""
        self._release_uv_files()
        for uv_file in self.uv_files:
            uv_file.close()
        self._remove_holder_file()  # first: never name a holder that has let go
        if self.file.mode is not None:
            self.reporter.debug("released", self.file.mode, self.path)
        self.file.close()
        if self.turnstile is not None:
            self.turnstile.close()
        self._publication.withdraw(self.path, self)
        self.active = False
        self.covered_by = None
        self.unavailable = None


def environment_lock(
    where: LockLocation, settings: Settings, reporter: Reporter, *, create: bool = True, loud: bool = True
) -> EnvironmentLock:
    """The lock a run at `where` takes, waiting as `settings` say: the one way one is built."""
    return EnvironmentLock(
        where,
        reporter=reporter,
        timeout=settings.timeout,
        timeout_setting=settings.timeout_source,
        uv_timeout=settings.uv_timeout,
        create=create,
        loud=loud,
    )
