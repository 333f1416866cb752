"""What piplockhook changes in a pip process, installed by the startup gate.

Only ``pip._internal.*`` modules are patched, with wrapt, as soon as each has
been imported (a hook on ``pip`` or ``pip.__main__`` misses ``python -m pip``
and pip's ``__pip-runner__.py``):

* ``Command.main``: reads the settings (a bad value ends a command that takes
  a lock with status 2, but never its help) and wraps this command's ``run``
  with its lock, so waiting happens inside pip's own error handling (Ctrl-C,
  timeouts give pip's messages).
* pip's entry point (``main``): ``pip --version``, ``pip --help`` and ``pip
  help`` end there before any command: a bad setting is one warning line.
* ``install_given_reqs``: where ``pip install`` starts changing files, it moves
  from the shared to the exclusive lock and re-checks what is installed now;
  where it upgrades or reinstalls piplockhook itself, it writes ``piplockhook
  disable``'s marker again (the old version's RECORD took it away): see
  writing.py, imported as a command that writes starts. This patch is also
  there, unlocked, in a pip where the hook is off (settings.hook_wanted):
  that is where the marker is.
* pkg_resources' module body (its working set) runs under at least the shared
  lock, and is rebuilt once the command holds its lock (pip/__init__.py).
* Fallback: if an internal is missing (a pip we do not know), lock more, never
  less: the whole install exclusive, or pip's whole entry point exclusive.
* Every wrapper fails open: an unexpected error of ours is one warning line,
  and pip runs unlocked (tests/test_fail_open.py).

Everything the wrappers need is imported before pip installs: here, before
pip runs, or (writing.py) as a command that writes starts. pip 26.3
blocks every import once installing starts, and an upgrade of piplockhook
removes our files while the lock is held.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import Iterator

from piplockhook.lock import EXCLUSIVE, SHARED
from piplockhook.pip import (
    PKG_RESOURCES,
    CommandRun,
    asks_for_help_or_version,
    close_quietly,
    fallback,
    held_outside_command,
    hook,
    may_ask_for_help,
    pip_is_done_with_pkg_resources,
    quiet_from_argv,
    refresh_installed_view,
    takes_lock,
    unlocked_because,
    writes,
)
from piplockhook.pip.importhooks import ImportHooks, cannot_patch, complete_wrapt, wrap_attribute, wrapt
from piplockhook.report import SAID, Reporter, error_line, warning
from piplockhook.settings import EXIT_BAD_CONFIG, ConfigError, Settings, read

TYPE_CHECKING = False  # typing's, without importing typing in every pip at startup (P2; mypy: always_true)

IGNORED_FOR_HELP = "ignored, as pip's help and version take no lock"

if TYPE_CHECKING:  # typing's Callable[...] costs every pip ~0.1 M instructions at run time (P2)
    from typing import Any, Callable

    # What wrapt hands a wrapper: the wrapped callable, its arguments.
    Wrapped = Callable[..., Any]
    Args = tuple[Any, ...]
    Kwargs = dict[str, Any]


def install() -> None:
    """Register the import hooks (once per process: the gate runs once)."""
    hooks = ImportHooks()
    hooks.after("pip._internal.cli.base_command", _patch_base_command)
    hooks.after("pip._internal.req", _patch_req)
    hooks.after("pip._internal.cli.main", _patch_cli_main)
    for name in PKG_RESOURCES:
        hooks.around(name, _shared_for_working_set)
    hooks.insert()
    hook().import_hooks = hooks


@contextlib.contextmanager
def _shared_for_working_set() -> Iterator[None]:
    """Hold the environment's shared lock while pkg_resources scans it."""
    try:
        settings: Settings | None = read()
    except Exception:  # reported when pip's command starts
        settings = None
    if settings is None or not settings.enabled:
        yield
        return
    reporter = Reporter(settings.debug, quiet_from_argv(sys.argv))
    # Quiet where unlocked: the command's own lock, taken next, says so if it writes.
    with held_outside_command(settings, SHARED, reporter, loud=False) as lock:
        if lock is not None and lock.mode is not None:
            reporter.debug("building", lock.mode, lock.path, "pkg_resources working set, under this lock")
        yield


# -- the patches: each one catches everything, a failed patch must not break pip


