"""``piplockhook run``: hold a lock for the whole life of a command.

Unlike SageMath's sage-flock, which ``exec``s the command and so loses its lock
on Python 3 (the descriptor is close-on-exec), this process stays as the
command's parent and holds the lock until the command has exited. The command
inherits the lock's descriptors too (POSIX), so killing this process, even with
SIGKILL, frees nothing while the command lives, as with flock(1). The command
and its children see the lock in ``PIPLOCKHOOK_HELD``, so pips run inside it
do not wait for it, also once this process is gone (the holder file names the
command as its heir).

``run`` is an explicit request: ``PIPLOCKHOOK=0`` (which opts pip runs out)
does not apply to it.

Issue 28: ``run -x`` changes the environment in ways no journal follows, so it
writes a journal of one ``blind`` entry while it holds the lock itself, and
removes it when it ends in its own process (the command's exit, an error,
SIGINT/SIGTERM forwarded). Killed itself (SIGKILL), it leaves it: once its
command has ended too, the next pip or piplockhook command to take the lock
says that a ``run -x`` died, whose, and to run ``piplockhook verify``, until
verify finds the environment whole. ``run -s`` writes none (its command may
not write while pips read), nor does a ``run -x`` nested in a hold it does not
take itself; pips nested in the command journal nothing either (they run under
this hold, not their own).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from piplockhook.cli.base_command import EXIT_FAILED, Command, add_lock_options, lock_at, usage_error
from piplockhook.journal import Journal, writer_entry
from piplockhook.journal.restore import RUN
from piplockhook.locations import location_for_options
from piplockhook.lock import EXCLUSIVE, SHARED, LockError
from piplockhook.lock.environment import JOURNAL_SUFFIX, EnvironmentLock
from piplockhook.lock.holderfiles import _command, host_name, pid_namespace
from piplockhook.report import error_line
from piplockhook.settings import Settings

EPILOG = """\
examples:
  piplockhook run -- make -j8 install        # exclusive: no pip runs meanwhile
  piplockhook run -s -- python -m pytest     # shared: pips may read, none may write
  piplockhook run --lockfile /shared/sage.lock --timeout 600 -- ./build.sh

The lock is held until COMMAND exits; its exit status is returned (128+N if
a signal N ended it). SIGINT and SIGTERM are forwarded to COMMAND. COMMAND
holds the lock too (not yet on Windows): killing run, even with SIGKILL,
frees nothing while COMMAND runs, and a process COMMAND leaves running in
the background keeps it, as with flock(1). pips run inside COMMAND do not
wait for the lock this run holds. PIPLOCKHOOK=0 opts pip runs out, not this
one: run always takes its lock. Ctrl-C while run waits for the lock ends it
as it ends pip (exit status 1).

What COMMAND changes is not journaled: should run -x itself be killed (SIGKILL)
while COMMAND changes the environment, the next pip or piplockhook command to
take the lock after COMMAND ends says so, and every pip repeats it until
`piplockhook verify` finds the environment whole (docs/journal.md)."""

_WAIT_STEP_SECONDS = 0.5
BLIND = "run does not journal what its command changes"


def start_journal(lock: EnvironmentLock) -> Journal | None:
    """The journal of a ``run -x`` that holds the exclusive lock itself: one
    ``blind`` entry (None where it takes no exclusive hold of its own, or where
    the journal cannot be written: a debug line, and the command runs)."""
    if lock.file.mode != EXCLUSIVE:
        return None
    journal = None
    try:
        writer = writer_entry(_command(), host_name(), pid_namespace())
        journal = Journal.start(lock.path + JOURNAL_SUFFIX, {**writer, "kind": RUN})
        journal.append({"op": "blind", "why": BLIND})
    except Exception as exc:  # a read-only directory, a full disk: the command runs, not journaled
        if journal is not None:
            journal.discard()
        lock.reporter.note(f"not journaling this run: {exc!r}")
        return None
    return journal


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
    """Run `command` holding `lock` in `mode`; return its exit status (128+N for signal N)."""
    try:
        lock.acquire(mode)
    except LockError as exc:
        error_line(str(exc))
        return EXIT_FAILED  # timed out or unusable: the lock was not had (docs/cli.md's table)
    # Ctrl-C while waiting: acquire() leaves nothing held, and cli.main says pip's line with pip's status.
    if lock.unavailable:
        error_line(f"not locked: {lock.unavailable}; {command[0]} not run")
        lock.close()
        return EXIT_FAILED
    # Forwarding starts before the command does: a signal that arrives while it
    # starts is kept and sent once it runs, instead of killing us and leaving it.
    children: list[subprocess.Popen[bytes]] = []
    pending: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        if signum == signal.SIGINT and _terminal_sends_it_too():
            return
        if not children:
            pending.append(signum)
            return
        try:
            children[0].send_signal(signum)
        except (OSError, ValueError):  # ValueError: a signal Windows cannot send
            pass

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    journal = None
    try:
        journal = start_journal(lock)
        try:
            # The command holds the lock with us, and on should we be killed (pass_fds: POSIX only).
            children.append(subprocess.Popen(command, pass_fds=lock.inheritable()))
        except OSError as exc:
            error_line(f"cannot run {command[0]}: {exc.strerror}")
            return 127 if isinstance(exc, FileNotFoundError) else 126
        child = children[0]
        for signum in pending:
            forward(signum, None)
        lock.handed_to(child.pid)
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
        return 128 - status if status < 0 else status
    finally:
        if journal is not None:  # while signals are still forwarded, and before the lock goes
            journal.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
        lock.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("-s", "--shared", dest="mode", action="store_const", const=SHARED, help="take the lock shared")
    mode.add_argument(
        "-x",
        "--exclusive",
        dest="mode",
        action="store_const",
        const=EXCLUSIVE,
        help="take the lock exclusively (the default)",
    )
    add_lock_options(
        parser,
        lockfile_help="lock PATH (parents are created) instead of the environment's pip lock",
        timeout_help="give up after S seconds of waiting (default: wait)",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND [ARG...]", help="what to run")


def main(args: argparse.Namespace, settings: Settings) -> int:
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        return usage_error("piplockhook run", "no COMMAND to run (see piplockhook run --help)")
    # An explicit request: PIPLOCKHOOK=0 opts pip runs out, never this lock (SPEC §4).
    lock = lock_at(location_for_options(None, settings.lockfile), settings, loud=False)
    return run_locked(command, mode=args.mode or EXCLUSIVE, lock=lock)


COMMAND = Command(
    "run",
    "run a command holding the environment's lock",
    main,
    epilog=EPILOG,
    usage="piplockhook run [-s|--shared | -x|--exclusive] [--lockfile PATH] [--timeout S] [--] COMMAND [ARG...]",
    add_arguments=add_arguments,
)
