"""``piplockhook verify``: the command; the checks themselves are ``piplockhook.verify``."""

from __future__ import annotations

import argparse
import json
import os
import sys

from piplockhook import verify
from piplockhook.cli.base_command import EXIT_FAILED, EXIT_OK, Command, add_lock_options, lock_at, usage_error
from piplockhook.locations import location_for_options
from piplockhook.lock import SHARED, LockError, LockTimeout
from piplockhook.lock.environment import EnvironmentLock
from piplockhook.report import error_line, warning
from piplockhook.settings import SWITCH, Settings
from piplockhook.verify.scopes import Scope, environment_scope, path_scope, target_scope

PROG = "piplockhook verify"
_UNLOCKED_MEANS = "a pip writing now would show as damage"
# The lock's timeout line ends so for pip, which would have changed something:
# verify only reads, so it says what it did not do.
_LOCK_SAYS = "; nothing was changed"
_VERIFY_SAYS = "; nothing was verified"
EPILOG = """\
examples:
  piplockhook verify                  # every distribution here: files, sizes, sha256
  piplockhook verify --quick          # presence and size only: fast on gigabytes of wheels
  piplockhook verify --json | python -c "import json,sys; print(len(json.load(sys.stdin)['problems']))"

Each problem is one line: the distribution, what is wrong, and the command that
repairs it (`pip install --force-reinstall --no-deps NAME==VERSION`, or removing
a stale .dist-info or a `~` leftover; run them in the order shown, while no pip
runs). verify changes nothing: it reads under the environment's shared lock, so
it waits for a pip that is writing. Exit status 0 when all is as the metadata
says, 1 when problems were found or the lock was not had in time (as pip), 2 for
usage errors (docs/cli.md: every command's exit codes).

--json keys: directories, quick, distributions, files, bytes, seconds,
problems (kind, distribution, path, detail, repair, files), summary."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="check presence and size only, not sha256")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--target", metavar="DIR", help="check DIR, filled by `pip install --target DIR` (locks DIR/.lock, as pip does)"
    )
    where.add_argument(
        "--path",
        metavar="DIR",
        action="append",
        help="check DIR instead of this environment's site-packages, under its lock (repeatable; as `pip list --path`)",
    )
    add_lock_options(
        parser,
        lockfile_help="take PATH shared instead of the environment's pip lock",
        timeout_help="give up after S seconds of waiting (default: PIPLOCKHOOK_TIMEOUT, else wait)",
    )


def main(args: argparse.Namespace, settings: Settings) -> int:
    for directory in [args.target] if args.target else args.path or []:
        if not os.path.isdir(directory):
            option = "--target" if args.target else "--path"
            return usage_error(PROG, f"{option} {directory}: not a directory")
    if args.target:
        target = os.path.abspath(args.target)
        scopes = [target_scope(target)]
        where = location_for_options(argparse.Namespace(target_dir=target), settings.lockfile)
    else:
        where = location_for_options(None, settings.lockfile)
        scopes = [path_scope(os.path.abspath(p)) for p in args.path] if args.path else [environment_scope()]
    lock = None
    if settings.opted_out:  # said, as a lock that was not taken: a writing pip would show as damage
        warning(f"{SWITCH}={os.environ.get(SWITCH, '')} opts out: verifying without the lock; {_UNLOCKED_MEANS}")
    else:
        lock = lock_at(where, settings, loud=False)
    return run(scopes, quick=args.quick, as_json=args.json, lock=lock)


def run(scopes: list[Scope], *, quick: bool, as_json: bool, lock: EnvironmentLock | None) -> int:
    """Check under `lock` taken shared (with uv's, outside virtual environments;
    None: unlocked, PIPLOCKHOOK=0), print; 0 clean, 1 problems or the lock
    not had (timed out, unusable). A directory it may not read (an OSError),
    Ctrl-C and a closed stdout are cli.main's, as for every command."""
    try:
        if lock is None:
            result = verify.find_problems(scopes, quick=quick, progress=sys.stderr)
        else:
            with lock.held(SHARED):
                if lock.unavailable:
                    warning(f"running unlocked: {lock.unavailable}; {_UNLOCKED_MEANS}")
                result = verify.find_problems(scopes, quick=quick, progress=sys.stderr)
    except LockError as exc:  # pip and run exit 1 for the same lock's errors
        message = str(exc)
        if isinstance(exc, LockTimeout) and message.endswith(_LOCK_SAYS):
            message = message[: -len(_LOCK_SAYS)] + _VERIFY_SAYS
        error_line(message)
        return EXIT_FAILED
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        for problem in result.problems:
            print(problem.line())
        print(result.summary())
    return EXIT_FAILED if result.problems else EXIT_OK


COMMAND = Command(
    "verify",
    "is what is installed what the metadata says? (one line per problem, with its repair)",
    main,
    epilog=EPILOG,
    add_arguments=add_arguments,
)