def _patch_journal(command: str) -> None:
    """issue 28: a command that writes (install, uninstall) journals what it changes:
    pip/journaling.py, imported here, before pip runs (26.3 blocks imports once it
    installs), and never by a reading pip (pip 23's `pip list` imports req_uninstall too)."""
    module = sys.modules.get("pip._internal.req.req_uninstall")  # imported with install's and uninstall's module
    if module is None or not writes(command):
        return
    try:
        from piplockhook.pip import journaling

        journaling.patch_req_uninstall(module)
    except Exception as exc:
        cannot_patch("pip._internal.req.req_uninstall (journal)", exc)


def _patch_base_command(module: Any) -> None:
    try:
        from pip._internal.exceptions import CommandError

        hook().command_error = CommandError
        wrap_attribute(module, "Command.main", _command_main)
        hook().patched["Command.main"] = True
    except Exception as exc:
        cannot_patch("pip._internal.cli.base_command.Command.main", exc)


def _patch_req(module: Any) -> None:
    try:
        from pip._internal.metadata import get_default_environment

        hook().get_default_environment = get_default_environment
        hook().install_given_reqs_signature = inspect.signature(module.install_given_reqs)
        wrap_attribute(module, "install_given_reqs", _install_given_reqs)
        hook().patched["install_given_reqs"] = True
    except Exception as exc:
        cannot_patch("pip._internal.req.install_given_reqs", exc)


def _patch_cli_main(module: Any) -> None:
    try:
        import pip._internal.cli.base_command  # noqa: F401  (runs its hook first)
    except Exception as exc:
        cannot_patch("pip._internal.cli.base_command (import)", exc)
    wrapper = _pip_main if hook().patched["Command.main"] else _whole_pip_exclusive
    entry = "_main" if hasattr(module, "_main") else "main"  # 26.3: cli()/main() -> _main()
    try:
        wrap_attribute(module, entry, wrapper)
    except Exception as exc:
        cannot_patch(f"pip._internal.cli.main.{entry}", exc)


# -- the wrappers


def _settings_for(command: str) -> Settings | ConfigError | None:
    """The settings; the error of bad ones where `command` takes a lock (a
    command that takes none runs, with a warning); None: unlocked."""
    try:
        return read()
    except ConfigError as exc:
        if not takes_lock(command):
            warning(f"{exc}; ignored, as `pip {command}` takes no lock")
            return None
        return exc
    except Exception as exc:
        unlocked_because(exc)
        return None


def _ignored_for_help(exc: ConfigError | None = None) -> None:
    """pip showed its help or version: a bad setting (`exc`, else read now)
    is one warning, unless this process said so already."""
    try:
        if exc is None:
            read()
            return
    except ConfigError as bad:
        exc = bad
    except Exception:  # nothing locked, nothing to say
        return
    if not any(said.startswith(str(exc)) for said in SAID):
        warning(f"{exc}; {IGNORED_FOR_HELP}")


def _refuse(exc: ConfigError, wrapped: Wrapped, instance: Any, args: Args, kwargs: Kwargs) -> Any:
    """A bad setting ends a command that takes a lock with status 2 before it
    runs. Where its arguments may ask for help, pip's parser decides first:
    help shows (exit 0, with a warning); anything else stops at run()."""
    if not may_ask_for_help(args[0] if args else kwargs.get("args")):
        error_line(str(exc))
        return EXIT_BAD_CONFIG

    def refuse(_run: Wrapped, _instance: Any, _args: Args, _kwargs: Kwargs) -> int:
        error_line(str(exc))
        return EXIT_BAD_CONFIG

    try:
        instance.run = wrapt.FunctionWrapper(instance.run, refuse)
    except Exception:
        error_line(str(exc))
        return EXIT_BAD_CONFIG
    return _noting_help(exc, wrapped, args, kwargs)


def _pip_main(wrapped: Wrapped, instance: Any, args: Args, kwargs: Kwargs) -> Any:
    """pip's entry point: `pip --version`, `pip --help`, `pip help` exit
    before any command starts; a bad setting is then one warning."""
    return _noting_help(None, wrapped, args, kwargs)


