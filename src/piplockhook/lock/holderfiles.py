"""Holder files: who holds a lock, readable on every platform and from every host.

This module writes them (every holder does, so every pip imports it); reading
them is ``holders.py``'s, imported only by a process that waits or asks.

Each piplockhook holder (a hooked pip, ``run``, ``verify``) writes one small
file beside the lock file, ``<lock>.holder-<random>``, and keeps it locked for
as long as it holds the lock. A waiter reads them all; one it *can* lock has
lost its holder (crashed, killed, its host gone: the kernel or the NFS server
dropped the lock) and is removed, never shown. No clocks are compared to
decide that and no daemon cleans up; the time a holder file gives is only shown.

A holder that hands its lock to a child (``piplockhook run``: the command
inherits the descriptors of the lock and of the holder file, so the lock lives
as long as the command) adds an ``heir=PID`` line. Where the holder itself has
died, waiters name the heir, and the heir's descendants count as covered by
the hold (``heir_of``).

A holder file is written before it is locked (NFS sends the text to the server
when the lock is taken), so a waiter that finds one unlocked but complete in
that instant removes it, and its holder, seeing its file gone, goes on
without one. A holder file that cannot be written (read-only directory, full
disk) leaves the lock as it is, with a debug line. A holder file is deleted after
it is closed: deleting an open file on NFS leaves a ``.nfs*`` file behind.
"""

from __future__ import annotations

import os
import re
import sys
import time

from piplockhook.lock import names_file, primitive
from piplockhook.report import shorten

INFIX = ".holder-"
FORMAT = "piplockhook-holder 1"
HOLDER_BYTE = 1 << 40  # the byte a holder locks on Windows: past its text, which stays readable
UNFINISHED_SECONDS = 60.0  # a lockable holder file without its last line is removed after this long
FIELDS = ("host", "pidns", "pid", "mode", "since", "command")
CLOEXEC = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOINHERIT", 0)


def host_name() -> str:
    if sys.platform == "win32":
        return os.environ.get("COMPUTERNAME", "")
    return os.uname().nodename


def pid_namespace(pid: int | str = "self") -> str:
    """The pid namespace of `pid` ("" where /proc does not tell): pids of two namespaces differ."""
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except (OSError, AttributeError):
        return ""


def _command() -> str:
    # Credentials in an index URL stay out of a file other hosts read.
    command = " ".join(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])
    if "@" in command:  # compiling the pattern costs a pip run ~0.3 M instructions: only where it can match
        command = re.sub(r"://[^/@\s]+@", "://***@", command)
    return shorten(command)


def _text(mode: str) -> str:
    values = (host_name(), pid_namespace(), str(os.getpid()), mode, f"{time.time():.3f}", _command())
    return "".join(f"{k}={v}\n" for k, v in zip(FIELDS, values)) if all("\n" not in v for v in values) else ""


def contents(text: str) -> bytes:
    return f"{FORMAT}\n{text}end\n".encode("utf-8", "surrogateescape")


class OwnHolderFile:
    """This process's holder file for one lock it holds; `path` is None where none could be written."""

    def __init__(self, lock_path: str, mode: str) -> None:
        self.path: str | None = f"{lock_path}{INFIX}{os.urandom(6).hex()}"
        self.fd: int | None = None
        self.problem = ""
        self.text = _text(mode)
        try:
            self.fd = fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | CLOEXEC, 0o644)
            # Written before it is locked: an NFS client sends written data to the server when a
            # lock is taken (a crashed host's holder file is complete), not when it is written.
            os.write(fd, contents(self.text))
            if not primitive.try_lock(fd, True, HOLDER_BYTE) or not names_file(self.path, fd):
                raise OSError(f"{self.path} was removed before it was locked")  # a waiter took it for stale
        except (OSError, ValueError) as exc:  # NFSv4 needs the O_RDWR above for LOCK_EX
            self.problem = f"no holder file: {getattr(exc, 'strerror', None) or exc}"
            self.remove()

    def name_heir(self, pid: int) -> None:
        """Add ``heir=pid``: the child that inherited this file's descriptor, and the lock's.
        Longer than the text it overwrites, so nothing of the old one is left."""
        if self.fd is None:
            return
        try:
            os.lseek(self.fd, 0, os.SEEK_SET)
            os.write(self.fd, contents(f"{self.text}heir={pid}\n"))
            os.fsync(self.fd)  # NFS: readers on other hosts see it now, not at close
        except OSError:  # the old text stays, naming us: still true while we live
            pass

    def remove(self) -> None:
        fd, path, self.fd, self.path = self.fd, self.path, None, None
        if fd is not None:
            os.close(fd)  # first: unlinking an open file on NFS leaves a .nfs* file
        if path is not None:
            unlink(path)


def unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:  # gone already (another waiter), or open elsewhere (Windows): the next one removes it
        pass
