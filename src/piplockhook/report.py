"""The lines piplockhook writes to stderr, one wording for each event.

pip's hook, ``piplockhook run`` and ``verify`` all write through a Reporter:

* waiting: ``piplockhook: waiting for shared lock on ENV (PATH), held by ...``,
  only once a wait has lasted ``patience`` seconds (1 s; 10 s under pip's -qq);
* acquired: ``piplockhook: acquired shared lock after waiting 3.2s``, after a
  waiting line (not under pip's -q);
* warnings (``WARNING: piplockhook: ...``), each said once per process;
* errors: ``ERROR: piplockhook: ...``, always;

Warnings and errors read as pip's own lines (``WARNING:``, ``ERROR:``), with
the same word after them everywhere, so a user can tell ours from pip's.
* debug: one line per lock event under PIPLOCKHOOK_DEBUG=1.
"""

from __future__ import annotations

import sys

PREFIX = "piplockhook: "
ERROR_PREFIX = "ERROR: " + PREFIX
WARNING_PREFIX = "WARNING: " + PREFIX
PATIENCE_SECONDS = 1.0  # a shorter wait says nothing
COMMAND_WIDTH = 160  # a command line in a message is cut to this many characters
QUIET_PATIENCE_SECONDS = 10.0  # under pip's -qq
SAID: set[str] = set()  # the warnings this process has written: each is said once


def shorten(text: str) -> str:
    """One line of at most COMMAND_WIDTH characters (a command line in a message)."""
    text = " ".join(text.split())
    return text if len(text) <= COMMAND_WIDTH else text[: COMMAND_WIDTH - 3] + "..."


def write(text: str, prefix: str = PREFIX) -> None:
    try:
        sys.stderr.write(prefix + text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed or broken stderr must not break pip
        pass


class Reporter:
    """Where one lock user's lines go, and how quiet they are (pip's -q count)."""

    def __init__(self, debug: bool, quiet: int = 0) -> None:
        self.debug_enabled = debug
        self.quiet = quiet

    @property
    def patience(self) -> float:
        """How long a wait lasts before the waiting line is written."""
        return QUIET_PATIENCE_SECONDS if self.quiet >= 2 else PATIENCE_SECONDS

    def debug(self, event: str, mode: str, path: str, detail: str = "") -> None:
        """One trace line per lock event, under PIPLOCKHOOK_DEBUG=1."""
        if self.debug_enabled:
            # "unlocked" would read as "released": it is a run that goes on without the lock
            what = f"running unlocked, without the {mode} lock" if event == "unlocked" else f"{event} {mode} lock"
            write(what + (f" {path}" if path else "") + (f" ({detail})" if detail else ""))

    def note(self, text: str) -> None:
        """A debug line that is not a lock event (a patch that failed, ...)."""
        if self.debug_enabled:
            write(text)

    def waiting(self, mode: str, path: str, environment: str, cause: str) -> None:
        """`cause`: "held by ..." or "queued behind ..." (see EnvironmentLock)."""
        write(f"waiting for {mode} lock on {environment} ({path}), {cause}")

    def acquired(self, mode: str, waited: float) -> None:
        if self.quiet < 1:
            write(f"acquired {mode} lock after waiting {waited:.1f}s")

    def warning(self, text: str) -> None:
        warning(text)

    def unlocked(self, why: str, loud: bool) -> None:
        """The lock cannot be used: a warning where files change, a debug line for reads."""
        if loud:
            self.warning(f"running unlocked: {why}")
        else:
            self.note(f"running unlocked: {why}")


def warning(text: str) -> None:
    """Every warning of ours goes through here: said once per process (a
    fault met at several places, or by every build child, is said once)."""
    if text not in SAID:
        SAID.add(text)
        write(text, prefix=WARNING_PREFIX)


def error_line(text: str) -> None:
    """One line in the form of pip's own errors."""
    write(text, prefix=ERROR_PREFIX)


def cancelled_line() -> None:
    """What pip says on Ctrl-C, for a wait that happens outside pip's handlers."""
    write("Operation cancelled by user", prefix="ERROR: ")