def _noting_help(exc: ConfigError | None, wrapped: Wrapped, args: Args, kwargs: Kwargs) -> Any:
    """Call pip; where it ends with status 0 before a command ran (optparse
    printed the help or the version), a bad setting is one warning."""
    try:
        return wrapped(*args, **kwargs)
    except SystemExit as done:
        if done.code in (None, 0):
            _ignored_for_help(exc)
        raise


def _command_main(wrapped: Wrapped, instance: Any, args: Args, kwargs: Kwargs) -> Any:
    name = getattr(instance, "name", "")
    if writes(name):
        _load_writing()  # now, before pip 26.3 blocks imports; on or off (see install_given_reqs)
    complete_wrapt()  # bind on a wrapt others imported since what import_wrapt loaded
    settings = _settings_for(name)
    if isinstance(settings, ConfigError):
        return _refuse(settings, wrapped, instance, args, kwargs)
    if settings is None or not settings.enabled:
        return wrapped(*args, **kwargs)
    _retire_import_hooks()  # the command's modules are imported, and patched
    _patch_journal(name)

    def run_with_lock(run: Wrapped, _instance: Any, run_args: Args, run_kwargs: Kwargs) -> Any:
        return _command_run(name, settings, run, run_args, run_kwargs)

    # Wrap this command object's run(), whatever its class: commands pip adds
    # later are locked too (shared), without a patch per command.
    try:
        instance.run = wrapt.FunctionWrapper(instance.run, run_with_lock)
    except Exception as exc:
        unlocked_because(exc)
    return wrapped(*args, **kwargs)


def _command_run(name: str, settings: Settings, run: Wrapped, args: Args, kwargs: Kwargs) -> Any:
    options = args[0] if args else kwargs.get("options")
    try:
        current = CommandRun.for_command(name, settings, options)
    except Exception as exc:
        unlocked_because(exc)
        return run(*args, **kwargs)
    if current is None or current.policy.run is None:
        return run(*args, **kwargs)
    runs = hook().runs
    try:
        current.take(current.policy.run)
        if current.lock.mode is not None:
            refresh_installed_view(current.lock.reporter)  # pkg_resources may have scanned before we held the lock
            _retire_import_hooks()  # if pip was not done with pkg_resources when its command started
        runs.append(current)
        if name == "uninstall":  # issue 28: it writes from the start (install: in _prepare_journal)
            current.may_journal()
        try:
            return run(*args, **kwargs)
        finally:
            runs.remove(current)
            if current.journal_end is not None:  # issue 28: the journal goes, however the command ends
                current.journal_end()
    finally:
        close_quietly(current.lock)


def _install_given_reqs(wrapped: Wrapped, instance: Any, args: Args, kwargs: Kwargs) -> Any:
    writing = _load_writing()
    if writing is None:
        return wrapped(*args, **kwargs)
    return writing.install_given_reqs(wrapped, instance, args, kwargs)


def _load_writing() -> Any:
    """pip/writing.py, imported as a command that writes starts: a pip that
    only reads never loads it (P2; pip 23 imports install_given_reqs' module
    for `pip list` too). None (one warning, pip goes on unlocked) where it
    cannot be imported."""
    try:
        from piplockhook.pip import writing
    except Exception as exc:
        unlocked_because(exc)
        return None
    return writing


def _retire_import_hooks() -> None:
    state = hook()
    if state.import_hooks is not None and pip_is_done_with_pkg_resources():
        state.import_hooks.retire()
        state.import_hooks = None


def _whole_pip_exclusive(wrapped: Wrapped, instance: Any, args: Args, kwargs: Kwargs) -> Any:
    """Fallback when Command.main is not found: lock all of pip, exclusively."""
    complete_wrapt()  # as in _command_main
    settings = _settings_for("")
    if isinstance(settings, ConfigError):
        line = args[0] if args and args[0] is not None else kwargs.get("args") or sys.argv[1:]
        if not asks_for_help_or_version(line):
            error_line(str(settings))
            return EXIT_BAD_CONFIG
        _ignored_for_help(settings)
        settings = None
    if settings is None or not settings.enabled:
        return wrapped(*args, **kwargs)
    reporter = Reporter(settings.debug, quiet_from_argv(sys.argv))
    fallback(reporter, "pip._internal.cli.base_command.Command.main")
    with held_outside_command(settings, EXCLUSIVE, reporter, loud=True):
        return wrapped(*args, **kwargs)
