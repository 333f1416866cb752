"""The state piplockhook keeps for the life of one process, in one place.

As coverage keeps its running instance in one class attribute:
``ProcessState.current()`` holds the startup guard, the locks this process
holds (an in-process nested pip must not wait for them), the warnings already
said, and, in a pip process, the hook's state (``HookState``). Stdlib only:
the startup gate imports it in every pip process.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's, without importing typing in every pip at startup (P2; mypy: always_true)


if TYPE_CHECKING:
    from typing import Any, Callable, ClassVar


class HookState:
    """What this pip process's hook knows: what it patched, the pip internals
    it captured, and the commands running under their locks."""

    def __init__(self) -> None:
        self.patched = {"Command.main": False, "install_given_reqs": False}
        self.said_fallback: set[str] = set()
        self.runs: list[Any] = []  # the pip.command.CommandRun of each running command, innermost last
        self.command_error: Any = RuntimeError  # pip's CommandError once pip is imported
        self.get_default_environment: Callable[[], Any] | None = None
        self.install_given_reqs_signature: Any = None  # its inspect.Signature, once patched
        self.import_hooks: Any = None  # the ImportHooks finder while it is on sys.meta_path


class ProcessState:
    _current: ClassVar[ProcessState | None] = None

    def __init__(self) -> None:
        self.started = False  # the startup gate ran (CPython runs .pth lines twice in venvs)
        self.held: dict[str, Any] = {}  # lock path -> the EnvironmentLock that holds it here
        self.warned: set[str] = set()  # warning texts already written: each is said once
        self.hook: HookState | None = None  # once the pip hook is installed

    @classmethod
    def current(cls) -> ProcessState:
        if cls._current is None:
            cls._current = cls()
        return cls._current

    @classmethod
    def reset(cls) -> ProcessState:
        """A fresh state (for tests that run several 'processes' in one)."""
        cls._current = cls()
        return cls._current


def current() -> ProcessState:
    return ProcessState.current()


def hook() -> HookState:
    """This process's pip hook state (made on first use)."""
    state = current()
    if state.hook is None:
        state.hook = HookState()
    return state.hook
