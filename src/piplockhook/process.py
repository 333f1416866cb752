"""The state piplockhook keeps for the life of one process, in one object.

As coverage keeps its running instance in one class attribute: the startup
guard, the locks this process holds (an in-process nested pip must not wait
for them), the warnings already said, and the pip hook's own record.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ProcessState:
    _current: ClassVar[ProcessState | None] = None

    def __init__(self) -> None:
        self.started = False  # the startup gate ran (CPython runs .pth lines twice in venvs)
        self.held: dict[str, Any] = {}  # lock path -> the EnvironmentLock that holds it here
        self.warned: set[str] = set()  # warning texts already written: each is said once
        self.hook: Any = None  # the pip hook's record (pipwrappers.Hook), once installed

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
