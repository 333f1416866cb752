"""The lines piplockhook writes to stderr: waiting, acquired, warnings, debug."""

from __future__ import annotations

import sys
from typing import Sequence, Set

from piplockhook.holders import Holder

PREFIX = "piplockhook: "
_warned: Set[str] = set()


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

    def waiting(self, mode: str, path: str, environment: str, holders: Sequence[Holder]) -> None:
        who = "; ".join(h.describe() for h in holders) or "holder unknown"
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
