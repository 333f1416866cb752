"""Where an environment's lock lives, and whether it can be had there.

``environment_location`` is this interpreter's lock (a virtual or conda
environment: ``<prefix>/.lock``, uv's file; elsewhere a file beside its
packages, plus uv's own file in the temp dir); ``location_for_options`` is
the lock a pip command with ``--target``, ``--prefix``, ``--root`` or
``--user`` takes; ``why_unlockable`` says, changing nothing, why a pip could
not lock a path (``status`` and ``check`` both ask it).
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig

from piplockhook.lock import is_a_directory, primitive, refused, refuses_locks

TYPE_CHECKING = False  # typing's, without importing typing in every pip at startup (P2; mypy: always_true)

if TYPE_CHECKING:
    from typing import Any

LOCK_NAME = ".lock"  # uv's name: `pip` and `uv pip` exclude each other
OWN_LOCK_NAME = ".piplockhook.lock"  # where no environment directory is ours to name


class LockLocation:
    """A lock file and the environment it guards."""

    __slots__ = ("environment", "path", "uv_locks")

    def __init__(self, path: str, environment: str, uv_locks: tuple[tuple[str, str], ...] = ()) -> None:
        self.path = path
        self.environment = environment  # what the messages call the locked environment
        # uv's own lock files for this interpreter, taken after `path`: (path, the name uv knows it by)
        self.uv_locks = uv_locks

    @property
    def uv_paths(self) -> tuple[str, ...]:
        return tuple(path for path, _ in self.uv_locks)


def _is_environment_prefix(prefix: str) -> bool:
    # A virtual environment, or a conda environment (conda-meta/ marks one).
    return prefix != getattr(sys, "base_prefix", prefix) or os.path.isdir(os.path.join(prefix, "conda-meta"))


def _uv_locks() -> tuple[tuple[str, str], ...]:
    # uv locks <venv>/.lock in a virtual environment (ours too), and a file
    # in the temp dir for every other interpreter, conda's included.
    if sys.prefix != getattr(sys, "base_prefix", sys.prefix):
        return ()
    from piplockhook import uvlock  # only here: a venv's pips never import it

    return tuple(uvlock.interpreter_locks())


def environment_location(override: str | None = None) -> LockLocation:
    """The lock of the environment this Python runs in (`override`: the
    PIPLOCKHOOK_LOCKFILE in its place; uv's files stay)."""
    if override:
        where = LockLocation(override, os.path.dirname(override))
    elif _is_environment_prefix(sys.prefix):
        where = LockLocation(os.path.join(sys.prefix, LOCK_NAME), sys.prefix)
    else:
        # A system or base interpreter: keep the lock with its packages, never
        # in a world-writable directory such as /tmp (uv's file there is uv's).
        purelib = sysconfig.get_paths()["purelib"]
        where = LockLocation(os.path.join(purelib, OWN_LOCK_NAME), purelib)
    where.uv_locks = _uv_locks()
    return where


def directory_location(directory: str) -> LockLocation:
    """The lock of a directory pip fills (`--target`, `--prefix`): DIR/.lock, as uv."""
    directory = os.path.abspath(os.path.expanduser(directory))
    return LockLocation(os.path.join(directory, LOCK_NAME), directory)


def location_for_options(options: Any, override: str | None = None) -> LockLocation:
    """The lock a pip command with these parsed options takes.

    `--target DIR` and `--prefix DIR` lock DIR/.lock as uv does; an empty
    `--target ''` (pip's own build-dependency child passes one) is no target.
    """
    elsewhere = None
    for option in ("target_dir", "prefix_path", "root_path"):
        directory = getattr(options, option, None)
        if directory:
            elsewhere = directory_location(directory)
            break
    if elsewhere is None and getattr(options, "use_user_site", False):
        elsewhere = user_location()
    if elsewhere is None:
        return environment_location(override)
    if override:  # not this interpreter's packages: uv would lock no file of its own here
        return LockLocation(override, os.path.dirname(override))
    return elsewhere


def user_location() -> LockLocation:
    """The lock of `pip install --user`: a file in the user base directory."""
    base = site.getuserbase()
    return LockLocation(os.path.join(base, OWN_LOCK_NAME), base)


def nearest_directory(path: str) -> str:
    """The directory a missing `path` would be made in: its nearest existing ancestor."""
    parent = os.path.dirname(path)
    while parent and not os.path.lexists(parent) and os.path.dirname(parent) != parent:
        parent = os.path.dirname(parent)
    return parent


def why_unlockable(path: str) -> str:
    """Why a pip run here could not lock `path` ("" when it can). Changes
    nothing: a missing file is proven creatable with a scratch file, removed
    at once, in the nearest directory that exists."""
    if os.path.isdir(path):
        return is_a_directory(path)
    if os.path.exists(path):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            return f"cannot open {path}: {exc.strerror}"
        try:
            return _refusal(path, fd)
        finally:
            os.close(fd)
    parent = nearest_directory(path)
    if not os.path.isdir(parent):
        return f"cannot create {path}: {parent} is not a directory"
    probe = os.path.join(parent, f".piplockhook-probe-{os.getpid()}")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        return f"cannot create {path}: {exc.strerror}"
    try:
        return _refusal(path, fd)
    finally:
        os.close(fd)
        os.unlink(probe)


def _refusal(path: str, fd: int) -> str:
    """Why `fd`'s filesystem refuses locks ("" when it locks): a shared lock
    taken without waiting and let go at once (a busy lock is a lock that works)."""
    try:
        if primitive.try_lock(fd, False):
            primitive.unlock(fd)
    except OSError as exc:
        if refuses_locks(exc):
            return refused(path, exc)
    return ""
