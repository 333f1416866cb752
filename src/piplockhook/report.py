"""The lines piplockhook writes to stderr (waiting, acquired, warnings,
debug), and the holders they name.

Who holds a lock file is read from the kernel, so dead holders never show:
Linux lists every flock in /proc/locks with the holder's pid; elsewhere the
holders are unknown and the waiting message says so.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

# -- who holds a lock

UNKNOWN_HOLDER = "an unknown holder"  # where the kernel does not tell (not Linux)


class Holder:
    """One process holding a flock on the lock file."""

    __slots__ = ("command", "mode", "pid", "running_for")

    def __init__(self, pid: int, mode: str, command: str, running_for: float | None) -> None:
        self.pid = pid
        self.mode = mode  # "shared" or "exclusive"
        self.command = command
        self.running_for = running_for  # seconds since the holder process started

    def describe(self) -> str:
        age = "" if self.running_for is None else f", running {self.running_for:.0f}s"
        return f"pid {self.pid} ({self.mode}{age}): {self.command}"


def describe_holders(holders: Sequence[Holder]) -> str:
    """The holders for a message: each described, or that they are unknown."""
    return "; ".join(h.describe() for h in holders) or UNKNOWN_HOLDER


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


def _running_for(pid: int) -> float | None:
    if sys.platform == "win32":
        return None
    try:
        stat = _read(f"/proc/{pid}/stat").rpartition(b")")[2].split()
        started = int(stat[19]) / os.sysconf("SC_CLK_TCK")
        uptime = float(_read("/proc/uptime").split()[0])
    except (IndexError, ValueError, OSError):
        return None
    return max(0.0, uptime - started)


def holders_of(fd: int) -> list[Holder]:
    """The processes holding a flock on the file open as `fd` (Linux only)."""
    if not sys.platform.startswith("linux"):
        return []
    try:
        st = os.fstat(fd)
    except OSError:
        return []
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    found: dict[int, Holder] = {}
    for line in _read("/proc/locks").decode("ascii", "replace").splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters carry "->".
        if len(fields) < 6 or "->" in fields or fields[1] != "FLOCK" or fields[5] != device:
            continue
        pid = int(fields[4])
        if pid > 0 and pid != os.getpid():
            mode = "exclusive" if fields[3] == "WRITE" else "shared"
            found[pid] = Holder(pid, mode, _command(pid), _running_for(pid))
    return [found[pid] for pid in sorted(found)]


# -- the lines

PREFIX = "piplockhook: "
_warned: set[str] = set()


def _write(text: str, prefix: str = PREFIX) -> None:
    try:
        sys.stderr.write(prefix + text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed or broken stderr must not break pip
        pass


class Reporter:
    def __init__(self, debug: bool) -> None:
        self.debug_enabled = debug

    def debug(self, event: str, mode: str, path: str, detail: str = "") -> None:
        """One trace line per lock event, under PIPLOCKHOOK_DEBUG=1."""
        if self.debug_enabled:
            _write(f"{event} {mode} lock {path}" + (f" ({detail})" if detail else ""))

    def note(self, text: str) -> None:
        """A debug line that is not a lock event (a patch that failed, ...)."""
        if self.debug_enabled:
            _write(text)

    def waiting(self, mode: str, path: str, environment: str, holders: Sequence[Holder]) -> None:
        who = describe_holders(holders)
        _write(f"waiting for {mode} lock on {environment} ({path}), held by {who}")

    def acquired_after_wait(self, mode: str, waited: float) -> None:
        _write(f"acquired {mode} lock after waiting {waited:.1f}s")

    def warning(self, text: str) -> None:
        if text not in _warned:  # a fault met at several places is said once
            _warned.add(text)
            _write("warning: " + text)


def error_line(text: str) -> None:
    """One line in the form of pip's own errors (for bad configuration)."""
    _write(text, prefix="ERROR: " + PREFIX)


def cancelled_line() -> None:
    """What pip says on Ctrl-C, for a wait that happens outside pip's handlers."""
    _write("Operation cancelled by user", prefix="ERROR: ")
