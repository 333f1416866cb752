"""Who holds a lock file, as the kernel tells it, and how a message names them.

Linux lists every flock in ``/proc/locks`` with the holder's pid, so dead
holders never show. Where it names nobody, the description says why it
cannot (another pid namespace, another host, a platform without
``/proc/locks``) instead of calling the holder a mystery.

Also what the kernel says of a process (its parent, its age, its command
line), read from ``/proc`` here and nowhere else in piplockhook; elsewhere
each answer is None (or ``""``), and callers say so.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from piplockhook.report import shorten

if sys.platform == "win32":
    from piplockhook.lock import _windows

# -- what the kernel says of a process


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _stat_fields(pid: int) -> list[bytes]:
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
    return _read(f"/proc/{pid}/stat").rpartition(b")")[2].split()


def parent_of(pid: int) -> int | None:
    """The parent's pid, or None where /proc does not tell."""
    try:
        return int(_stat_fields(pid)[1])
    except (IndexError, ValueError):
        return None


def running_for(pid: int) -> float | None:
    """Seconds since `pid` started, or None where /proc does not tell."""
    if sys.platform == "win32":
        return None
    try:
        started = int(_stat_fields(pid)[19]) / os.sysconf("SC_CLK_TCK")
        uptime = float(_read("/proc/uptime").split()[0])
    except (IndexError, ValueError, OSError):
        return None
    return max(0.0, uptime - started)


def command_of(pid: int) -> str:
    """`pid`'s command line, shortened for a message ("" where /proc does not tell)."""
    args = _read(f"/proc/{pid}/cmdline").split(b"\0")
    return shorten(" ".join(os.fsdecode(a) for a in args if a))


def namespace_pids(pid: int) -> list[int]:
    """`pid`'s pids in this and every nested pid namespace (NSpid), [] where /proc does not tell."""
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith(b"NSpid:"):
            return [int(p) for p in line.split()[1:] if p.isdigit()]
    return []


def has_proc() -> bool:
    return os.path.isdir("/proc/self")


def is_ancestor(pid: int) -> bool:
    """Is `pid` this process or one of its ancestors? Without /proc (macOS,
    Windows) a live pid is the best we know."""
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # os.kill(pid, 0) would end that process; Wine shows the host's /proc
        return _windows.process_alive(pid)
    if has_proc():
        current: int | None = os.getpid()
        for _ in range(128):
            current = parent_of(current) if current else None
            if not current:
                return False
            if current == pid:
                return True
        return False
    return is_alive(pid)


def is_alive(pid: int) -> bool:
    if sys.platform == "win32":
        return _windows.process_alive(pid)  # os.kill(pid, 0) would terminate it there
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True


# -- who holds a lock

NOT_LISTED_HERE = "a process on another host that left no holder file, so probably not piplockhook (uv or flock(1)?)"
NOT_LISTED_ON_PLATFORM = "a process that left no holder file, so probably not piplockhook (uv or flock(1)?)"
OTHER_NAMESPACE = "a process in another pid namespace (a container?), whose pid the kernel does not show here"


class Holder:
    """One process holding the lock, as the kernel or its holder file tells."""

    __slots__ = ("command", "heir", "host", "mode", "other_namespace", "pid", "running_for")

    def __init__(
        self,
        pid: int,
        mode: str,
        command: str,
        running_for: float | None,
        host: str = "",
        other_namespace: bool = False,
        heir: int = 0,
    ) -> None:
        self.pid = pid  # 0: in another pid namespace, unnamed
        self.mode = mode  # "shared" or "exclusive"
        self.command = command
        self.running_for = running_for  # seconds since it started (the kernel) or took the lock (a holder file)
        self.host = host  # "": this host
        self.other_namespace = other_namespace  # `pid` is its pid in another pid namespace
        self.heir = heir  # `pid` is gone, this child kept its lock (a killed `piplockhook run`'s command); 0: none

    def describe(self) -> str:
        if self.pid <= 0:
            return f"{OTHER_NAMESPACE} ({self.mode})"
        where = (f" on {self.host}" if self.host else "") + (
            " in another pid namespace" if self.other_namespace else ""
        )
        age = "" if self.running_for is None else f", running {self.running_for:.0f}s"
        if self.heir:
            command = command_of(self.heir) or self.command
            return (
                f"pid {self.heir} ({self.mode}{age}): {command}, the command of {self.command} (pid {self.pid}, gone)"
            )
        return f"pid {self.pid}{where} ({self.mode}{age})" + (f": {self.command}" if self.command else "")

    def as_dict(self) -> dict[str, object]:
        return {
            "pid": self.pid,
            "mode": self.mode,
            "command": self.command,
            "running_for": self.running_for,
            "host": self.host,
            "other_namespace": self.other_namespace,
            "heir": self.heir or None,
        }


def kernel_names_holders() -> bool:
    return sys.platform.startswith("linux")


def describe(holders: Sequence[Holder]) -> str:
    """The holders for a message: each described, or why none can be named."""
    if holders:
        return "; ".join(h.describe() for h in holders)
    return NOT_LISTED_HERE if kernel_names_holders() else NOT_LISTED_ON_PLATFORM


def _device_key(fd: int) -> str | None:
    if sys.platform == "win32":  # no /proc/locks to match it against
        return None
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"


def parse_proc_locks(text: str, device: str, me: int) -> list[tuple[int, str]]:
    """(pid, mode) of every flock granted on `device` ("MAJ:MIN:INODE"), not `me`."""
    found: dict[int, str] = {}
    for line in text.splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters carry "->".
        if len(fields) < 6 or "->" in fields or fields[1] != "FLOCK" or fields[5] != device:
            continue
        try:
            pid = int(fields[4])
        except ValueError:
            continue
        if pid != me:
            pid = max(pid, 0)  # -1 or 0: the holder's pid is not in our namespace
            found[pid] = "exclusive" if fields[3] == "WRITE" else "shared"
    return sorted(found.items())


def holders_of(fd: int) -> list[Holder]:
    """The processes holding a flock on the file open as `fd` (Linux only)."""
    if not kernel_names_holders():
        return []
    device = _device_key(fd)
    if device is None:
        return []
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    return [
        Holder(pid, mode, command_of(pid) if pid else "", running_for(pid) if pid else None)
        for pid, mode in parse_proc_locks(text, device, os.getpid())
    ]
