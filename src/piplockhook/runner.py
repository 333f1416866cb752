"""``piplockhook run``: hold a lock for the whole life of a command.

Unlike SageMath's sage-flock, which ``exec``s the command and so loses its lock
on Python 3 (the descriptor is close-on-exec), this process stays as the
command's parent and holds the lock until the command has exited. The command
and its children see the lock in ``PIPLOCKHOOK_HELD``, so pips run inside it
do not wait for it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from piplockhook.envlock import EnvironmentLock, LockError, LockTimeout
from piplockhook.report import error_line

_WAIT_STEP_SECONDS = 0.5


def _terminal_sends_it_too() -> bool:
    # A Ctrl-C typed at a terminal reaches the whole foreground process group,
    # the command included: forwarding it as well would deliver it twice.
    if sys.platform == "win32":  # a console's Ctrl-C reaches every process attached to it
        return True
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


def run_locked(command: list[str], *, mode: str, lock: EnvironmentLock | None) -> int:
    """Run `command` holding `lock` in `mode` (None: unlocked, PIPLOCKHOOK=0);
    return its exit status (128+N for signal N)."""
    if lock is not None:
        try:
            lock.acquire(mode)
        except (LockTimeout, LockError) as exc:
            error_line(str(exc))
            return 1 if isinstance(exc, LockTimeout) else 2
        except KeyboardInterrupt:
            lock.close()
            return 128 + signal.SIGINT
        if lock.unavailable:
            error_line(f"not locked: {lock.unavailable}; {command[0]} not run")
            lock.close()
            return 2
    try:
        try:
            child = subprocess.Popen(command)
        except OSError as exc:
            error_line(f"cannot run {command[0]}: {exc.strerror}")
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
        if lock is not None:
            lock.close()
