"""Import wrapt without the ``import asyncio`` it does not need at import time.

From wrapt 2.2 (its commit 7240ee1, "Add async support to synchronized
decorator"), ``wrapt/synchronization.py`` starts with ``import asyncio``, and
uses the module only inside functions: ``asyncio.run`` in ``async_to_sync``'s
wrapper, ``asyncio.get_running_loop`` in ``sync_to_async``'s, and
``asyncio.Lock()`` the first time a ``synchronized`` coroutine runs. asyncio
costs a process ~197 M instructions (Python 3.11), which pip 26's ``pip list``
does not otherwise load: ~9 % of that command (docs/performance.md, P2).
wrapt's submodules are private, and ``import wrapt`` imports
``.synchronization``, so that line runs for every user of wrapt.

What ``import_wrapt`` does, once, while piplockhook's patches module loads:

1. It replaces ``builtins.__import__`` for the duration of ``import wrapt``
   only, with a function that answers one import statement differently: a
   plain ``import asyncio`` (level 0, no from-list) executed by the module
   ``wrapt.synchronization`` while asyncio is not loaded gets a stand-in, an
   empty module object named asyncio. Every other import goes to the original
   ``__import__`` unchanged. The original is put back when ``import wrapt``
   returns or raises (and only if it is still ours: a hook that replaced it
   meanwhile keeps its own).
2. The stand-in never enters ``sys.modules``: any ``import asyncio`` anywhere
   else, before or after, gets the real module, as it would without us. It
   lives only in ``wrapt.synchronization``'s globals, as ``asyncio``.
3. The first attribute read on the stand-in (``asyncio.run``, ``.Lock``, ...)
   loads the real asyncio, puts it into ``wrapt.synchronization``'s globals in
   place of the stand-in, and answers from it: wrapt's async features behave
   as before, and from then on read the real module directly.

When does the stand-in load asyncio? Never in piplockhook's own use: we call
``FunctionWrapper`` only, which never reaches
``wrapt.synchronization``. Only others' code that uses wrapt's async features
does, and the stand-in first looks in ``sys.modules``: when asyncio is loaded
already it takes that module, without any import. It is loaded whenever an
event loop runs, and that covers ``synchronized`` on a coroutine function and
``sync_to_async``: their wrappers touch asyncio (``asyncio.Lock()``,
``get_running_loop()``) only while a coroutine runs inside a loop, whose
starter imported asyncio. The one use that may import asyncio itself is the
first call of an ``async_to_sync`` wrapper (``asyncio.run``) in a process
that has not loaded asyncio yet. That import works anywhere but in pip >=
26.3's install phase, where pip blocks every import (``BlockedImportError``)
until it exits; wrapt's own top-level import would have loaded asyncio long
before. That is the one difference this module leaves, and only for code of
others that runs inside pip's install phase, decorated with ``async_to_sync``
(wrapt >= 2.2), in a process without asyncio: pip's remedy for any late
import applies (``pip._EAGER_IMPORTS.add("asyncio")`` before the install, or
``import asyncio`` at the top of that code), and the stand-in then takes that
module. Loading asyncio before pip's block ourselves, on every ``pip install``,
would cost an "already satisfied" install 1.044x bare pip instead of 1.019x
(pip 26.3, Python 3.11, callgrind): more than this module saves there.

It degrades to today's behaviour: a wrapt without that line, or one that
imports asyncio some other way (``from asyncio import ...``, another module),
never meets the stand-in and costs what it costs; a wrapt that touches asyncio
while it is imported resolves the stand-in at once (the cost, nothing else).
Any failure of the mechanism itself -- an exception raised while wrapt is
imported this way -- is one debug line (``PIPLOCKHOOK_DEBUG=1``, through the
``note`` the caller passes) and a plain ``import wrapt`` after removing what
the failed attempt left in ``sys.modules``; an error of that plain import is
the error pip would see without this module.

The proper fix is in wrapt: ``import asyncio`` inside the few functions of
``wrapt/synchronization.py`` that use it (or a module ``__getattr__``), which
would remove the cost for every user of wrapt; this module can go then, and
already does nothing for such a wrapt.

The rest of wrapt waits too. ``wrapt/__init__.py`` imports every submodule,
and piplockhook uses one name, ``FunctionWrapper`` (``__wrapt__``; it patches
with its own ``importhooks.wrap_attribute``, not wrapt's ``patches``). While
wrapt is imported this way, the package's own ``from .SUB import a, b`` for
SUB in ``DEFERRED`` (submodules that only define names) binds placeholders;
once ``__init__`` has run they are unbound, and wrapt gets a module
``__getattr__``/``__dir__`` (PEP 562): the first read of such a name (or of
``wrapt.SUB``) imports SUB -- through the asyncio stand-in -- binds its names
where nobody set them meanwhile, and once every SUB is loaded the two
functions go. ``wrapt/__wrapt__.py`` imports the pure-Python ``wrappers``
(2.2 M instructions), then the same six names from the C extension
``_wrappers``: where that extension loads, has them all and does not need
``wrappers`` itself (2.2's does), ``wrappers`` is deferred the same way, as
``wrapt.wrappers``; a placeholder left anywhere afterwards (the extension did
not answer after all) drops the trick for a plain import. ``import wrapt.SUB``
and ``from wrapt import *`` work as before; only ``vars(wrapt)`` lacks the
names not read yet. Saved: ~12 M instructions of a ``pip list`` (pip 26.3,
Python 3.11). So that no such import can happen where pip >= 26.3 blocks
imports, pipwrappers calls ``complete_wrapt`` when a command that writes
(install, uninstall) starts, and in its fallback: wrapt is then whole, as with
a plain import, before pip installs anything. A failure while binding a SUB
imports it plainly (a debug line); a wrapt with its own module ``__getattr__``
is completed at once.

Standard library only: this runs inside every pip process before pip starts.
"""

