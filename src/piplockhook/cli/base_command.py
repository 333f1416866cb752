"""What every ``piplockhook`` command is made of, and what they share.

A command is one module of this package with one ``Command`` in it: its
name, its one-line help, its examples (the epilog), how it reads its
arguments and its ``main``. ``cli/__init__.py`` builds the parser from the
table of them, as pip builds its own from ``commands_dict``.
"""

from __future__ import annotations

import argparse
from typing import Callable

from piplockhook.locations import LockLocation
from piplockhook.lock.environment import EnvironmentLock, environment_lock
from piplockhook.report import Reporter, error_line
from piplockhook.settings import Settings

# The exit codes of every command: docs/cli.md's table (docs/gen_cli.py writes
# it from these). The same event exits as pip's would: pip's ERROR is 1, its
# usage errors 2.
EXIT_OK = 0
EXIT_FAILED = 1  # it did not hold (check, verify) or could not be done: a lock timed out or unusable, an OS error
EXIT_CANCELLED = 1  # Ctrl-C: "ERROR: Operation cancelled by user", pip's line and status
EXIT_PIPE_CLOSED = 1  # stdout's reader went away (`| head`): nothing more is said
EXIT_USAGE = 2  # bad arguments or a bad setting (settings.EXIT_BAD_CONFIG is the same)
# run alone: its COMMAND's status, else these, as a shell's
EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127
EXIT_SIGNAL_BASE = 128  # + N: COMMAND ended by signal N


class Command:
    """One subcommand: what the parser shows of it, and what it runs."""

    __slots__ = ("add_arguments", "epilog", "help", "main", "name", "usage")

    def __init__(
        self,
        name: str,
        help: str,
        main: Callable[[argparse.Namespace, Settings], int],
        *,
        epilog: str = "",
        usage: str | None = None,
        add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    ) -> None:
        self.name = name
        self.help = help
        self.main = main  # (its arguments, the settings read once for every command) -> exit status
        self.epilog = epilog
        self.usage = usage
        self.add_arguments = add_arguments


def usage_error(prog: str, message: str) -> int:
    """A usage error in one line, in pip's voice and with our one prefix word:
    ``ERROR: piplockhook: verify: MESSAGE (see piplockhook verify --help)``.
    `prog`: "piplockhook" or "piplockhook COMMAND". The exit status for it."""
    command = prog.partition(" ")[2]
    hint = f" (see {prog} --help)"
    if message.endswith(hint):  # a caller that gave it already
        message = message[: -len(hint)]
    error_line((f"{command}: " if command else "") + message + hint)
    return EXIT_USAGE


def add_lock_options(parser: argparse.ArgumentParser, lockfile_help: str, timeout_help: str) -> None:
    """--lockfile and --timeout: read with PIPLOCKHOOK_LOCKFILE's and PIPLOCKHOOK_TIMEOUT's parsers."""
    parser.add_argument("--lockfile", metavar="PATH", help=lockfile_help)
    parser.add_argument("--timeout", metavar="S", help=timeout_help)


def lock_at(where: LockLocation, settings: Settings, *, loud: bool) -> EnvironmentLock:
    """The lock a command of ours takes at `where`, waiting and reporting as `settings` say."""
    return environment_lock(where, settings, Reporter(settings.debug), loud=loud)
