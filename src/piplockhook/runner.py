"""``piplockhook run``: hold a lock for the whole life of a command.

Unlike SageMath's sage-flock, which ``exec``s the command and so loses its lock
on Python 3 (the descriptor is close-on-exec), this process stays as the
command's parent and holds the lock until the command has exited. The command
and its children see the lock in ``PIPLOCKHOOK_HELD``, so pips run inside it
do not wait for it.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Sequence

from piplockhook.lock import EnvironmentLock, LockError, LockTimeout
from piplockhook.report import Holder, Reporter, describe_holders

_WAIT_STEP_SECONDS = 0.5


class SageFlockStyle(Reporter):
    """sage-flock's messages: "Waiting for <mode> lock to run <cmd> ... ok"."""

    def __init__(self, command: Sequence[str], debug: bool) -> None:
        super().__init__(debug)
        self.command = " ".join(shlex.quote(a) for a in command)

    def waiting(self, mode: str, path: str, environment: str, holders: Sequence[Holder]) -> None:
        who = describe_holders(holders)
        sys.stderr.write(f"Waiting for {mode} lock on {path} to run {self.command} (held by {who}) ... ")
        sys.stderr.flush()

    def acquired_after_wait(self, mode: str, waited: float) -> None:
        sys.stderr.write(f"ok ({waited:.1f}s)\n")
        sys.stderr.flush()


def _terminal_sends_it_too() -> bool:
    # A Ctrl-C typed at a terminal reaches the whole foreground process group,
    # the command included: forwarding it as well would deliver it twice.
    if sys.platform == "win32":  # a console's Ctrl-C reaches every process attached to it
        return True
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


def run_locked(command: list[str], *, mode: str, lock: EnvironmentLock) -> int:
    """Run `command` holding `lock` in `mode`; return its exit status (128+N for signal N).

    `lock` reports through a SageFlockStyle reporter for `command`.
    """
    try:
        lock.acquire(mode)
    except (LockTimeout, LockError) as exc:
        sys.stderr.write(f"ERROR: piplockhook run: {exc}\n")
        return 1 if isinstance(exc, LockTimeout) else 2
    except KeyboardInterrupt:
        lock.close()
        return 128 + signal.SIGINT
    if lock.unavailable:
        sys.stderr.write(f"ERROR: piplockhook run: cannot lock {lock.path}: {lock.unavailable}\n")
        lock.close()
        return 2
    try:
        try:
            child = subprocess.Popen(command)
        except OSError as exc:
            sys.stderr.write(f"ERROR: piplockhook run: cannot run {command[0]}: {exc.strerror}\n")
            return 127 if isinstance(exc, FileNotFoundError) else 126

        def forward(signum: int, _frame: object) -> None:
            if signum == signal.SIGINT and _terminal_sends_it_too():
                return
            try:
                child.send_signal(signum)
            except (OSError, ValueError):  # ValueError: a signal Windows cannot send
                pass

        previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            while True:
                try:
                    # In steps, not one blocking waitpid: a signal that does not
                    # interrupt the wait still reaches `forward` within a step.
                    status = child.wait(timeout=_WAIT_STEP_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    continue
                except KeyboardInterrupt:  # pragma: no cover - handlers above catch it
                    continue
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        return 128 - status if status < 0 else status
    finally:
        lock.close()
