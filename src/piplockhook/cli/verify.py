"""``piplockhook verify``: the command; the checks themselves are ``piplockhook.verify``."""

from __future__ import annotations

import argparse
import json
import os
import sys

from piplockhook import verify
from piplockhook.cli.base_command import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Command,
    add_lock_options,
    lock_at,
    usage_error,
)
from piplockhook.journal import clear_notice
from piplockhook.journal.restore import who, whose
from piplockhook.locations import location_for_options
from piplockhook.lock import EXCLUSIVE, SHARED, LockError, LockTimeout
from piplockhook.lock.environment import JOURNAL_SUFFIX, EnvironmentLock
from piplockhook.lock.holderfiles import host_name
from piplockhook.report import error_line, warning
from piplockhook.settings import SWITCH, Settings
from piplockhook.verify.findings import Problem, Result
from piplockhook.verify.scopes import Scope, environment_scope, path_scope, target_scope

PROG = "piplockhook verify"
_UNLOCKED_MEANS = "a pip writing now would show as damage"
# The lock's timeout line ends so for pip, which would have changed something:
# verify only reads, so it says what it did not do.
_LOCK_SAYS = "; nothing was changed"
_VERIFY_SAYS = "; nothing was verified"
_NOTHING = "nothing was changed"
# A stash moved back can show a file it lists in pip's temporary folder: one more round then.
_ROUNDS = 3
EPILOG = """\
examples:
  piplockhook verify                  # every distribution here: files, sizes, sha256
  piplockhook verify --quick          # presence and size only: fast on gigabytes of wheels
  piplockhook verify --repair         # move pip's stashes back (or remove those not needed), verify again
  piplockhook verify --json | python -c "import json,sys; print(len(json.load(sys.stdin)['problems']))"

Each problem is one line: the distribution, what is wrong, and the command that
repairs it (`pip install --force-reinstall --no-deps NAME==VERSION`, moving pip's
stash back, or removing a stale .dist-info or a stash not needed; run them in the
order shown, while no pip runs). verify changes nothing: it reads under the
environment's shared lock, so it waits for a pip that is writing. --repair takes
the exclusive lock, makes the repairs that need no pip (never deleting the only
copy of anything), verifies again, and prints each repair left to you as an
ERROR (WARNING for files no RECORD owns) line with its command. Exit status 0
when all is as the metadata says (after --repair: when nothing is left), 1 when
problems were found or the lock was not had in time (as pip), 2 for usage errors
(docs/cli.md: every command's exit codes).

After a pip or a `piplockhook run -x` died while changing the environment and
could not be undone in full, every pip says so until verify finds the
environment whole: verify (or --repair, once it has repaired it) then clears
that notice and says so in one line. Only a verify of the environment's own
site-packages or --target clears it (not --path), and only under its own lock.

--json keys: directories, quick, distributions, files, bytes, seconds,
problems (kind, distribution, path, detail, repair, files, repairable), summary,
notice_cleared (that line, "" where none was cleared); with --repair also
repaired (the problems repaired, as problems)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="check presence and size only, not sha256")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--repair",
        action="store_true",
        help="under the exclusive lock, make the repairs that need no pip (pip's stashes), then verify again",
    )
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
    if settings.opted_out and args.repair:  # a stash may be a running pip's: never moved without the lock
        error_line(f"verify --repair: {SWITCH}={os.environ.get(SWITCH, '')} opts out of the lock it needs; {_NOTHING}")
        return EXIT_USAGE
    if settings.opted_out:  # said, as a lock that was not taken: a writing pip would show as damage
        warning(f"{SWITCH}={os.environ.get(SWITCH, '')} opts out: verifying without the lock; {_UNLOCKED_MEANS}")
    else:
        lock = lock_at(where, settings, loud=False)
    clears = not args.path  # the environment (or --target) its lock's notice is about: all of it
    return run(scopes, quick=args.quick, as_json=args.json, lock=lock, repair=args.repair, clears_notice=clears)


def run(
    scopes: list[Scope],
    *,
    quick: bool,
    as_json: bool,
    lock: EnvironmentLock | None,
    repair: bool = False,
    clears_notice: bool = False,
) -> int:
    """Check under `lock` taken shared (with uv's, outside virtual environments;
    None: unlocked, PIPLOCKHOOK=0), print; 0 clean, 1 problems or the lock
    not had (timed out, unusable). With `repair`, the lock is taken exclusive
    (a stash is a leftover only while no pip runs), the repairs verify can make
    are made, and the check runs again under it. With `clears_notice` (`scopes`
    are all of the lock's environment), an environment found whole under a lock
    this process holds itself clears the notice a dead writer left (issue 28). A directory it may not read (an
    OSError), Ctrl-C and a closed stdout are cli.main's, as for every command."""
    repaired: list[Problem] = []
    cleared = ""
    try:
        if lock is None:
            result = verify.find_problems(scopes, quick=quick, progress=sys.stderr)
        else:
            with lock.held(EXCLUSIVE if repair else SHARED):
                if lock.unavailable and repair:
                    error_line(f"verify --repair: the lock cannot be had: {lock.unavailable}; {_NOTHING}")
                    return EXIT_FAILED
                if lock.unavailable:
                    warning(f"running unlocked: {lock.unavailable}; {_UNLOCKED_MEANS}")
                result = verify.find_problems(scopes, quick=quick, progress=sys.stderr)
                for _ in range(_ROUNDS if repair else 0):
                    done, failed = _repair(result)
                    repaired += done
                    if done:
                        result = verify.find_problems(scopes, quick=quick, progress=sys.stderr)
                    if failed or not done:
                        break
                if clears_notice and not result.problems and lock.file.mode is not None:
                    cleared = _clear_notice(lock.path + JOURNAL_SUFFIX)
    except LockError as exc:  # pip and run exit 1 for the same lock's errors
        message = str(exc)
        if isinstance(exc, LockTimeout) and message.endswith(_LOCK_SAYS) and not repair:
            message = message[: -len(_LOCK_SAYS)] + _VERIFY_SAYS
        error_line(message)
        return EXIT_FAILED
    _print(result, repaired, as_json=as_json, repair=repair, cleared=cleared)
    return EXIT_FAILED if result.problems else EXIT_OK


def _clear_notice(path: str) -> str:
    """The environment is whole: the notice of a dead writer goes; the line that says so ("" where none)."""
    try:
        notices = clear_notice(path)
    except OSError as exc:  # a user who may only read: the owner's verify clears it
        warning(f"the environment is whole, but its notice {path} cannot be cleared: {exc.strerror or exc}")
        return ""
    writers = {json.dumps(n["of"], sort_keys=True): n["of"] for n in notices if isinstance(n.get("of"), dict)}
    if not writers:
        return ""
    named = "; ".join(f"{who(w)} ({whose(w, host_name())})" for w in writers.values())
    return f"{PROG}: the environment is whole: cleared the notice that {named} died while changing it"


def _repair(result: Result) -> tuple[list[Problem], bool]:
    """Make each problem's own steps, in order; stop at the first that fails
    (what it did not do is found again, and said, by the check after it).
    The problems repaired, and whether one failed."""
    done: list[Problem] = []
    for problem in result.problems:
        if not problem.actions:
            continue
        try:
            verify.apply(problem.actions)
        except verify.RepairError as exc:
            error_line(f"{problem.distribution}: could not repair: {exc}")
            return done, True
        done.append(problem)
    return done, False


def _print(result: Result, repaired: list[Problem], *, as_json: bool, repair: bool, cleared: str = "") -> None:
    if as_json:
        report = result.as_dict()
        report["notice_cleared"] = cleared
        if repair:
            report["repaired"] = [p.as_dict() for p in repaired]
        print(json.dumps(report, indent=2))
        return
    for problem in repaired:
        print(f"{problem.distribution}: {problem.detail}; repaired: {problem.repair}")
    for problem in result.problems:
        if not repair:
            print(problem.line())
        elif problem.kind == "unowned":  # maybe a user's own files: for them to judge
            warning(f"{problem.distribution}: {problem.detail}; left as it is: {problem.repair}")
        else:  # a reinstall needs pip and the wheel: the user runs it
            error_line(f"{problem.distribution}: {problem.detail}; run: {problem.repair}")
    print(result.summary())
    if cleared:
        print(cleared)


COMMAND = Command(
    "verify",
    "is what is installed what the metadata says? (one line per problem, with its repair)",
    main,
    epilog=EPILOG,
    add_arguments=add_arguments,
)
