"""The ``piplockhook`` command (also ``python -m piplockhook``)."""

from __future__ import annotations

import argparse
import json
import os
import sys

import piplockhook
from piplockhook import fscheck, status, verify
from piplockhook.envlock import EnvironmentLock, environment_lock
from piplockhook.filelock import EXCLUSIVE, SHARED
from piplockhook.locations import LockLocation, location_for_options, why_unlockable
from piplockhook.report import Reporter, error_line
from piplockhook.settings import (
    EXIT_BAD_CONFIG,
    SITE_PACKAGES,
    ConfigError,
    Settings,
    disabled_marker,
    read,
    set_default,
)

EXIT_USAGE = 2

DESCRIPTION = "Make every pip run in this environment take its lock; run other commands under it."

RUN_EPILOG = """\
examples:
  piplockhook run -- make -j8 install        # exclusive: no pip runs meanwhile
  piplockhook run -s -- python -m pytest     # shared: pips may read, none may write
  piplockhook run --lockfile /shared/sage.lock --timeout 600 -- ./build.sh

The lock is held until COMMAND exits; its exit status is returned (128+N if
a signal N ended it). SIGINT and SIGTERM are forwarded to COMMAND. pips run
inside COMMAND do not wait for the lock this run holds."""

STATUS_EPILOG = """\
examples:
  piplockhook status
  piplockhook status --json | python -c "import json,sys; print(json.load(sys.stdin)['active'])"

--json keys: version, python, site_packages, installed, default ("on"/"off"),
active, reasons (why not active), locked and unlocked_reason (can a pip here
have the lock at all, and why not), environment, lock_path, lock_file_exists,
lock_note, holders (pid, mode, command, running_for, host, other_namespace), holders_known, leftovers,
and locks: every file a pip run here locks (path, kind "piplockhook" or "uv",
for, exists, note, holders); uv's own lock is there where this Python is not
a virtual environment."""

ENABLE_EPILOG = """\
example:
  piplockhook enable      # every pip run here is locked (the default)"""

DISABLE_EPILOG = """\
example:
  piplockhook disable     # pip runs lock only with PIPLOCKHOOK=1
  PIPLOCKHOOK=1 pip install -r requirements.txt

The default lives and dies with the package: its marker (piplockhook.disabled
beside piplockhook.pth) is listed in piplockhook's RECORD, so `pip uninstall
piplockhook` removes it and a new install is on. An upgrade uninstalls the old
version first: run `piplockhook disable` again after one."""

CHECK_EPILOG = """\
example:
  piplockhook check
  PIPLOCKHOOK_LOCKFILE=/nfs/venv/.lock piplockhook check

Exit status 0 when locking works here (warnings may still be printed), 1 when
it does not."""


