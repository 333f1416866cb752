"""The pip side: what piplockhook knows of pip's commands, and a command
under its lock, and this process's hook state (``hook()``). Beside it:
``patches`` (what changes in a pip process; the startup gate's other half)
and ``importhooks`` (how we reach into pip, and wrapt, cheaply), and
``writing`` (what changes once pip writes). Only a pip process imports
``piplockhook.pip``, and each module costs it ~0.25-0.5 M instructions to
import (P2): so these parts share this one.

- **The policy**, as pip keeps ``commands_dict`` in ``commands/__init__.py``:
  which lock each pip command takes (``COMMAND_LOCKS``, the whole policy in one
  table) and pip's ``-q`` count, which sets how quiet our lines are.
- **pkg_resources' working sets**, its view of the installed distributions:
  pkg_resources builds its master working set while its module body runs
  (``_initialize_master_working_set``): pip's vendored copy (the backend of
  older pips, imported at startup) and a top-level ``pkg_resources`` (legacy
  ``load_entry_point`` scripts). patches.py runs that body under at least the
  shared lock; once a command holds its lock, the view is rebuilt here, so
  that it shows the environment as it is now.
- **A command under its lock**: ``CommandRun`` is a pip command's hold (its
  policy and its EnvironmentLock); install's move from shared to exclusive,
  after which what is installed now is looked at again, is ``writing.py``'s
  (a pip that only reads never imports it). ``held_outside_command`` holds a lock where pip's own
  error handling is not around us (pkg_resources' import, pip's whole entry
  point in the fallback). Every failure of ours here fails open: one warning
  line, and pip goes on unlocked (``unlocked_because``).
"""

from __future__ import annotations

import contextlib
import os
import site
import sys
import sysconfig
from collections.abc import Iterator, Sequence

from piplockhook.locations import location_for_options
from piplockhook.lock import EXCLUSIVE, SHARED, LockError
from piplockhook.lock.environment import EnvironmentLock, environment_lock
from piplockhook.report import Reporter, cancelled_line, error_line, warning
from piplockhook.settings import Settings

TYPE_CHECKING = False  # typing's, without importing typing in every pip at startup (P2; mypy: always_true)

if TYPE_CHECKING:
    from typing import Any, Callable


class HookState:
    """What this pip process's hook knows: what it patched, the pip internals
    it captured, and the commands running under their locks."""

    def __init__(self) -> None:
        self.patched = {"Command.main": False, "install_given_reqs": False}
        self.said_fallback: set[str] = set()
        self.runs: list[CommandRun] = []  # each running command's, innermost last
        self.command_error: Any = RuntimeError  # pip's CommandError once pip is imported
        self.get_default_environment: Callable[[], Any] | None = None
        self.install_given_reqs_signature: Any = None  # its inspect.Signature, once patched
        self.import_hooks: Any = None  # the ImportHooks finder while it is on sys.meta_path


_hook: HookState | None = None


def hook() -> HookState:
    """This process's hook state (made on first use)."""
    global _hook
    if _hook is None:
        _hook = HookState()
    return _hook


class Policy:
    """The locks of one command. (A plain class: a NamedTuple costs every pip
    process a compile at import.)"""

    __slots__ = ("run", "write")

    def __init__(self, run: str | None, write: str | None) -> None:
        self.run = run  # held from the start of the command's run() to its end
        self.write = write  # taken instead while the command changes files

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and (self.run, self.write) == (other.run, other.write)

    def __hash__(self) -> int:
        return hash((self.run, self.write))

    def __repr__(self) -> str:
        return f"Policy(run={self.run!r}, write={self.write!r})"


NO_LOCK = Policy(None, None)
READ = Policy(SHARED, None)

COMMAND_LOCKS = {
    # command      run       write: release `run`, then take this one
    "install": Policy(SHARED, EXCLUSIVE),
    "uninstall": Policy(EXCLUSIVE, None),
    "list": READ,
    "freeze": READ,
    "show": READ,
    "check": READ,
    "inspect": READ,
    "search": READ,  # marks the versions installed here (the index side is gone from PyPI)
    "download": NO_LOCK,
    "wheel": NO_LOCK,
    "hash": NO_LOCK,
    "cache": NO_LOCK,
    "config": NO_LOCK,
    "debug": NO_LOCK,
    "help": NO_LOCK,
    "index": NO_LOCK,
    "completion": NO_LOCK,
    "lock": NO_LOCK,
}
UNKNOWN_COMMAND = READ  # a pip command this table does not know yet


