"""Nesting: a pip never waits for a lock its ancestor (or its own process) holds.

A process that takes a lock names it in the environment variable
``PIPLOCKHOOK_HELD`` (one ``pid mode path`` line per lock), which pip's build
children, ``setup.py`` scripts and commands run by ``piplockhook run`` inherit.
A marker line counts only while its pid is alive and, where the kernel tells us
(Linux), an ancestor of this process: a stray exported value changes nothing.
Within one process, the locks held are in ``ProcessState.held``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

from piplockhook.lock import STRENGTH
from piplockhook.state import current

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

    if is_ancestor(hold[0]):
        return hold[1]
    return None


def covering_mode(path: str, asking: object) -> tuple[str | None, str]:
    """(mode, who) of a hold on `path` that covers `asking`'s request: this
    process's own (another EnvironmentLock), else an ancestor's; (None, "")."""
    outer = current().held.get(path)
    if outer is not None and outer is not asking and outer.mode:
        return outer.mode, THIS_PROCESS
    mode = ancestor_mode(path)
    return (mode, AN_ANCESTOR) if mode else (None, "")


class Publication:
    """This process's line in the marker, for its children; undone on release."""

    def __init__(self, env: MutableMapping[str, str] = os.environ) -> None:
        self.env = env
        self.saved: str | None = None  # the inherited value, while we publish

    def publish(self, path: str, mode: str, holder: object) -> None:
        current().held[path] = holder
        if self.saved is None:
            self.saved = self.env.get(MARKER, "")
        self.env[MARKER] = with_hold(self.saved, path, mode)

    def withdraw(self, path: str, holder: object) -> None:
        held = current().held
        if held.get(path) is holder:
            del held[path]
        if self.saved is not None:
            if self.saved:
                self.env[MARKER] = self.saved
            else:
                self.env.pop(MARKER, None)
            self.saved = None