VERIFY_EPILOG = """\
examples:
  piplockhook verify                  # every distribution here: files, sizes, sha256
  piplockhook verify --quick          # presence and size only: fast on gigabytes of wheels
  piplockhook verify --json | python -c "import json,sys; print(len(json.load(sys.stdin)['problems']))"

Each problem is one line: the distribution, what is wrong, and the command that
repairs it (`pip install --force-reinstall --no-deps NAME==VERSION`, or removing
a stale .dist-info or a `~` leftover; run them in the order shown, while no pip
runs). verify changes nothing: it reads under the environment's shared lock, so
it waits for a pip that is writing. Exit status 0 when all is as the metadata
says, 1 when problems were found, 2 for usage errors or a lock not had in time.

--json keys: directories, quick, distributions, files, bytes, seconds,
problems (kind, distribution, path, detail, repair, files), summary."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line, like pip's ERROR: lines."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"ERROR: {self.prog}: {message} (see {self.prog} --help)\n")
        raise SystemExit(EXIT_USAGE)


def _version() -> str:
    python = "%d.%d" % sys.version_info[:2]
    return f"piplockhook {piplockhook.__version__} from {os.path.dirname(piplockhook.__file__)} (python {python})"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="piplockhook", description=DESCRIPTION)
    parser.add_argument("--version", action="store_true", help="show the version and where it is installed, and exit")
    commands = parser.add_subparsers(dest="subcommand", metavar="COMMAND", parser_class=_Parser)
    fmt = argparse.RawDescriptionHelpFormatter

    run = commands.add_parser(
        "run",
        help="run a command holding the environment's lock",
        epilog=RUN_EPILOG,
        formatter_class=fmt,
        usage="piplockhook run [-s|--shared | -x|--exclusive] [--lockfile PATH] [--timeout S] [--] COMMAND [ARG...]",
    )
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("-s", "--shared", dest="mode", action="store_const", const=SHARED, help="take the lock shared")
    mode.add_argument(
        "-x",
        "--exclusive",
        dest="mode",
        action="store_const",
        const=EXCLUSIVE,
        help="take the lock exclusively (the default)",
    )
    run.add_argument(
        "--lockfile", metavar="PATH", help="lock PATH (parents are created) instead of the environment's pip lock"
    )
    run.add_argument("--timeout", metavar="S", help="give up after S seconds of waiting (default: wait)")
    run.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND [ARG...]", help="what to run")

    status = commands.add_parser(
        "status", help="is the hook active for pip here, who holds the lock", epilog=STATUS_EPILOG, formatter_class=fmt
    )
    status.add_argument("--json", action="store_true", help="machine-readable output (stable keys)")
    commands.add_parser(
        "enable", help="lock every pip run in this environment (the default)", epilog=ENABLE_EPILOG, formatter_class=fmt
    )
    commands.add_parser(
        "disable", help="lock pip runs here only with PIPLOCKHOOK=1", epilog=DISABLE_EPILOG, formatter_class=fmt
    )
    commands.add_parser(
        "check", help="prove that locking works on the lock's filesystem", epilog=CHECK_EPILOG, formatter_class=fmt
    )
    check = commands.add_parser(
        "verify",
        help="is what is installed what the metadata says? (one line per problem, with its repair)",
        epilog=VERIFY_EPILOG,
        formatter_class=fmt,
    )
    check.add_argument("--quick", action="store_true", help="check presence and size only, not sha256")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    where = check.add_mutually_exclusive_group()
    where.add_argument(
        "--target", metavar="DIR", help="check DIR, filled by `pip install --target DIR` (locks DIR/.lock, as pip does)"
    )
    where.add_argument(
        "--path",
        metavar="DIR",
        action="append",
        help="check DIR instead of this environment's site-packages, under its lock (repeatable; as `pip list --path`)",
    )
    check.add_argument("--lockfile", metavar="PATH", help="take PATH shared instead of the environment's pip lock")
    check.add_argument(
        "--timeout", metavar="S", help="give up after S seconds of waiting (default: PIPLOCKHOOK_TIMEOUT, else wait)"
    )
    return parser


def _usage_error(prog: str, message: str) -> int:
    sys.stderr.write(f"ERROR: {prog}: {message}\n")
    return EXIT_USAGE


def _lock(where: LockLocation, settings: Settings, *, loud: bool) -> EnvironmentLock:
    return environment_lock(where, settings, Reporter(settings.debug), loud=loud)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        return _usage_error("piplockhook run", "no COMMAND to run (see piplockhook run --help)")
    from piplockhook.runner import run_locked

    if settings.opted_out:  # PIPLOCKHOOK=0: this invocation (and the pips in it) takes no lock
        Reporter(settings.debug).debug("skipped", args.mode or EXCLUSIVE, "", "PIPLOCKHOOK opts this run out")
        return run_locked(command, mode=args.mode or EXCLUSIVE, lock=None)
    lock = _lock(location_for_options(None, settings.lockfile), settings, loud=False)
    return run_locked(command, mode=args.mode or EXCLUSIVE, lock=lock)


def _check(settings: Settings) -> int:
    where = location_for_options(None, settings.lockfile)
    unlockable = why_unlockable(where.path)
    if unlockable:  # the same words as status: pip would run unlocked
        print(f"locking does NOT work: {unlockable}; pip runs unlocked here")
        return 1
    directory = os.path.dirname(where.path)
    works = _check_directory(directory, "")
    if os.path.exists(where.path) and not os.access(where.path, os.W_OK):
        fails, why = fscheck.read_only_problem(where.path, fscheck.mount_of(directory))
        print(f"{'locking does NOT work' if fails else 'warning'}: {why}")
        works = works and not fails
    for uv_directory in sorted({os.path.dirname(p) for p in where.uv_paths} - {directory}):
        works = _check_directory(uv_directory, " (uv's lock for this Python)") and works
    return 0 if works else 1


def _check_directory(directory: str, what: str) -> bool:
    works, problem = fscheck.contend(directory)
    mount = fscheck.mount_of(directory)
    on = f" ({mount.fstype} at {mount.point})" if mount else ""
    if works:
        print(
            f"locking works in {directory}{on}{what}: two processes excluded each other in shared and exclusive modes"
        )
    else:
        print(f"locking does NOT work in {directory}{on}{what}: {problem}")
    for warning in fscheck.warnings_for(mount):
        print(f"warning: {warning}")
    return works


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    prog = "piplockhook verify"
    for directory in [args.target] if args.target else args.path or []:
        if not os.path.isdir(directory):
            option = "--target" if args.target else "--path"
            return _usage_error(prog, f"{option} {directory}: not a directory")
    if args.target:
        target = os.path.abspath(args.target)
        scopes = [verify.target_scope(target)]
        where = location_for_options(argparse.Namespace(target_dir=target), settings.lockfile)
    else:
        where = location_for_options(None, settings.lockfile)
        scopes = (
            [verify.path_scope(os.path.abspath(p)) for p in args.path] if args.path else [verify.environment_scope()]
        )
    lock = None if settings.opted_out else _lock(where, settings, loud=False)
    return verify.run(scopes, quick=args.quick, as_json=args.json, lock=lock)


def _set_default(subcommand: str) -> int:
    enabled = subcommand == "enable"
    try:
        marker = set_default(enabled)
    except OSError as exc:
        error_line(f"cannot change {disabled_marker()}: {exc.strerror}")
        return EXIT_BAD_CONFIG
    if enabled:
        print(f"piplockhook: on by default for pip in {SITE_PACKAGES} (PIPLOCKHOOK=0 opts a run out)")
    else:
        print(f"piplockhook: off by default for pip in {SITE_PACKAGES} ({marker}); PIPLOCKHOOK=1 opts a run in")
    return 0


def main(argv: list[str] | None = None) -> int:
    args, unknown = _parser().parse_known_args(argv)
    if unknown:  # named by the subcommand they were given to, not by the top-level parser
        prog = f"piplockhook {args.subcommand}" if args.subcommand else "piplockhook"
        return _usage_error(prog, f"unrecognized arguments: {' '.join(unknown)} (see {prog} --help)")
    if args.version:
        print(_version())
        return 0
    if args.subcommand is None:
        _parser().print_help()
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
    if args.subcommand == "run":
        return _run(args, settings)
    if args.subcommand == "verify":
        return _verify(args, settings)
    if args.subcommand == "status":
        info = status.status(settings)
        print(json.dumps(info, indent=2, sort_keys=True) if args.json else status.format_status(info))
        return 0
    if args.subcommand in ("enable", "disable"):
        return _set_default(args.subcommand)
    return _check(settings)
