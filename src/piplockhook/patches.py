"""What piplockhook changes in a pip process, installed by the startup gate.

Only ``pip._internal.*`` modules are patched, through wrapt post-import hooks
(a hook on ``pip`` or ``pip.__main__`` misses ``python -m pip`` and pip's
``__pip-runner__.py``):

* ``Command.main``: validates the configuration (bad values end pip with
  status 2) and wraps this command's ``run`` with its lock, so waiting happens
  inside pip's own error handling (Ctrl-C, timeouts give pip's messages).
* ``install_given_reqs``: where ``pip install`` starts changing files, it moves
  from the shared to the exclusive lock and re-checks what is installed now.
* Fallback: if an internal is missing (a pip we do not know), lock more, never
  less: the whole install exclusive, or pip's whole entry point exclusive.
* Every wrapper fails open: an unexpected error of ours is one warning line,
  and pip runs unlocked (tests/test_fail_open.py).

Everything the wrappers need is imported here, before pip runs: pip 26.3
blocks every import once installing starts, and an upgrade of piplockhook
removes our files while the lock is held.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from typing import Any, Callable, Iterator, List, Optional

import wrapt

from piplockhook import config as _config
from piplockhook import locations
from piplockhook import policy as _policy
from piplockhook import working_set
from piplockhook.lock import EnvironmentLock, LockError, LockTimeout
from piplockhook.report import Reporter, cancelled_line, error_line

_patched = {"Command.main": False, "install_given_reqs": False}
_said_fallback: set = set()
_runs: List["CommandRun"] = []  # the pip commands running in this process, innermost last
_CommandError: Any = RuntimeError  # pip's CommandError once pip is imported
_get_default_environment: Optional[Callable[[], Any]] = None
_install_given_reqs_signature: Optional[inspect.Signature] = None


def install() -> None:
    """Register the import hooks (idempotent through the gate)."""
    wrapt.register_post_import_hook(_patch_base_command, "pip._internal.cli.base_command")
    wrapt.register_post_import_hook(_patch_req, "pip._internal.req")
    wrapt.register_post_import_hook(_patch_cli_main, "pip._internal.cli.main")
    sys.meta_path.insert(0, working_set.WorkingSetGuard(_shared_for_working_set))


def _unlocked_because(exc: BaseException, path: str = "") -> None:
    """A bug of ours (or an OS we did not foresee) must not break pip: one
    warning line (once per process), and pip goes on unlocked."""
    Reporter(False).warning(f"not locking{' ' + path if path else ''}: {exc!r}")


def _close(lock: Optional[EnvironmentLock]) -> None:
    try:
        if lock is not None:
            lock.close()
    except Exception as exc:
        Reporter(False).warning(f"could not release {lock.path}: {exc!r}; it is released when pip exits")


@contextlib.contextmanager
def _environment_lock(cfg: _config.Config, mode: str) -> Iterator[Optional[EnvironmentLock]]:
    """Hold the environment's lock outside pip's command handlers (where
    errors and Ctrl-C must end the process here, in pip's words). Yields
    None where locking failed unexpectedly."""
    lock = None
    try:
        where = locations.lock_for_options(None, cfg.lockfile)
        lock = EnvironmentLock(where.path, environment=where.environment, reporter=Reporter(cfg.debug),
                               timeout=cfg.timeout)
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
    with _environment_lock(cfg, _policy.SHARED) as lock:
        if lock is not None and lock.mode is not None:
            lock.reporter.debug("building", lock.mode, lock.path, "pkg_resources working set, under this lock")
        yield


def _fallback(reporter: Reporter, what: str) -> None:
    if what not in _said_fallback:
        _said_fallback.add(what)
        reporter.debug("fallback", _policy.EXCLUSIVE, "", f"pip internal not found: {what}; locking more")


# -- the hooks: each one catches everything, a failed patch must not break pip


def _patch_base_command(module: Any) -> None:
    global _CommandError
    try:
        from pip._internal.exceptions import CommandError

        _CommandError = CommandError
        wrapt.wrap_function_wrapper(module, "Command.main", _command_main)
        _patched["Command.main"] = True
    except Exception:
        pass


def _patch_req(module: Any) -> None:
    global _get_default_environment, _install_given_reqs_signature
    try:
        from pip._internal.metadata import get_default_environment

        _get_default_environment = get_default_environment
        _install_given_reqs_signature = inspect.signature(module.install_given_reqs)
        wrapt.wrap_function_wrapper(module, "install_given_reqs", _install_given_reqs)
        _patched["install_given_reqs"] = True
    except Exception:
        pass


def _patch_cli_main(module: Any) -> None:
    try:
        import pip._internal.cli.base_command  # noqa: F401  (runs its hook first)
    except Exception:
        pass
    if _patched["Command.main"]:
        return
    entry = "_main" if hasattr(module, "_main") else "main"  # 26.3: cli()/main() -> _main()
    try:
        wrapt.wrap_function_wrapper(module, entry, _whole_pip_exclusive)
    except Exception:
        pass


# -- the wrappers


def _command_main(wrapped, instance, args, kwargs):
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
    reporter = Reporter(cfg.debug)
    name = getattr(instance, "name", "")

    def run_with_lock(run, _instance, run_args, run_kwargs):
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
            raise _CommandError(f"piplockhook: {exc}") from None
        except Exception as exc:  # an OS we did not foresee: warn, never break pip
            _unlocked_because(exc, self.lock.path)

    def start_writing(self, requirements: list, use_user_site: bool) -> None:
        """Shared -> exclusive, then look again at what is installed now."""
        if self.policy.write is None or self.lock.mode == self.policy.write:
            return
        self.take(self.policy.write)
        if not (getattr(self.options, "ignore_installed", False) or getattr(self.options, "target_dir", None)):
            _recheck_installed(requirements, use_user_site, self.lock.reporter)


def _command_run(name: str, cfg: _config.Config, reporter: Reporter, run, args, kwargs):
    options = args[0] if args else kwargs.get("options")
    try:
        current = _command_lock(name, cfg, reporter, options)
    except Exception as exc:
        _unlocked_because(exc)
        return run(*args, **kwargs)
    if current is None:
        return run(*args, **kwargs)
    try:
        current.take(current.policy.run)
        if current.lock.mode is not None:
            _refresh_installed_view(reporter)  # pkg_resources may have scanned before we held the lock
        _runs.append(current)
        try:
            return run(*args, **kwargs)
        finally:
            _runs.remove(current)
    finally:
        _close(current.lock)


def _command_lock(name: str, cfg: _config.Config, reporter: Reporter, options: Any) -> Optional[CommandRun]:
    """This command's lock, not yet taken; None for commands that take none."""
    dry_run = bool(getattr(options, "dry_run", False))
    can_escalate = _patched["install_given_reqs"]
    policy = _policy.policy_for(name, dry_run=dry_run, can_escalate=can_escalate)
    if policy.run is None:
        return None
    if not can_escalate and name in _policy.COMMAND_LOCKS and _policy.COMMAND_LOCKS[name].write:
        _fallback(reporter, "pip._internal.req.install_given_reqs")
    where = locations.lock_for_options(options, cfg.lockfile)
    lock = EnvironmentLock(
        where.path,
        environment=where.environment,
        reporter=reporter,
        timeout=cfg.timeout,
        create=not dry_run,  # --dry-run writes nothing, not even a lock file
    )
    return CommandRun(options, policy, lock)


def _install_given_reqs(wrapped, instance, args, kwargs):
    current = _runs[-1] if _runs else None
    if current is not None and current.policy.write:
        try:
            _start_writing(current, args, kwargs)
        except _CommandError:  # a timeout: pip's own error line, nothing written
            raise
        except Exception as exc:
            _unlocked_because(exc)
    return wrapped(*args, **kwargs)


def _start_writing(current: CommandRun, args: tuple, kwargs: dict) -> None:
    try:
        call = _install_given_reqs_signature.bind_partial(*args, **kwargs).arguments
    except (TypeError, AttributeError):
        call = None  # unknown signature: escalate (more locking, never less)
    requirements = list(call.get("requirements") or []) if call else [None]
    # pip's in-process build-dependency install (26.x) writes to its own
    # temporary prefix: that is not this command writing the environment.
    same_prefix = call is None or call.get("prefix") == getattr(current.options, "prefix_path", None)
    if requirements and same_prefix:
        use_user_site = bool(call.get("use_user_site")) if call else False
        current.start_writing([r for r in requirements if r is not None], use_user_site)


def _refresh_installed_view(reporter: Reporter) -> None:
    # pip's pkg_resources backend reads the working set built at import time;
    # once a lock is held it must see the environment as it is now.
    try:
        working_set.refresh()
    except Exception as exc:
        reporter.warning(f"could not refresh pkg_resources' working set ({exc!r})")


def _recheck_installed(requirements: list, use_user_site: bool, reporter: Reporter) -> None:
    """Another pip may have installed or removed these while we waited: a
    distribution installed meanwhile is replaced, not duplicated."""
    if _get_default_environment is None:
        return
    _refresh_installed_view(reporter)
    try:
        environment = _get_default_environment()
        for requirement in requirements:
            name = getattr(requirement, "name", None)
            if not name:
                continue
            dist = environment.get_distribution(name)
            installed = dist is not None and (not use_user_site or bool(dist.in_usersite))
            if bool(requirement.should_reinstall) != installed:
                reporter.debug("rechecked", _policy.EXCLUSIVE, "", f"{name} is {'now' if installed else 'no longer'} installed")
            requirement.should_reinstall = installed
    except Exception as exc:
        reporter.warning(f"could not re-check installed distributions ({exc!r})")


def _whole_pip_exclusive(wrapped, instance, args, kwargs):
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
    with _environment_lock(cfg, _policy.EXCLUSIVE):
        return wrapped(*args, **kwargs)
