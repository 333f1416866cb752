"""What piplockhook changes in a pip process, installed by the startup gate.

Only ``pip._internal.*`` modules are patched, with wrapt, as soon as each has
been imported (a hook on ``pip`` or ``pip.__main__`` misses ``python -m pip``
and pip's ``__pip-runner__.py``):

* ``Command.main``: validates the configuration (bad values end pip with
  status 2) and wraps this command's ``run`` with its lock, so waiting happens
  inside pip's own error handling (Ctrl-C, timeouts give pip's messages).
* ``install_given_reqs``: where ``pip install`` starts changing files, it moves
  from the shared to the exclusive lock and re-checks what is installed now.
* pkg_resources builds its view of the installed distributions while its
  module body runs (``_initialize_master_working_set``), so pip's vendored
  ``pip._vendor.pkg_resources`` (older pips import it at startup) and a
  top-level ``pkg_resources`` (legacy ``load_entry_point`` scripts) run their
  body under at least the shared lock, and are rebuilt once a command holds
  its lock.
* Fallback: if an internal is missing (a pip we do not know), lock more, never
  less: the whole install exclusive, or pip's whole entry point exclusive.
* Every wrapper fails open: an unexpected error of ours is one warning line,
  and pip runs unlocked (tests/test_fail_open.py).

One meta-path finder, ``ImportHooks``, sees those modules being imported. It
answers only for the names it watches and leaves ``sys.meta_path`` once a
command holds its lock: every Python finder there costs each import ~5 k
instructions (wrapt's post-import hooks, which take a lock on every import,
cost a ``pip list`` ~3 M). All of this lives in one module because each module
of ours costs every pip process an import (~0.3 M instructions).

Everything the wrappers need is imported here, before pip runs: pip 26.3
blocks every import once installing starts, and an upgrade of piplockhook
removes our files while the lock is held.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any, Callable

from piplockhook import config as _config
from piplockhook import policy as _policy
from piplockhook._wrapt_import import import_wrapt
from piplockhook.lock import EXCLUSIVE, SHARED, EnvironmentLock, LockError, LockTimeout
from piplockhook.report import Reporter, cancelled_line, error_line

wrapt = import_wrapt(lambda line: Reporter(_config.debug(os.environ)).note(line))

# -- the import hooks

PKG_RESOURCES = ("pip._vendor.pkg_resources", "pkg_resources")


def refresh_working_sets() -> None:
    """Rebuild the working sets pip reads (no-op where none is imported)."""
    for name in PKG_RESOURCES:
        module = sys.modules.get(name)
        working_set_type = getattr(module, "WorkingSet", None)
        if module is not None and working_set_type is not None:
            module.working_set = working_set_type._build_master()  # type: ignore[attr-defined]


class ImportHooks:
    """A meta-path finder that only ever answers for the modules it watches."""

    def __init__(self) -> None:
        self._after: dict[str, list[Callable[[ModuleType], None]]] = {}
        self._around: dict[str, Callable[[], AbstractContextManager[None]]] = {}
        self._watched: set[str] = set()

    def after(self, name: str, hook: Callable[[ModuleType], None]) -> None:
        """Call `hook(module)` once `name` has been imported (now, if it is)."""
        module = sys.modules.get(name)
        if module is not None:
            hook(module)
            return
        self._after.setdefault(name, []).append(hook)
        self._watched.add(name)

    def around(self, name: str, context: Callable[[], AbstractContextManager[None]]) -> None:
        """Run the body of `name`, when it is imported, inside `context()`."""
        self._around[name] = context
        self._watched.add(name)

    def retire(self) -> None:
        """Leave sys.meta_path (every import pays ~5 k instructions for each
        Python finder there): once a command starts, its modules are patched,
        and where pip is done with pkg_resources nothing is left to watch."""
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in self._watched:
            return None
        try:
            spec = self._spec_from_other_finders(name, path, target)
            loader = getattr(spec, "loader", None)
            if loader is not None and hasattr(loader, "exec_module"):
                # The loader instance is this import's own: patching it changes nothing else.
                wrapt.wrap_function_wrapper(loader, "exec_module", self._exec_module)
        except Exception as exc:  # let the import go on, unwatched, rather than fail it
            _cannot_patch(f"the import of {name}", exc)
            return None
        return spec

    def _spec_from_other_finders(self, name: str, path: Any, target: Any) -> Any:
        for finder in list(sys.meta_path):
            if finder is self:
                continue
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(name, path, target) if find_spec else None
            if spec is not None:
                return spec
        return None

    def _exec_module(
        self, wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        module = args[0] if args else kwargs["module"]
        context = self._around.get(module.__name__)
        if context is None:
            wrapped(*args, **kwargs)
        else:
            with context():
                wrapped(*args, **kwargs)
        for hook in self._after.pop(module.__name__, ()):
            hook(module)  # each hook catches its own errors: a failed patch never fails pip's import


# -- this process's hook


class _Hook:
    """Everything this pip process's hook knows: what it patched, the pip
    internals it captured, and the commands running under their locks."""

    def __init__(self) -> None:
        self.patched = {"Command.main": False, "install_given_reqs": False}
        self.said_fallback: set[str] = set()
        self.runs: list[CommandRun] = []  # innermost last
        self.command_error: Any = RuntimeError  # pip's CommandError once pip is imported
        self.get_default_environment: Callable[[], Any] | None = None
        self.install_given_reqs_signature: inspect.Signature | None = None
        self.import_hooks: ImportHooks | None = None


_hook = _Hook()

# What wrapt hands a wrapper: the wrapped callable, its arguments.
Wrapped = Callable[..., Any]
Args = tuple[Any, ...]
Kwargs = dict[str, Any]


def install() -> None:
    """Register the import hooks (idempotent through the gate)."""
    hooks = ImportHooks()
    hooks.after("pip._internal.cli.base_command", _patch_base_command)
    hooks.after("pip._internal.req", _patch_req)
    hooks.after("pip._internal.cli.main", _patch_cli_main)
    for name in PKG_RESOURCES:
        hooks.around(name, _shared_for_working_set)
    sys.meta_path.insert(0, hooks)
    _hook.import_hooks = hooks


def _unlocked_because(exc: BaseException, path: str = "") -> None:
    """A bug of ours (or an OS we did not foresee) must not break pip: one
    warning line (once per process), and pip goes on unlocked."""
    Reporter(False).warning(f"not locking{' ' + path if path else ''}: {exc!r}")


def _close(lock: EnvironmentLock | None) -> None:
    if lock is None:
        return
    try:
        lock.close()
    except Exception as exc:
        Reporter(False).warning(f"could not release {lock.path}: {exc!r}; it is released when pip exits")


@contextlib.contextmanager
def _environment_lock(cfg: _config.Config, mode: str) -> Iterator[EnvironmentLock | None]:
    """Hold the environment's lock outside pip's command handlers (where
    errors and Ctrl-C must end the process here, in pip's words). Yields
    None where locking failed unexpectedly."""
    lock = None
    try:
        where = _config.lock_for_options(None, cfg.lockfile)
        lock = EnvironmentLock(
            where.path,
            environment=where.environment,
            reporter=Reporter(cfg.debug),
            timeout=cfg.timeout,
            uv_paths=where.uv_paths,
            uv_timeout=cfg.uv_timeout,
        )
        lock.acquire(mode)
    except (LockTimeout, LockError) as exc:
        _close(lock)
        error_line(str(exc))
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        _close(lock)
        cancelled_line()
        raise SystemExit(1) from None
    except Exception as exc:
        _close(lock)
        _unlocked_because(exc, lock.path if lock is not None else "")
        lock = None
    try:
        yield lock
    finally:
        _close(lock)


@contextlib.contextmanager
def _shared_for_working_set() -> Iterator[None]:
    """Hold the environment's shared lock while pkg_resources scans it."""
    try:
        cfg = _config.load()
    except Exception:  # reported when pip's command starts
        cfg = None
    if cfg is None or not cfg.enabled:
        yield
        return
    with _environment_lock(cfg, SHARED) as lock:
        if lock is not None and lock.mode is not None:
            lock.reporter.debug("building", lock.mode, lock.path, "pkg_resources working set, under this lock")
        yield


def _fallback(reporter: Reporter, what: str) -> None:
    if what not in _hook.said_fallback:
        _hook.said_fallback.add(what)
        reporter.debug("fallback", EXCLUSIVE, "", f"pip internal not found: {what}; locking more")


def _cannot_patch(what: str, exc: BaseException) -> None:
    """A patch that failed leaves pip as it is (the fallbacks lock more);
    PIPLOCKHOOK_DEBUG says which and why."""
    try:
        debug = _config.debug(os.environ)
    except _config.ConfigError:  # reported when pip's command starts
        debug = False
    Reporter(debug).note(f"could not patch {what}: {exc!r}")


# -- the hooks: each one catches everything, a failed patch must not break pip


def _patch_base_command(module: Any) -> None:
    try:
        from pip._internal.exceptions import CommandError

        _hook.command_error = CommandError
        wrapt.wrap_function_wrapper(module, "Command.main", _command_main)
        _hook.patched["Command.main"] = True
    except Exception as exc:
        _cannot_patch("pip._internal.cli.base_command.Command.main", exc)


def _patch_req(module: Any) -> None:
    try:
        from pip._internal.metadata import get_default_environment

        _hook.get_default_environment = get_default_environment
        _hook.install_given_reqs_signature = inspect.signature(module.install_given_reqs)
        wrapt.wrap_function_wrapper(module, "install_given_reqs", _install_given_reqs)
        _hook.patched["install_given_reqs"] = True
    except Exception as exc:
        _cannot_patch("pip._internal.req.install_given_reqs", exc)


def _patch_cli_main(module: Any) -> None:
    try:
        import pip._internal.cli.base_command  # noqa: F401  (runs its hook first)
    except Exception as exc:
        _cannot_patch("pip._internal.cli.base_command (import)", exc)
    if _hook.patched["Command.main"]:
        return
    entry = "_main" if hasattr(module, "_main") else "main"  # 26.3: cli()/main() -> _main()
    try:
        wrapt.wrap_function_wrapper(module, entry, _whole_pip_exclusive)
    except Exception as exc:
        _cannot_patch(f"pip._internal.cli.main.{entry}", exc)


# -- the wrappers


def _command_main(wrapped: Wrapped, instance: Any, args: Args, kwargs: Kwargs) -> Any:
    try:
        cfg = _config.load()
    except _config.ConfigError as exc:
        error_line(str(exc))
        return _config.EXIT_BAD_CONFIG
    except Exception as exc:
        _unlocked_because(exc)
        return wrapped(*args, **kwargs)
    if not cfg.enabled:
        return wrapped(*args, **kwargs)
    _retire_import_hooks()  # the command's modules are imported, and patched
    reporter = Reporter(cfg.debug)
    name = getattr(instance, "name", "")

    def run_with_lock(run: Wrapped, _instance: Any, run_args: Args, run_kwargs: Kwargs) -> Any:
        return _command_run(name, cfg, reporter, run, run_args, run_kwargs)

    # Wrap this command object's run(), whatever its class: commands pip adds
    # later are locked too (shared), without a patch per command.
    try:
        instance.run = wrapt.FunctionWrapper(instance.run, run_with_lock)
    except Exception as exc:
        _unlocked_because(exc)
    return wrapped(*args, **kwargs)


class CommandRun:
    """One pip command running under its lock."""

    def __init__(self, options: Any, policy: _policy.Policy, lock: EnvironmentLock) -> None:
        self.options = options
        self.policy = policy
        self.lock = lock

    def take(self, mode: str) -> None:
        try:
            self.lock.acquire(mode)
        except (LockTimeout, LockError) as exc:
            raise _hook.command_error(f"piplockhook: {exc}") from None
        except Exception as exc:  # an OS we did not foresee: warn, never break pip
            _unlocked_because(exc, self.lock.path)

    def start_writing(self, requirements: list[Any], use_user_site: bool) -> None:
        """Shared -> exclusive, then look again at what is installed now."""
        if self.policy.write is None or self.lock.mode == self.policy.write:
            return
        self.take(self.policy.write)
        if not (getattr(self.options, "ignore_installed", False) or getattr(self.options, "target_dir", None)):
            _recheck_installed(requirements, use_user_site, self.lock.reporter)


def _command_run(name: str, cfg: _config.Config, reporter: Reporter, run: Wrapped, args: Args, kwargs: Kwargs) -> Any:
    options = args[0] if args else kwargs.get("options")
    try:
        current = _command_lock(name, cfg, reporter, options)
    except Exception as exc:
        _unlocked_because(exc)
        return run(*args, **kwargs)
    if current is None or current.policy.run is None:
        return run(*args, **kwargs)
    try:
        current.take(current.policy.run)
        if current.lock.mode is not None:
            _refresh_installed_view(reporter)  # pkg_resources may have scanned before we held the lock
            _retire_import_hooks()  # if pip was not done with pkg_resources when its command started
        _hook.runs.append(current)
        try:
            return run(*args, **kwargs)
        finally:
            _hook.runs.remove(current)
    finally:
        _close(current.lock)


def _command_lock(name: str, cfg: _config.Config, reporter: Reporter, options: Any) -> CommandRun | None:
    """This command's lock, not yet taken; None for commands that take none."""
    dry_run = bool(getattr(options, "dry_run", False))
    can_escalate = _hook.patched["install_given_reqs"]
    policy = _policy.policy_for(name, dry_run=dry_run, can_escalate=can_escalate)
    if policy.run is None:
        return None
    if not can_escalate and name in _policy.COMMAND_LOCKS and _policy.COMMAND_LOCKS[name].write:
        _fallback(reporter, "pip._internal.req.install_given_reqs")
    where = _config.lock_for_options(options, cfg.lockfile)
    lock = EnvironmentLock(
        where.path,
        environment=where.environment,
        reporter=reporter,
        timeout=cfg.timeout,
        create=not dry_run,  # --dry-run writes nothing, not even a lock file
        uv_paths=where.uv_paths,
        uv_timeout=cfg.uv_timeout,
    )
    return CommandRun(options, policy, lock)


def _install_given_reqs(wrapped: Wrapped, instance: Any, args: Args, kwargs: Kwargs) -> Any:
    current = _hook.runs[-1] if _hook.runs else None
    if current is not None and current.policy.write:
        try:
            _start_writing(current, args, kwargs)
        except _hook.command_error:  # a timeout: pip's own error line, nothing written
            raise
        except Exception as exc:
            _unlocked_because(exc)
    return wrapped(*args, **kwargs)


def _start_writing(current: CommandRun, args: Args, kwargs: Kwargs) -> None:
    call: dict[str, Any] = {}
    signature = _hook.install_given_reqs_signature
    known = signature is not None
    if signature is not None:
        try:
            call = dict(signature.bind_partial(*args, **kwargs).arguments)
        except TypeError:
            known = False
    if not known:  # a signature we cannot read: escalate (more locking, never less)
        current.start_writing([], use_user_site=False)
        return
    requirements = list(call.get("requirements") or [])
    # pip's in-process build-dependency install (26.x) writes to its own
    # temporary prefix: that is not this command writing the environment.
    same_prefix = call.get("prefix") == getattr(current.options, "prefix_path", None)
    if requirements and same_prefix:
        current.start_writing(requirements, bool(call.get("use_user_site")))


def _retire_import_hooks() -> None:
    if _hook.import_hooks is not None and _pip_is_done_with_pkg_resources():
        _hook.import_hooks.retire()
        _hook.import_hooks = None


def _pip_is_done_with_pkg_resources() -> bool:
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


def _refresh_installed_view(reporter: Reporter) -> None:
    # pip's pkg_resources backend reads the working set built at import time;
    # once a lock is held it must see the environment as it is now.
    try:
        refresh_working_sets()
    except Exception as exc:
        reporter.warning(f"could not refresh pkg_resources' working set ({exc!r})")


def _recheck_installed(requirements: list[Any], use_user_site: bool, reporter: Reporter) -> None:
    """Another pip may have installed or removed these while we waited: a
    distribution installed meanwhile is replaced, not duplicated."""
    if _hook.get_default_environment is None:
        return
    _refresh_installed_view(reporter)
    try:
        environment = _hook.get_default_environment()
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


def _whole_pip_exclusive(wrapped: Wrapped, instance: Any, args: Args, kwargs: Kwargs) -> Any:
    """Fallback when Command.main is not found: lock all of pip, exclusively."""
    try:
        cfg = _config.load()
    except _config.ConfigError as exc:
        error_line(str(exc))
        return _config.EXIT_BAD_CONFIG
    except Exception as exc:
        _unlocked_because(exc)
        return wrapped(*args, **kwargs)
    if not cfg.enabled:
        return wrapped(*args, **kwargs)
    _fallback(Reporter(cfg.debug), "pip._internal.cli.base_command.Command.main")
    with _environment_lock(cfg, EXCLUSIVE):
        return wrapped(*args, **kwargs)
