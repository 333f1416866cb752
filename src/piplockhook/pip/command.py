"""One pip command under its lock: which lock, taking it, and what it sees.

``CommandRun`` is a pip command's hold (its policy and its EnvironmentLock);
``CommandRun.move_to_write_lock`` is install's move from shared to exclusive,
after which what is installed now is looked at again. ``held_outside_command``
holds a lock where pip's own error handling is not around us (pkg_resources'
import, pip's whole entry point in the fallback). Every failure of ours here
fails open: one warning line, and pip goes on unlocked (``unlocked_because``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from piplockhook import pip as _policy
from piplockhook.locations import location_for_options
from piplockhook.lock import EXCLUSIVE, LockError
from piplockhook.lock.environment import EnvironmentLock, environment_lock
from piplockhook.pip import quiet_of
from piplockhook.pip.working_set import refresh_installed_view
from piplockhook.report import Reporter, cancelled_line, error_line, warning
from piplockhook.settings import Settings
from piplockhook.state import hook


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
        except LockError as exc:
            raise hook().command_error(f"piplockhook: {exc}") from None
        except Exception as exc:  # an OS we did not foresee: warn, never break pip
            unlocked_because(exc, self.lock.path)

    def move_to_write_lock(self, requirements: list[Any], use_user_site: bool) -> None:
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