from __future__ import annotations

import builtins
import importlib
import os
import sys
import types
from collections.abc import Mapping, Sequence
from typing import Any, Callable

ASYNCIO = "asyncio"
IMPORTER = "wrapt.synchronization"  # the one module whose `import asyncio` we answer
_GLOBALS = "_piplockhook_importer_globals"  # the stand-in's only attribute of ours
# wrapt's submodules whose names wrapt/__init__.py may bind later, on first
# read (issue 22): none of them does anything at import but define names, and
# piplockhook uses none (FunctionWrapper is __wrapt__'s). ~10 M instructions.
DEFERRED = frozenset(
    ("caching", "decorators", "doc", "importer", "patches", "proxies", "signature", "synchronization", "weakrefs")
)
# The pure-Python wrappers that wrapt/__wrapt__.py imports before the same
# names from the C extension (PURE, then C): deferred where C answers. 2.2 M.
PURE, C = "wrappers", "_wrappers"


class _Later:
    """What wrapt/__init__.py binds, for a moment, for a name of a deferred submodule."""

    __slots__ = ("submodule",)

    def __init__(self, submodule: str) -> None:
        self.submodule = submodule


class _DeferredSubmodule(types.ModuleType):
    """Answers `from .SUB import a, b` in wrapt/__init__.py with a _Later per name."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Later(self.__name__)


class LazyAsyncio(types.ModuleType):
    """The stand-in for asyncio in wrapt.synchronization's globals: loads the
    real module on the first attribute read and puts it in its place there."""

    def __init__(self, importer_globals: dict[str, Any]) -> None:
        super().__init__(ASYNCIO)
        self.__dict__[_GLOBALS] = importer_globals

    def __repr__(self) -> str:
        return "<module 'asyncio' (not loaded yet: piplockhook's stand-in in wrapt.synchronization)>"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._piplockhook_resolve(), name)

    def _piplockhook_resolve(self) -> types.ModuleType:
        real = sys.modules.get(ASYNCIO)
        if not isinstance(real, types.ModuleType) or isinstance(real, LazyAsyncio):
            real = importlib.import_module(ASYNCIO)
        importer_globals = self.__dict__[_GLOBALS]
        if importer_globals.get(ASYNCIO) is self:
            importer_globals[ASYNCIO] = real
        return real


def _c_answers(names: Sequence[str]) -> bool:
    """Will wrapt/__wrapt__.py take `names` from the C extension, with no
    need of the pure-Python module? (Its own test, then the extension.)"""
    if os.environ.get("WRAPT_DISABLE_EXTENSIONS"):
        return False
    try:
        extension = importlib.import_module("wrapt." + C)
    except Exception:  # no extension here: __wrapt__ uses the pure-Python one
        return False
    # wrapt 2.2's extension imports wrapt.wrappers itself: nothing to defer
    return "wrapt." + PURE not in sys.modules and all(hasattr(extension, name) for name in names)


def _stand_in_import(original: Callable[..., types.ModuleType], deferred: set[str]) -> Callable[..., types.ModuleType]:
    def __import__(
        name: str,
        globals: Mapping[str, Any] | None = None,
        locals: Mapping[str, Any] | None = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> types.ModuleType:
        if (
            name == ASYNCIO
            and not level
            and not fromlist
            and isinstance(globals, dict)
            and globals.get("__name__") == IMPORTER
            and ASYNCIO not in sys.modules
        ):
            return LazyAsyncio(globals)
        if (  # `from .SUB import a, b` inside wrapt, for a SUB that may wait
            level == 1
            and fromlist
            and "*" not in fromlist
            and isinstance(globals, dict)
            and "wrapt." + name not in sys.modules
            and (
                (name in DEFERRED and globals.get("__name__") == "wrapt")
                or (name == PURE and globals.get("__name__") == "wrapt.__wrapt__" and _c_answers(fromlist))
            )
        ):
            deferred.add(name)
            return _DeferredSubmodule(name)
        return original(name, globals, locals, fromlist, level)

    return __import__


def _forget_wrapt() -> None:
    """What a failed import left: wrapt's submodules that did run, with the stand-in."""
    for name in [n for n, m in sys.modules.items() if (n == "wrapt" or n.startswith("wrapt.")) and m is not None]:
        del sys.modules[name]


