"""The ``piplockhook`` command (also ``python -m piplockhook``).

One module per command, each with its ``Command`` (help, examples,
arguments, ``main``); the parser is built from ``COMMANDS``, as pip's is from
``commands_dict``. A new command is one module and one line here.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from typing import TYPE_CHECKING

import piplockhook
from piplockhook.cli import check, default, run, status, verify
from piplockhook.cli.base_command import (
    EXIT_CANCELLED,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PIPE_CLOSED,
    EXIT_USAGE,
    Command,
    usage_error,
)
from piplockhook.report import cancelled_line, error_line
from piplockhook.settings import EXIT_BAD_CONFIG, ConfigError, read

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

DESCRIPTION = "Make every pip run in this environment take its lock; run other commands under it."
HELP = "help"  # `piplockhook help [COMMAND]`, as `pip help [COMMAND]`: no settings read, nothing run

# name -> the command; in the order `piplockhook --help` lists them
COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (run.COMMAND, status.COMMAND, default.ENABLE, default.DISABLE, check.COMMAND, verify.COMMAND)
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line, like pip's ERROR: lines."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.subcommands: dict[str, argparse.ArgumentParser] = {}

    def error(self, message: str) -> None:  # type: ignore[override]
        raise SystemExit(usage_error(self.prog, message))

    def print_help(self, file: SupportsWrite[str] | None = None) -> None:
        # argparse's own ignores a failed write: a closed stdout ends --help as every command
        (file or sys.stdout).write(self.format_help())


def _version() -> str:
    python = "%d.%d" % sys.version_info[:2]
    return f"piplockhook {piplockhook.__version__} from {os.path.dirname(piplockhook.__file__)} (python {python})"


def build_parser() -> _Parser:
    """The parser of every command, from COMMANDS."""
    parser = _Parser(prog="piplockhook", description=DESCRIPTION)
    parser.add_argument("--version", action="store_true", help="show the version and where it is installed, and exit")
    subparsers = parser.add_subparsers(dest="subcommand", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS.values():
        sub = subparsers.add_parser(
            command.name,
            help=command.help,
            epilog=command.epilog or None,
            usage=command.usage,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if command.add_arguments is not None:
            command.add_arguments(sub)
        parser.subcommands[command.name] = sub
    helper = subparsers.add_parser(HELP, help="show the help of piplockhook, or of COMMAND")
    helper.add_argument("topic", nargs="?", choices=list(COMMANDS), metavar="COMMAND", help="the command to explain")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command's exit status (docs/cli.md's table).

    Handled here once for every command, never as a traceback: Ctrl-C is
    pip's one line and status; a closed stdout (`piplockhook verify --json |
    head -1`) ends the command quietly (where pip says "Pipe to stdout was
    broken": its reader wants no more); an OS error is one ERROR line.
    """
    try:
        _escape_what_stdout_cannot_encode()
        try:
            code = _main(argv)
        except SystemExit as exc:  # argparse's --help (0) and usage errors (2)
            code = EXIT_OK if exc.code is None else exc.code if isinstance(exc.code, int) else EXIT_USAGE
        sys.stdout.flush()  # here, not at the interpreter's exit: a closed pipe is still ours to catch
        return code
    except KeyboardInterrupt:
        cancelled_line()
        return EXIT_CANCELLED
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_PIPE_CLOSED
    except OSError as exc:  # what a user's paths and permissions can cause, that no command foresaw
        error_line(f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc))
        return EXIT_FAILED


def _escape_what_stdout_cannot_encode() -> None:
    # A path that is not UTF-8 (PIPLOCKHOOK_LOCKFILE, a file's name) would be a
    # UnicodeEncodeError on a strict stdout (a UTF-8 locale's): escaped
    # instead, as Python's stderr does.
    if getattr(sys.stdout, "errors", None) == "strict" and isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")


def _discard_stdout() -> None:
    # What is still buffered would fail again when the interpreter flushes
    # stdout at exit ("Exception ignored ... BrokenPipeError"): send it nowhere.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # a stdout with no descriptor (in-process callers)
        pass


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # named by the subcommand they were given to, not by the top-level parser
        prog = f"piplockhook {args.subcommand}" if args.subcommand else "piplockhook"
        return usage_error(prog, f"unrecognized arguments: {' '.join(unknown)}")
    if args.version:
        print(_version())
        return EXIT_OK
    if args.subcommand in (None, HELP):  # bare `piplockhook` is `piplockhook help`, as bare pip
        topic = getattr(args, "topic", None)
        (parser.subcommands[topic] if topic else parser).print_help()
        return EXIT_OK
    # One reader of the settings for every subcommand: a bad value is one
    # line naming it, exit 2, before anything is started or changed.
    try:
        settings = read(
            os.environ,
            timeout_option=getattr(args, "timeout", None),
            lockfile_option=getattr(args, "lockfile", None),
        )
    except ConfigError as exc:
        error_line(str(exc))
        return EXIT_BAD_CONFIG
    return COMMANDS[args.subcommand].main(args, settings)