def policy_for(command: str, *, dry_run: bool = False, can_escalate: bool = True) -> Policy:
    """The lock policy of one pip command run."""
    policy = COMMAND_LOCKS.get(command, UNKNOWN_COMMAND)
    if policy.write is None:
        return policy
    if dry_run:  # `install --dry-run` writes nothing
        return READ
    if not can_escalate:
        # The pip internal where writing starts was not found: hold the
        # stronger mode all along (more locking, never less).
        return Policy(policy.write, None)
    return policy


def takes_lock(command: str) -> bool:
    """Does this pip command take a lock at all?"""
    return COMMAND_LOCKS.get(command, UNKNOWN_COMMAND).run is not None


def writes(command: str) -> bool:
    """Does this pip command change files in the environment (install, uninstall)?"""
    policy = COMMAND_LOCKS.get(command, UNKNOWN_COMMAND)
    return policy.write is not None or policy.run == EXCLUSIVE


def quiet_of(options: Any) -> int:
    """pip's -q count (`-qq` is 2), from its parsed options."""
    quiet = getattr(options, "quiet", 0)
    return quiet if isinstance(quiet, int) else 0


def quiet_from_argv(argv: Sequence[str]) -> int:
    """pip's -q count before its options are parsed (pkg_resources' import)."""
    count = 0
    for arg in argv[1:]:
        if arg == "--":
            break
        if arg == "--quiet":
            count += 1
        elif arg.startswith("-") and not arg.startswith("--") and set(arg[1:]) == {"q"}:
            count += len(arg) - 1
    return count


def may_ask_for_help(args: Any) -> bool:
    """Might a command's arguments ask for its help (`-h`, `--help`, an
    abbreviation such as `--he`, a cluster such as `-qh`)? More than pip
    would say: pip's own parser decides, this only says when to let it."""
    if not isinstance(args, (list, tuple)):
        return False
    for arg in args:
        if arg == "--" or not isinstance(arg, str):
            break
        if arg.startswith("--h") or (arg.startswith("-") and not arg.startswith("--") and "h" in arg):
            return True
    return False


def asks_for_help_or_version(args: Sequence[str]) -> bool:
    """Does pip's whole command line ask for help or the version (`pip`,
    `pip -V`, `pip --help`, `pip help`, `pip COMMAND -h`)? Exact words
    only: the fallback runs such a line with a bad setting, unlocked."""
    words = list(args)
    words = words[: words.index("--")] if "--" in words else words
    command = next((i for i, word in enumerate(words) if not word.startswith("-")), len(words))
    general, rest = words[:command], words[command:]
    if not rest or rest[0] == "help" or {"-V", "--version", "-h", "--help"} & set(general):
        return True
    return bool({"-h", "--help"} & set(rest[1:]))


# -- pkg_resources' working sets

PKG_RESOURCES = ("pip._vendor.pkg_resources", "pkg_resources")


def refresh_working_sets() -> None:
    """Rebuild the working sets pip reads (no-op where none is imported)."""
    for name in PKG_RESOURCES:
        module = sys.modules.get(name)
        working_set_type = getattr(module, "WorkingSet", None)
        if module is not None and working_set_type is not None:
            module.working_set = working_set_type._build_master()  # type: ignore[attr-defined]


def refresh_installed_view(reporter: Reporter) -> None:
    # pip's pkg_resources backend reads the working set built at import time;
    # once a lock is held it must see the environment as it is now.
    try:
        refresh_working_sets()
    except Exception as exc:
        reporter.warning(f"could not refresh pkg_resources' working set ({exc!r})")


def pip_is_done_with_pkg_resources() -> bool:
    """Will pip import pkg_resources no more in this process? (Then the import
    hooks have nothing left to guard.) It has imported it already, or it uses
    its importlib.metadata backend (pip 22+: Python 3.11+ by default)."""
    if "pip._vendor.pkg_resources" in sys.modules:
        return True
    chooser = getattr(sys.modules.get("pip._internal.metadata"), "_should_use_importlib_metadata", None)
    try:
        return callable(chooser) and bool(chooser())
    except Exception:  # a pip we do not know: keep guarding
        return False


# -- a command under its lock


def unlocked_because(exc: BaseException, path: str = "") -> None:
    """A bug of ours (or an OS we did not foresee) must not break pip: one
    warning line (once per process), and pip goes on unlocked."""
    warning(f"running unlocked{' (' + path + ')' if path else ''}: {exc!r}")