def _quietly(note: Callable[[str], None] | None, line: str) -> None:
    if note is not None:
        try:
            note(line)
        except Exception:  # a debug line must never break pip
            pass


def _import_answered(name: str, deferred: set[str] | None = None) -> types.ModuleType:
    """importlib.import_module(name) with our __import__ in place meanwhile;
    the submodules it answered with placeholders go into `deferred`."""
    original = builtins.__import__
    replacement = _stand_in_import(original, set() if deferred is None else deferred)
    builtins.__import__ = replacement
    try:
        return importlib.import_module(name)
    finally:
        if builtins.__import__ is replacement:
            builtins.__import__ = original


def _check_pure_answered() -> None:
    """Raise if a placeholder for the pure-Python wrappers is bound anywhere:
    the C extension did not answer for it after all."""
    for name, module in list(sys.modules.items()):
        if name == "wrapt" or name.startswith("wrapt."):
            for key, value in getattr(module, "__dict__", {}).items():
                if isinstance(value, _Later) and value.submodule == PURE:
                    raise ImportError(f"{name}.{key} was not taken from wrapt.{C}")


def _defer_names(wrapt: types.ModuleType, deferred: set[str], note: Callable[[str], None] | None) -> None:
    """Unbind the names wrapt/__init__.py took from deferred submodules, and
    give wrapt a module __getattr__ (PEP 562) that imports them on first read."""
    namespace = wrapt.__dict__
    later = {name: value.submodule for name, value in namespace.items() if isinstance(value, _Later)}
    for name in later:
        del namespace[name]
    subs = {*later.values(), *deferred}
    pending = {sub for sub in subs if "wrapt." + sub not in sys.modules}
    if "__getattr__" in namespace or "__dir__" in namespace:  # a wrapt with its own: load all now
        pending = set()
    for sub in subs - pending:
        _bind(namespace, sub, later, note)

    def __getattr__(name: str) -> Any:
        sub = later.get(name) or (name if name in pending else None)
        if sub is None or sub not in pending:
            raise AttributeError(f"module 'wrapt' has no attribute {name!r}")
        _bind(namespace, sub, later, note)
        pending.discard(sub)
        if not pending:
            for hook in ("__getattr__", "__dir__"):
                namespace.pop(hook, None)
        return getattr(wrapt, name)

    def __dir__() -> list[str]:
        return sorted(set(namespace) | {n for n, sub in later.items() if sub in pending} | pending)

    if pending:
        namespace["__getattr__"] = __getattr__
        namespace["__dir__"] = __dir__


def _bind(namespace: dict[str, Any], sub: str, later: dict[str, str], note: Callable[[str], None] | None) -> None:
    name = "wrapt." + sub
    before = set(sys.modules)
    try:
        module = _import_answered(name)
    except Exception as exc:  # as in import_wrapt: drop what it left, then the plain import
        _quietly(note, f"importing {name} without asyncio failed ({exc!r}); importing it plainly")
        for left in set(sys.modules) - before:
            if left.startswith("wrapt."):
                del sys.modules[left]
        module = importlib.import_module(name)
    for name, origin in later.items():
        if origin == sub and name not in namespace:  # a name someone set meanwhile stays theirs
            namespace[name] = getattr(module, name)


def complete_wrapt() -> None:
    """Import now what the hook's wrapt deferred: before pip changes files
    (pip 26.3 blocks every import while it installs). Never raises."""
    wrapt = sys.modules.get("wrapt")
    getter = getattr(wrapt, "__dict__", {}).get("__getattr__")
    if getter is None or getattr(getter, "__module__", None) != __name__:
        return
    try:
        for name in wrapt.__dir__():
            getattr(wrapt, name)
    except Exception:  # what a plain `import wrapt` would have raised at once: its user meets it
        pass


def import_wrapt(note: Callable[[str], None] | None = None) -> types.ModuleType:
    """`import wrapt`, with wrapt.synchronization's `import asyncio` answered by
    a stand-in that loads asyncio on first use (see the module's docstring).
    `note(line)` receives the debug line when the trick had to be dropped."""
    loaded = sys.modules.get("wrapt")
    if loaded is not None:  # someone imported it before us: nothing to save
        return loaded
    try:
        deferred: set[str] = set()
        module = _import_answered("wrapt", deferred)
        _check_pure_answered()
        _defer_names(module, deferred, note)
        return module
    except Exception as exc:
        if not (isinstance(exc, ImportError) and exc.name == "wrapt"):  # not installed: plain import says so
            _quietly(note, f"importing wrapt without asyncio failed ({exc!r}); importing it plainly")
        _forget_wrapt()
    import wrapt

    return wrapt


def stand_in_of(module: types.ModuleType | None = None) -> LazyAsyncio | None:
    """The stand-in still bound in wrapt.synchronization, or None (not used,
    or resolved: asyncio is the real module there)."""
    if module is None:
        module = sys.modules.get(IMPORTER)
    value = getattr(module, "__dict__", {}).get(ASYNCIO)
    return value if isinstance(value, LazyAsyncio) else None
