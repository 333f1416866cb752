"""The ``piplockhook`` command (also ``python -m piplockhook``).

One module per command, each with its ``Command`` (help, examples,
arguments, ``main``); the parser is built from ``COMMANDS``, as pip's is from
``commands_dict``. A new command is one module and one line here.
"""

from __future__ import annotations

import argparse
import os
import sys

import piplockhook
from piplockhook.cli import check, default, run, status, verify
from piplockhook.cli.base_command import EXIT_OK, EXIT_USAGE, Command, usage_error
from piplockhook.report import error_line
from piplockhook.settings import EXIT_BAD_CONFIG, ConfigError, read

DESCRIPTION = "Make every pip run in this environment take its lock; run other commands under it."

# name -> the command; in the order `piplockhook --help` lists them
COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (run.COMMAND, status.COMMAND, default.ENABLE, default.DISABLE, check.COMMAND, verify.COMMAND)
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line, like pip's ERROR: lines."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"ERROR: {self.prog}: {message} (see {self.prog} --help)\n")
        raise SystemExit(EXIT_USAGE)


def _version() -> str:
    python = "%d.%d" % sys.version_info[:2]
    return f"piplockhook {piplockhook.__version__} from {os.path.dirname(piplockhook.__file__)} (python {python})"


def build_parser() -> argparse.ArgumentParser:
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # named by the subcommand they were given to, not by the top-level parser
        prog = f"piplockhook {args.subcommand}" if args.subcommand else "piplockhook"
        return usage_error(prog, f"unrecognized arguments: {' '.join(unknown)} (see {prog} --help)")
    if args.version:
        print(_version())
        return EXIT_OK
    if args.subcommand is None:
        parser.print_help()
        return EXIT_USAGE
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
