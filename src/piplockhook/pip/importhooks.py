"""A meta-path finder that sees a few modules being imported, and nothing else.

It answers only for the names it watches: for them it asks the other finders
for the spec and wraps that import's own loader (with wrapt), to run a hook
once the module has run (``after``) or the module body inside a context
(``around``). It leaves ``sys.meta_path`` once a command holds its lock: every
Python finder there costs each import ~5 k instructions (wrapt's own
post-import hooks, which take a lock on every import, cost a ``pip list`` ~3 M).
"""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any, Callable

from piplockhook.pip.wrapt_import import import_wrapt
from piplockhook.report import Reporter
from piplockhook.settings import debug_wanted

# wrapt's FunctionWrapper, from its C extension alone where wrapt would use it
# (see wrapt_import); patches.py takes this module from here.
wrapt = import_wrapt(lambda line: Reporter(debug_wanted(os.environ)).note(line))


def wrap_attribute(owner: Any, path: str, wrapper: Callable[..., Any]) -> None:
    """What ``wrapt.wrap_function_wrapper(owner, path, wrapper)`` does for us:
    the attribute at the dotted `path` becomes a ``wrapt.FunctionWrapper``.
    Ours, because wrapt's lives in ``wrapt.patches``, which imports
    ``wrapt.importer`` (~1.7 M instructions of every pip run, issue 22)."""
    *parents, name = path.split(".")
    for part in parents:
        owner = getattr(owner, part)
    original = getattr(owner, name)
    if isinstance(owner, type):  # the descriptor itself, from the class that defines it, as wrapt does
        original = next((vars(cls)[name] for cls in owner.__mro__ if name in vars(cls)), original)
    setattr(owner, name, wrapt.FunctionWrapper(original, wrapper))


def cannot_patch(what: str, exc: BaseException) -> None:
    """A patch that failed leaves pip as it is (the fallbacks lock more);
    PIPLOCKHOOK_DEBUG says which and why."""
    Reporter(debug_wanted(os.environ)).note(f"could not patch {what}: {exc!r}")


class ImportHooks:
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

    def insert(self) -> None:
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def retire(self) -> None:
        """Leave sys.meta_path: once a command starts, its modules are
        patched, and where pip is done with pkg_resources nothing is left to watch."""
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
                wrap_attribute(loader, "exec_module", self._exec_module)
        except Exception as exc:  # let the import go on, unwatched, rather than fail it
            cannot_patch(f"the import of {name}", exc)
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
