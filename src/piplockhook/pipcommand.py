"""One pip command under its lock: which lock, taking it, and what it sees.

``CommandRun`` is a pip command's hold (its policy and its EnvironmentLock);
``start_writing`` is install's move from shared to exclusive, after which what
is installed now is looked at again. ``held_outside_command`` holds a lock
where pip's own error handling is not around us (pkg_resources' import,
pip's whole entry point in the fallback). ``Hook`` is the pip hook's record
in this process (``ProcessState.hook``).

And pkg_resources' view of the installed distributions: it builds its master
working set while its module body runs (``_initialize_master_working_set``):
pip's vendored copy (the backend of older pips, imported at startup) and a
top-level ``pkg_resources`` (legacy ``load_entry_point`` scripts).
pipwrappers runs that body under at least the shared lock; here it is rebuilt
once a command holds its lock (one module with the command: each module costs
every pip process an import).
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import Iterator, Sequence
from typing import Any, Callable

from piplockhook import policy as _policy
from piplockhook.envlock import EnvironmentLock, LockError, LockTimeout, environment_lock
from piplockhook.filelock import EXCLUSIVE
from piplockhook.locations import location_for_options
from piplockhook.process import current
from piplockhook.report import Reporter, cancelled_line, error_line
from piplockhook.settings import Settings


class Hook:
    """Everything this pip process's hook knows: what it patched, the pip
    internals it captured, and the commands running under their locks."""

    def __init__(self) -> None:
        self.patched = {"Command.main": False, "install_given_reqs": False}
        self.said_fallback: set[str] = set()
        self.runs: list[CommandRun] = []  # innermost last
        self.command_error: Any = RuntimeError  # pip's CommandError once pip is imported
        self.get_default_environment: Callable[[], Any] | None = None
        self.install_given_reqs_signature: inspect.Signature | None = None
        self.import_hooks: Any = None  # the ImportHooks finder while it is on sys.meta_path


def hook() -> Hook:
    state = current()
    if state.hook is None:
        state.hook = Hook()
    return state.hook  # type: ignore[no-any-return]


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


def unlocked_because(exc: BaseException, path: str = "") -> None:
    """A bug of ours (or an OS we did not foresee) must not break pip: one
    warning line (once per process), and pip goes on unlocked."""
    Reporter(False).warning(f"running unlocked{' (' + path + ')' if path else ''}: {exc!r}")


def close_quietly(lock: EnvironmentLock | None) -> None:
    if lock is None:
        return
    try:
        lock.close()
    except Exception as exc:  # the kernel releases it at exit anyway
        Reporter(False).warning(f"could not release {lock.path}: {exc!r}; it is released when pip exits")


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
    except (LockTimeout, LockError) as exc:
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


class CommandRun:
    """One pip command running under its lock."""

    def __init__(self, options: Any, policy: _policy.Policy, lock: EnvironmentLock) -> None:
        self.options = options
        self.policy = policy
        self.lock = lock

    @classmethod
    def for_command(cls, name: str, settings: Settings, options: Any) -> CommandRun | None:
        """This command's lock, not yet taken; None for commands that take none."""
        dry_run = bool(getattr(options, "dry_run", False))
        can_escalate = hook().patched["install_given_reqs"]
        policy = _policy.policy_for(name, dry_run=dry_run, can_escalate=can_escalate)
        if policy.run is None:
            return None
        reporter = Reporter(settings.debug, quiet_of(options))
        if not can_escalate and _policy.writes(name):
            fallback(reporter, "pip._internal.req.install_given_reqs")
        lock = environment_lock(
            location_for_options(options, settings.lockfile),
            settings,
            reporter,
            create=not dry_run,  # --dry-run writes nothing, not even a lock file
            loud=_policy.writes(name) and not dry_run,
        )
        return cls(options, policy, lock)

    def take(self, mode: str) -> None:
        try:
            self.lock.acquire(mode)
        except (LockTimeout, LockError) as exc:
            raise hook().command_error(f"piplockhook: {exc}") from None
        except Exception as exc:  # an OS we did not foresee: warn, never break pip
            unlocked_because(exc, self.lock.path)

    def start_writing(self, requirements: list[Any], use_user_site: bool) -> None:
        """Shared -> exclusive, then look again at what is installed now."""
        if self.policy.write is None or self.lock.mode == self.policy.write:
            return
        self.take(self.policy.write)
        if not (getattr(self.options, "ignore_installed", False) or getattr(self.options, "target_dir", None)):
            recheck_installed(requirements, use_user_site, self.lock.reporter)


def recheck_installed(requirements: list[Any], use_user_site: bool, reporter: Reporter) -> None:
    """Another pip may have installed or removed these while we waited: a
    distribution installed meanwhile is replaced, not duplicated."""
    get_default_environment = hook().get_default_environment
    if get_default_environment is None:
        return
    refresh_installed_view(reporter)
    try:
        environment = get_default_environment()
        for requirement in requirements:
            name = getattr(requirement, "name", None)
            if not name:
                continue
            dist = environment.get_distribution(name)
            installed = dist is not None and (not use_user_site or bool(dist.in_usersite))
            if bool(requirement.should_reinstall) != installed:
                reporter.debug("rechecked", EXCLUSIVE, "", f"{name} is {'now' if installed else 'no longer'} installed")
            requirement.should_reinstall = installed
    except Exception as exc:
        reporter.warning(f"could not re-check installed distributions ({exc!r})")


# -- pkg_resources' working set

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
