"""What the kernel says about a process: its parent, its age, its command line.

Read from ``/proc`` (Linux) and nowhere else in piplockhook; elsewhere each
answer is None (or ``""``), and callers say so.
"""

from __future__ import annotations

import os
import sys

COMMAND_WIDTH = 160  # a command line in a message is cut to this many characters


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


def shorten(text: str) -> str:
    """One line of at most COMMAND_WIDTH characters."""
    text = " ".join(text.split())
    return text if len(text) <= COMMAND_WIDTH else text[: COMMAND_WIDTH - 3] + "..."


def command_of(pid: int) -> str:
    """`pid`'s command line, shortened for a message ("" where /proc does not tell)."""
    args = _read(f"/proc/{pid}/cmdline").split(b"\0")
    return shorten(" ".join(os.fsdecode(a) for a in args if a))


def has_proc() -> bool:
    return os.path.isdir("/proc/self")


def is_ancestor(pid: int) -> bool:
    """Is `pid` this process or one of its ancestors? Without /proc (macOS,
    Windows) a live pid is the best we know."""
    if pid == os.getpid():
        return True
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
        return True  # os.kill(pid, 0) would terminate it there; callers keep the record
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True
