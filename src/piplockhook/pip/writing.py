"""What the hook does once pip writes: ``install_given_reqs``, where pip
install starts changing files, moves its command from the shared to the
exclusive lock and looks again at what is installed now (another pip may
have changed it while this one waited); and an upgrade of piplockhook in an
environment where it is off by default stays off.

patches.py imports this module as a command that writes (install,
uninstall) starts: a pip that only reads (``pip list``) never loads it (P2),
and one that installs has it before pip 26.3 blocks imports.
"""

from __future__ import annotations

import sys

from piplockhook.lock import EXCLUSIVE
from piplockhook.pip import CommandRun, hook, refresh_installed_view, unlocked_because
from piplockhook.report import Reporter, warning
from piplockhook.settings import default_enabled, our_record, set_default

TYPE_CHECKING = False  # typing's, without importing typing in every pip at startup (P2; mypy: always_true)

if TYPE_CHECKING:
    from typing import Any

    from piplockhook.pip.patches import Args, Kwargs, Wrapped


def install_given_reqs(wrapped: Wrapped, instance: Any, args: Args, kwargs: Kwargs) -> Any:
    """pip install starts changing files: its command moves to the exclusive
    lock; an upgrade of piplockhook keeps the environment's default."""
    runs = hook().runs
    current = runs[-1] if runs else None
    call = _call_of(args, kwargs)
    if current is not None and current.policy.write:
        try:
            written = _what_is_written(current, call)
            if written is not None:
                move_to_write_lock(current, *written)
                _prepare_journal(current)
        except hook().command_error:  # a timeout: pip's own error line, nothing written
            raise
        except Exception as exc:
            unlocked_because(exc)
    if not _replaces_us_while_disabled(call):
        return wrapped(*args, **kwargs)
    try:
        return wrapped(*args, **kwargs)
    finally:  # also after a later requirement failed: ours may be in place, new
        _disable_again()


def _prepare_journal(current: CommandRun) -> None:
    """issue 28: journal this install's writes, where pip/journaling.py (loaded when the
    command started, never imported here: pip 26.3 blocks imports now) can follow them."""
    journaling = sys.modules.get("piplockhook.pip.journaling")
    if not current.may_journal() or (journaling is not None and journaling.prepare_install()):
        return
    current.journaling = False
    if journaling is not None:  # else nothing of the journal is loaded, and pip 26.3 blocks imports now
        journaling.start_blind(current, "pip internals not found: install_wheel")


def _call_of(args: Args, kwargs: Kwargs) -> dict[str, Any] | None:
    """install_given_reqs' arguments by name; None where its signature cannot be read."""
    signature = hook().install_given_reqs_signature
    try:
        return dict(signature.bind_partial(*args, **kwargs).arguments) if signature is not None else None
    except TypeError:
        return None


def _replaces_us_while_disabled(call: dict[str, Any] | None) -> bool:
    """Does this install write piplockhook, in an environment where it is off
    by default? (Then the old version's RECORD takes the marker away.)"""
    try:
        names = [getattr(r, "name", None) or "" for r in (call or {}).get("requirements") or []]
        return any(n.lower().replace("_", "-") == "piplockhook" for n in names) and not default_enabled()
    except Exception:  # a pip we do not know: nothing kept, nothing broken
        return False


def _disable_again() -> None:
    """piplockhook was replaced while off by default here: the new version is off too."""
    try:
        if default_enabled() and our_record() is not None:
            set_default(False)
    except Exception as exc:
        warning(f"could not keep `piplockhook disable` across this install ({exc!r}); run `piplockhook disable` again")


def _what_is_written(current: CommandRun, call: dict[str, Any] | None) -> tuple[list[Any], bool] | None:
    """(requirements, use_user_site) of this install_given_reqs call, where
    it writes the command's environment; None where it writes elsewhere."""
    if call is None:  # a signature we cannot read: escalate (more locking, never less)
        return [], False
    requirements = list(call.get("requirements") or [])
    # pip's in-process build-dependency install (26.x) writes to its own
    # temporary prefix: that is not this command writing the environment.
    same_prefix = call.get("prefix") == getattr(current.options, "prefix_path", None)
    if requirements and same_prefix:
        return requirements, bool(call.get("use_user_site"))
    return None


def move_to_write_lock(current: CommandRun, requirements: list[Any], use_user_site: bool) -> None:
    """Shared -> exclusive, then look again at what is installed now."""
    if current.policy.write is None or current.lock.mode == current.policy.write:
        return
    current.take(current.policy.write)
    if not (getattr(current.options, "ignore_installed", False) or getattr(current.options, "target_dir", None)):
        recheck_installed(requirements, use_user_site, current.lock.reporter)


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
