"""Who holds a lock file now: read from the kernel, so dead holders never show.

Linux lists every flock in /proc/locks with the holder's pid; elsewhere the
holders are unknown and the waiting message says so.
"""

from __future__ import annotations

import os
from typing import List, NamedTuple, Optional


class Holder(NamedTuple):
    pid: int
    mode: str  # "shared" or "exclusive"
    command: str
    running_for: Optional[float]  # seconds since the holder process started

    def describe(self) -> str:
        age = "" if self.running_for is None else f", running {self.running_for:.0f}s"
        return f"pid {self.pid} ({self.mode}{age}): {self.command}"


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _command(pid: int) -> str:
    args = _read(f"/proc/{pid}/cmdline").split(b"\0")
    text = " ".join(" ".join(os.fsdecode(a).split()) for a in args if a)
    return text if len(text) <= 160 else text[:157] + "..."


def _running_for(pid: int) -> Optional[float]:
    try:
        stat = _read(f"/proc/{pid}/stat").rpartition(b")")[2].split()
        started = int(stat[19]) / os.sysconf("SC_CLK_TCK")
        uptime = float(_read("/proc/uptime").split()[0])
    except (IndexError, ValueError, OSError):
        return None
    return max(0.0, uptime - started)


def holders_of(fd: int) -> List[Holder]:
    """The processes holding a flock on the file open as `fd` (Linux only)."""
    try:
        st = os.fstat(fd)
    except OSError:
        return []
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    found = {}
    for line in _read("/proc/locks").decode("ascii", "replace").splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters carry "->".
        if len(fields) < 6 or "->" in fields or fields[1] != "FLOCK" or fields[5] != device:
            continue
        pid = int(fields[4])
        if pid > 0 and pid != os.getpid():
            mode = "exclusive" if fields[3] == "WRITE" else "shared"
            found[pid] = Holder(pid, mode, _command(pid), _running_for(pid))
    return sorted(found.values())


