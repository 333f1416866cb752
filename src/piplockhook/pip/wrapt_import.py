"""wrapt's ``FunctionWrapper``, the one name of wrapt the hook uses, without
``import wrapt``: that runs ``wrapt/__init__.py``, which imports every wrapt
submodule and, from wrapt 2.2, asyncio (~9 % of a ``pip list``, issue 22).

``import_wrapt(note)`` returns a module whose ``FunctionWrapper`` is the class
a plain ``import wrapt`` gives:

- wrapt's C extension ``wrapt._wrappers``, imported as wrapt's ``__wrapt__``
  would import it, but with ``wrapt/__init__.py`` not run: meanwhile, and
  only meanwhile, ``sys.modules["wrapt"]`` is a module made from wrapt's own
  spec and never executed, so that the package's folder is searched and the
  submodules the extension imports as it loads are imported as usual
  (``wrapt.wrappers`` for 2.2, ``wrapt.exceptions`` from 2.5; none for 1.17,
  2.0, 2.1). They stay in ``sys.modules``, where a later ``import wrapt``
  takes them: the same classes, not second copies;
- or wrapt itself, plainly imported, where: it is imported already;
  ``WRAPT_DISABLE_EXTENSIONS`` is set (wrapt then uses its pure-Python
  classes); there is no extension; or anything above failed (one debug line
  through ``note``, and what the attempt left in ``sys.modules`` removed). An
  error of that plain import is the one pip would see without the hook.

Nothing of wrapt is imported later for the hook: the extension's
``FunctionWrapper`` imports only modules of the standard library (2.5:
``functools`` and ``inspect`` for a signature, ``math`` for a proxy's
arithmetic), and wrapt 2.0/2.1's ``wrapt.wrappers`` only to raise for a
wrapper whose ``__init__`` never ran (``ValueError`` if that import fails).
So nothing must be imported before pip installs (pip 26.3 blocks imports
then, and an upgrade of wrapt removes its files while the lock is held).

What differs from a plain import, for others' code in a pip process that
imports wrapt after the hook: the import system binds a submodule as an
attribute of its package only when it loads it, so ``wrapt._wrappers`` (and
``wrapt.wrappers`` or ``wrapt.exceptions``) would be missing from
``vars(wrapt)``; ``complete_wrapt()`` binds them, once wrapt is there.

Standard library only: this runs inside every pip process before pip starts,
before pip has threads.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from typing import Callable

PACKAGE = "wrapt"
EXTENSION = "wrapt._wrappers"
NAME = "FunctionWrapper"


def _quietly(note: Callable[[str], None] | None, line: str) -> None:
    if note is not None:
        try:
            note(line)
        except Exception:  # a debug line must never break pip
            pass


def _extension() -> types.ModuleType | None:
    """wrapt._wrappers, without wrapt/__init__.py; None where wrapt would not use it."""
    if os.environ.get("WRAPT_DISABLE_EXTENSIONS"):  # wrapt's own test, in __wrapt__.py
        return None
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:  # not installed, or not a package
        return None
    shell = importlib.util.module_from_spec(spec)  # the package's attributes and path, never run
    sys.modules[PACKAGE] = shell
    try:
        module = importlib.import_module(EXTENSION)
    except ModuleNotFoundError as exc:
        if exc.name != EXTENSION:
            raise
        return None  # a wrapt without its extension: the pure-Python classes
    finally:
        if sys.modules.get(PACKAGE) is shell:
            del sys.modules[PACKAGE]
    if not hasattr(module, NAME):
        raise ImportError(f"{EXTENSION} has no {NAME}")
    return module


def import_wrapt(note: Callable[[str], None] | None = None) -> types.ModuleType:
    """A module whose FunctionWrapper is wrapt's (see the module's docstring);
    `note(line)` receives the debug line when loading the extension failed."""
    loaded = sys.modules.get(PACKAGE)
    if loaded is not None:  # imported before us: nothing to save
        return loaded
    before = set(sys.modules)
    try:
        module = _extension()
        if module is not None:
            return module
    except Exception as exc:
        _quietly(note, f"loading {EXTENSION} alone failed ({exc!r}); importing wrapt plainly")
    for name in set(sys.modules) - before:  # what the attempt left, so that the plain import starts clean
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            del sys.modules[name]
    import wrapt

    return wrapt


def complete_wrapt() -> None:
    """Once others imported wrapt: bind on it the submodules loaded before it
    (by import_wrapt), as a plain import would have. Never raises."""
    package = sys.modules.get(PACKAGE)
    if not isinstance(package, types.ModuleType) or not hasattr(package, "__path__"):
        return
    prefix = PACKAGE + "."
    for name, module in list(sys.modules.items()):
        child = name[len(prefix) :]
        if name.startswith(prefix) and module is not None and "." not in child and child not in vars(package):
            try:
                setattr(package, child, module)
            except Exception:  # a wrapt that refuses: left as it is
                pass
