"""Nested pips never wait for a lock their ancestor holds.

A process that takes a lock records it in the environment variable
``PIPLOCKHOOK_HELD`` (one ``pid mode path`` line per lock), which pip's build
children, ``setup.py`` scripts and commands run by ``piplockhook run`` inherit.
A record counts only while its pid is alive and, where the kernel tells us
(Linux), an ancestor of this process: a stray exported value changes nothing.
"""

from __future__ import annotations

import os
from typing import Dict, Optional

MARKER = "PIPLOCKHOOK_HELD"
STRENGTH = {"shared": 1, "exclusive": 2}


def _parent_of(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rpartition(b")")[2].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _is_ancestor(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.path.isdir("/proc/self"):
        current: Optional[int] = os.getpid()
        for _ in range(128):
            current = _parent_of(current) if current else None
            if not current:
                return False
            if current == pid:
                return True
        return False
    try:  # no /proc (macOS): a live pid is the best we know
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def parse(value: str) -> Dict[str, tuple]:
    """{path: (pid, mode)} from a marker value; malformed lines are ignored."""
    held = {}
    for line in value.splitlines():
        pid, _, rest = line.partition(" ")
        mode, _, path = rest.partition(" ")
        if pid.isdigit() and mode in STRENGTH and path:
            held[path] = (int(pid), mode)
    return held


def ancestor_mode(path: str) -> Optional[str]:
    """The mode in which an ancestor process holds `path`, if one does."""
    record = parse(os.environ.get(MARKER, "")).get(path)
    if record and _is_ancestor(record[0]):
        return record[1]
    return None


def with_record(value: str, path: str, mode: str) -> str:
    """The marker value with this process holding `path` in `mode`."""
    held = parse(value)
    held[path] = (os.getpid(), mode)
    return "\n".join(f"{pid} {m} {p}" for p, (pid, m) in held.items())
