"""Holder files: who holds a lock, readable on every platform and from every host.

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
from typing import TYPE_CHECKING

from piplockhook.lock import names_file, primitive
from piplockhook.report import shorten

if TYPE_CHECKING:
    from piplockhook.lock.holders import Holder

INFIX = ".holder-"
FORMAT = "piplockhook-holder 1"
HOLDER_BYTE = 1 << 40  # the byte a holder locks on Windows: past its text, which stays readable
UNFINISHED_SECONDS = 60.0  # a lockable holder file without its last line is removed after this long
_FIELDS = ("host", "pidns", "pid", "mode", "since", "command")
_CLOEXEC = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOINHERIT", 0)


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
    return "".join(f"{k}={v}\n" for k, v in zip(_FIELDS, values)) if all("\n" not in v for v in values) else ""


def _contents(text: str) -> bytes:
    return f"{FORMAT}\n{text}end\n".encode("utf-8", "surrogateescape")


class OwnHolderFile:
    """This process's holder file for one lock it holds; `path` is None where none could be written."""

    def __init__(self, lock_path: str, mode: str) -> None:
        self.path: str | None = f"{lock_path}{INFIX}{os.urandom(6).hex()}"
        self.fd: int | None = None
        self.problem = ""
        self.text = _text(mode)
        try:
            self.fd = fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _CLOEXEC, 0o644)
            # Written before it is locked: an NFS client sends written data to the server when a
            # lock is taken (a crashed host's holder file is complete), not when it is written.
            os.write(fd, _contents(self.text))
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
            os.write(self.fd, _contents(f"{self.text}heir={pid}\n"))
            os.fsync(self.fd)  # NFS: readers on other hosts see it now, not at close
        except OSError:  # the old text stays, naming us: still true while we live
            pass

    def remove(self) -> None:
        fd, path, self.fd, self.path = self.fd, self.path, None, None
        if fd is not None:
            os.close(fd)  # first: unlinking an open file on NFS leaves a .nfs* file
        if path is not None:
            _unlink(path)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:  # gone already (another waiter), or open elsewhere (Windows): the next one removes it
        pass


def _parse(data: bytes) -> dict[str, str] | None:
    lines = data.decode("utf-8", "replace").split("\n")
    if len(lines) < 3 or lines[0] != FORMAT or lines[-2:] != ["end", ""]:
        return None  # not one of ours, or not finished
    fields = dict(line.partition("=")[::2] for line in lines[1:-2])
    return fields if all(k in fields for k in _FIELDS) and fields["pid"].isdigit() else None


def _read_live(path: str, now: float) -> dict[str, str] | None:
    """The holder file's fields if its holder still holds it; a dead holder's holder file is removed."""
    try:
        fd = os.open(path, os.O_RDONLY | _CLOEXEC)  # a shared try needs no write permission, even on NFSv4
    except OSError:
        return None  # gone meanwhile, or not ours to read
    remove = False
    try:
        data = os.read(fd, 4096)
        fields = _parse(data)
        if primitive.try_lock(fd, False, HOLDER_BYTE):  # its holder's exclusive lock is gone: so is it
            primitive.unlock(fd, HOLDER_BYTE)
            remove = fields is not None or now - os.fstat(fd).st_mtime > UNFINISHED_SECONDS
            return None
        return fields
    except OSError:
        return None
    finally:
        os.close(fd)
        if remove:
            _unlink(path)


def _mine(fields: dict[str, str]) -> bool:
    # POSIX locks (NFS's flock) never conflict within one process: our own holder file would look dead.
    return fields["host"] == host_name() and fields["pid"] == str(os.getpid()) and fields["pidns"] == pid_namespace()


def _live_files(lock_path: str) -> list[dict[str, str]]:
    """The fields of every live holder file beside `lock_path`; stale ones are removed on the way."""
    directory, name = os.path.split(lock_path)
    try:
        entries = [e for e in os.listdir(directory or ".") if e.startswith(name + INFIX)]
    except OSError:
        return []
    now = time.time()
    found = []
    for entry in sorted(entries):
        fields = _read_live(os.path.join(directory, entry), now)
        if fields is not None:
            found.append(fields)
    return found


def _here(fields: dict[str, str]) -> bool:
    """Is the holder file's process one whose pid means something here (this host, this pid namespace)?"""
    return fields["host"] == host_name() and fields["pidns"] == pid_namespace()


def _heir(fields: dict[str, str]) -> int:
    heir = fields.get("heir", "")
    return int(heir) if heir.isdigit() else 0


def heir_of(lock_path: str, pid: int) -> int:
    """The heir of `pid`'s live hold on `lock_path` (its holder file, still locked through the
    descriptor the heir inherited, names one), else 0."""
    for fields in _live_files(lock_path):
        if fields["pid"] == str(pid) and _here(fields):
            return _heir(fields)
    return 0


def holders_from_files(lock_path: str) -> list[Holder]:
    """The live holders that left a holder file beside `lock_path`, other than this process;
    stale holder files are removed on the way."""
    # Only when someone waits: a pip that never does skips it (P2).
    from piplockhook.lock.holders import Holder, is_alive

    here, namespace, now = host_name(), pid_namespace(), time.time()
    found = []
    for fields in _live_files(lock_path):
        if _mine(fields):
            continue
        try:
            since = max(0.0, now - float(fields["since"]))
        except ValueError:
            since = None
        other_namespace = bool(fields["pidns"] and namespace and fields["pidns"] != namespace)
        host = "" if fields["host"] == here else fields["host"]
        pid = int(fields["pid"])
        # Its holder gone, its lock kept by the heir (run's command): name the heir too.
        heir = _heir(fields) if _here(fields) and not is_alive(pid) else 0
        found.append(Holder(pid, fields["mode"], fields["command"], since, host, other_namespace, heir))
    return found


def holders_at(lock_path: str, fd: int) -> list[Holder]:
    """Everyone holding the lock file `lock_path` (open as `fd`), each once: the holders
    that left a holder file, and the ones only the kernel names (uv, flock(1))."""
    from piplockhook.lock.holders import holders_of

    return merge(holders_from_files(lock_path), holders_of(fd))


def merge(from_files: list[Holder], kernel: list[Holder]) -> list[Holder]:
    """Holders from their files and from the kernel, a process named by both once."""
    from piplockhook.lock.holders import Holder

    from_files = list(from_files)
    named = []
    for holder in kernel:
        same = [r for r in from_files if not r.host and _same_process(r, holder.pid)]
        if same:  # the kernel's pid is the one a user here can use; the holder file knows the rest
            from_files.remove(same[0])
            holder = Holder(
                holder.pid, same[0].mode, same[0].command or holder.command, same[0].running_for, heir=same[0].heir
            )
        elif holder.pid <= 0 and any(not r.host and r.other_namespace for r in from_files):
            continue  # the holder file of that process in another namespace says more
        named.append(holder)
    return from_files + named


def _same_process(named: Holder, pid: int) -> bool:
    from piplockhook.lock.holders import namespace_pids

    if not named.other_namespace:
        return named.pid == pid
    return named.pid in namespace_pids(pid)[1:]  # its pid in the namespaces below ours


def sweep(lock_path: str) -> None:
    """Remove the holder files of holders that are gone (reading them does)."""
    holders_from_files(lock_path)