def close_quietly(lock: EnvironmentLock | None) -> None:
    if lock is None:
        return
    try:
        lock.close()
    except Exception as exc:  # the kernel releases it at exit anyway
        warning(f"could not release {lock.path}: {exc!r}; it is released when pip exits")


def fallback(reporter: Reporter, what: str) -> None:
    said = hook().said_fallback
    if what not in said:
        said.add(what)
        reporter.debug("fallback", EXCLUSIVE, "", f"pip internal not found: {what}; locking more")


@contextlib.contextmanager
def held_outside_command(
    settings: Settings, mode: str, reporter: Reporter, *, loud: bool
) -> Iterator[EnvironmentLock | None]:
    """Hold the environment's lock where pip's command handlers are not
    around us: errors and Ctrl-C end the process here, in pip's words.
    Yields None where locking failed unexpectedly. `loud`: say so in a
    warning where the lock cannot be had (else the command's own lock will)."""
    lock = None
    try:
        lock = environment_lock(location_for_options(None, settings.lockfile), settings, reporter, loud=loud)
        lock.acquire(mode)
    except LockError as exc:
        close_quietly(lock)
        error_line(str(exc))
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        close_quietly(lock)
        cancelled_line()
        raise SystemExit(1) from None
    except Exception as exc:
        close_quietly(lock)
        unlocked_because(exc, lock.path if lock is not None else "")
        lock = None
    try:
        yield lock
    finally:
        close_quietly(lock)


def cannot_write_there(options: Any) -> bool:
    """Is the directory this pip command writes not writable for this user?
    Then pip fails there with its own error, and a lock file we could not
    create beside it is not worth a warning. False where unsure: a pip
    outside a venv, with no --target, --prefix, --root or --user, may go to
    the user site instead (pip's "Defaulting to user installation")."""
    try:
        if any(getattr(options, o, None) for o in ("target_dir", "prefix_path", "root_path", "use_user_site")):
            directory = location_for_options(options).environment
        elif sys.prefix == getattr(sys, "base_prefix", sys.prefix) and site.ENABLE_USER_SITE:
            return False
        else:
            directory = sysconfig.get_paths()["purelib"]
        return os.path.isdir(directory) and not os.access(directory, os.W_OK)
    except Exception:  # unsure: say it
        return False


class CommandRun:
    """One pip command running under its lock."""

    def __init__(self, options: Any, policy: Policy, lock: EnvironmentLock) -> None:
        self.options = options
        self.policy = policy
        self.lock = lock
        # issue 28: the writer's journal (pip/journaling.py), while this command holds the exclusive lock itself
        self.journaling = False
        self.journal: Any = None
        self.journal_end: Any = None  # removes it (or restores) when the command ends

    @classmethod
    def for_command(cls, name: str, settings: Settings, options: Any) -> CommandRun | None:
        """This command's lock, not yet taken; None for commands that take none."""
        dry_run = bool(getattr(options, "dry_run", False))
        can_escalate = hook().patched["install_given_reqs"]
        policy = policy_for(name, dry_run=dry_run, can_escalate=can_escalate)
        if policy.run is None:
            return None
        reporter = Reporter(settings.debug, quiet_of(options))
        if not can_escalate and writes(name):
            fallback(reporter, "pip._internal.req.install_given_reqs")
        loud = writes(name) and not dry_run
        lock = environment_lock(
            location_for_options(options, settings.lockfile),
            settings,
            reporter,
            create=not dry_run,  # --dry-run writes nothing, not even a lock file
            loud=loud,
        )
        if loud and cannot_write_there(options):
            lock.loud = False  # pip's own "Permission denied" speaks: running unlocked is a debug line
        return cls(options, policy, lock)

    def take(self, mode: str) -> None:
        try:
            self.lock.acquire(mode)
        except LockError as exc:
            raise hook().command_error(f"piplockhook: {exc}") from None
        except Exception as exc:  # an OS we did not foresee: warn, never break pip
            unlocked_because(exc, self.lock.path)

    def may_journal(self) -> bool:
        """issue 28: this command starts writing; it journals only under its own exclusive
        hold (not an ancestor's), and not for --target (pip moves a temporary folder there)."""
        self.journaling = self.lock.file.mode == EXCLUSIVE and not getattr(self.options, "target_dir", None)
        return self.journaling
