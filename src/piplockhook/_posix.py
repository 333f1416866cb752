"""flock(2): what uv takes on <venv>/.lock, released by the kernel when a holder dies."""

from __future__ import annotations

import sys

assert sys.platform != "win32"  # the Windows primitive is _windows.py

import fcntl  # noqa: E402
import os  # noqa: E402

# O_CLOEXEC: the lock must never leak into pip's children (they would keep it
# alive after pip dies, or unlock it for us).
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def open_lock_file(path: str, create: bool) -> int:
    """A descriptor for `path`; read-only if that is all we may do (flock works on it)."""
    flags = os.O_RDWR | _CLOEXEC | (os.O_CREAT if create else 0)
    try:
        return os.open(path, flags, 0o666)  # umask decides; 0644 lets others lock too
    except PermissionError as denied:
        try:
            return os.open(path, os.O_RDONLY | _CLOEXEC)
        except FileNotFoundError:
            raise denied from None  # missing, and not ours to create


def try_lock(fd: int, exclusive: bool) -> bool:
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def lock(fd: int, exclusive: bool) -> None:
    """Block until locked; Ctrl-C interrupts the wait (KeyboardInterrupt)."""
    fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)


def unlock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
