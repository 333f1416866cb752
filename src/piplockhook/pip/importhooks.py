"""How the hook reaches into pip: wrapt's ``FunctionWrapper``, loaded cheaply
(``import_wrapt``), ``wrap_attribute`` and a finder that sees a few modules
being imported, and nothing else.

The finder (``ImportHooks``) answers only for the names it watches: for them
it finds the spec as the import system would and wraps that import's own
loader (with wrapt), to run a hook once the module has run (``after``) or the
module body inside a context (``around``). It sits on ``sys.meta_path`` only
until pip's first submodule is looked up, and then watches just the folders
of the modules it waits for: every Python finder on ``sys.meta_path`` costs
each import ~5 k instructions (wrapt's own post-import hooks, which take a
lock on every import, cost a ``pip list`` ~3 M).

wrapt's ``FunctionWrapper`` is the one name of wrapt the hook uses, taken
without ``import wrapt``: that runs ``wrapt/__init__.py``, which imports every wrapt
submodule and, from wrapt 2.2, asyncio (~9 % of a ``pip list``, issue 22).

``import_wrapt(note)`` returns a module whose ``FunctionWrapper`` is the class
a plain ``import wrapt`` gives:

- the module of wrapt's classes that wrapt's ``__wrapt__`` would use, with
  ``wrapt/__init__.py`` not run: its C extension ``wrapt._wrappers``, or its
  pure-Python ``wrapt.wrappers`` where it has no extension (wrapt 1.17 on
  3.15 builds none) or ``WRAPT_DISABLE_EXTENSIONS`` is set, and always on
  Windows: there a loaded ``.pyd`` cannot be deleted, so a pip upgrading or
  removing wrapt would leave pip's ``~rapt`` stash (issue 30; a later
  ``import wrapt`` there gets the extension's classes, beside ours). Meanwhile, and
  only meanwhile, ``sys.modules["wrapt"]`` is a module made from wrapt's own
  spec and never executed, so that the package's folder is searched and the
  submodules that module imports as it loads are imported as usual
  (``wrapt.wrappers`` for 2.2's extension, ``wrapt.exceptions`` from 2.5;
  none for 1.17, 2.0, 2.1). They stay in ``sys.modules``, where a later
  ``import wrapt`` takes them: the same classes, not second copies;
- or wrapt itself, plainly imported, where: it is imported already; it has
  neither module; or anything above failed (one debug line through
  ``note``, and what the attempt left in ``sys.modules`` removed). An error
  of that plain import is the one pip would see without the hook.

Nothing of wrapt is imported later for the hook: ``FunctionWrapper``
imports only modules of the standard library (2.5:
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

import contextlib
import importlib
import importlib.util
import os
import sys
import types
from contextlib import AbstractContextManager
from types import ModuleType

from piplockhook.report import Reporter
from piplockhook.settings import debug_wanted

TYPE_CHECKING = False  # typing's, without importing typing in every pip at startup (P2; mypy: always_true)

if TYPE_CHECKING:
    from typing import Any, Callable

PACKAGE = "wrapt"
EXTENSION = "wrapt._wrappers"
PURE = "wrapt.wrappers"  # the pure-Python classes, which wrapt uses where its extension is not
NAME = "FunctionWrapper"


def _quietly(note: Callable[[str], None] | None, line: str) -> None:
    if note is not None:
        try:
            note(line)
        except Exception:  # a debug line must never break pip
            pass


def _classes_alone() -> types.ModuleType | None:
    """The module of wrapt's classes that wrapt itself would use, imported
    without wrapt/__init__.py: its C extension, or where wrapt would not use
    one (none built, as for wrapt 1.17 on 3.15; ``WRAPT_DISABLE_EXTENSIONS``,
    wrapt's own test in ``__wrapt__.py``) its pure-Python ``wrappers``.
    None where wrapt is no package, or has neither module."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:  # not installed, or not a package
        return None
    # Windows: never the extension. A loaded .pyd cannot be deleted there, so a pip
    # that upgrades or removes wrapt would leave its `~rapt` stash behind (issue 30).
    pure_only = sys.platform == "win32" or os.environ.get("WRAPT_DISABLE_EXTENSIONS")
    names = [PURE] if pure_only else [EXTENSION, PURE]
    shell = importlib.util.module_from_spec(spec)  # the package's attributes and path, never run
    sys.modules[PACKAGE] = shell
    module = None
    try:
        for name in names:
            module = _import_if_present(name)
            if module is not None:
                break
    finally:
        if sys.modules.get(PACKAGE) is shell:
            del sys.modules[PACKAGE]
    if module is not None and not hasattr(module, NAME):
        raise ImportError(f"{module.__name__} has no {NAME}")
    return module


def _import_if_present(name: str) -> types.ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:  # present, but something it imports is not: a real error
            raise
        return None


def import_wrapt(note: Callable[[str], None] | None = None) -> types.ModuleType:
    """A module whose FunctionWrapper is wrapt's (see the module's docstring);
    `note(line)` receives the debug line when loading the extension failed."""
    loaded = sys.modules.get(PACKAGE)
    if loaded is not None:  # imported before us: nothing to save
        return loaded
    before = set(sys.modules)
    try:
        module = _classes_alone()
        if module is not None:
            return module
    except Exception as exc:
        _quietly(note, f"loading wrapt's classes alone failed ({exc!r}); importing wrapt plainly")
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


# wrapt's FunctionWrapper, from the module of wrapt's classes alone (its C
# extension, else its pure-Python wrappers; see the module's docstring);
# patches.py takes this module from here.
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


def _folder_key(entry: str) -> str:
    return os.path.normcase(os.path.normpath(os.fspath(entry)))


class ImportHooks:
    """Runs hooks as watched modules are imported, in two stages, each cheap
    for the imports it does not watch:

    - until the first submodule of the `handover` package (pip) is looked up:
      a finder first on ``sys.meta_path`` (what is imported before pip, such
      as a legacy script's ``pkg_resources``);
    - from then on, for the watched submodules of that package: the
      path-entry finders of their folders (found through ``sys.path_hooks``,
      which the import system asks once per new folder) look them up, wrapped,
      so that only imports from those folders pass through us. A Python finder
      on ``sys.meta_path`` costs every import ~5 k instructions: ~1.5 M of a
      ``pip list``, which imports ~300 modules.
    """

    def __init__(self, handover: str = "pip") -> None:
        self._after: dict[str, list[Callable[[ModuleType], None]]] = {}
        self._around: dict[str, Callable[[], AbstractContextManager[None]]] = {}
        self._watched: set[str] = set()
        self._prefix = handover + "."
        self._folders: set[str] = set()  # the folders of the watched submodules, until each is wrapped
        self._wrapped: list[Any] = []  # the path-entry finders whose find_spec is ours
        self._path_hook = self._finder_for_folder  # one bound method: sys.path_hooks finds it again
        self._handed_over = False

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
        """Stop watching: once a command starts, its modules are patched, and
        where pip is done with pkg_resources nothing is left to watch."""
        if self in sys.meta_path:
            sys.meta_path = [finder for finder in sys.meta_path if finder is not self]
        self._folders.clear()
        self._leave_path_hooks()
        for finder in self._wrapped:
            with contextlib.suppress(Exception):
                del finder.find_spec  # the class's own again
        self._wrapped.clear()

    # -- stage 1: on sys.meta_path

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if path is not None and name.startswith(self._prefix) and not self._handed_over:
            self._hand_over(path)
        if name not in self._watched:
            return None
        try:
            spec = self._spec_from_other_finders(name, path, target)
            self._watch_loader(spec)
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

    # -- stage 2: the folders of the watched submodules

    def _hand_over(self, package_path: Any) -> None:
        """The package's first submodule is being looked up in `package_path`
        (its __path__): leave sys.meta_path, watch the folders instead."""
        self._handed_over = True
        # A new list, not .remove(): the import system is iterating the old one
        # right now (this very lookup), and would skip the finder after us.
        sys.meta_path = [finder for finder in sys.meta_path if finder is not self]
        try:
            for name in self._watched:
                if name.startswith(self._prefix):
                    inner = name.split(".")[1:-1]
                    self._folders.update(_folder_key(os.path.join(entry, *inner)) for entry in package_path)
            for entry, finder in list(sys.path_importer_cache.items()):  # folders looked in already
                if finder is not None and _folder_key(entry) in self._folders:
                    self._watch_finder(entry, finder)
            if self._folders:
                sys.path_hooks.insert(0, self._path_hook)
        except Exception as exc:
            cannot_patch(f"the imports from {self._prefix[:-1]}", exc)

    def _finder_for_folder(self, entry: str) -> Any:
        """A path hook: the usual finder of a watched folder, watching; an
        ImportError (the next hook's turn) for every other entry."""
        if _folder_key(entry) not in self._folders:
            raise ImportError("not watched")
        for path_hook in list(sys.path_hooks):
            if path_hook == self._path_hook:
                continue
            try:
                finder = path_hook(entry)
            except ImportError:
                continue
            self._watch_finder(entry, finder)
            return finder
        raise ImportError("no finder")

    def _watch_finder(self, entry: str, finder: Any) -> None:
        self._folders.discard(_folder_key(entry))
        if not self._folders:
            self._leave_path_hooks()
        original = getattr(finder, "find_spec", None)
        if original is None or finder in self._wrapped:
            return

        def find_spec(name: str, target: Any = None) -> Any:
            spec = original(name, target)
            if name in self._watched:
                try:
                    self._watch_loader(spec)
                except Exception as exc:
                    cannot_patch(f"the import of {name}", exc)
            return spec

        try:
            finder.find_spec = find_spec
        except Exception as exc:  # a finder that takes no attributes: its modules go unwatched
            cannot_patch(f"the imports from {entry}", exc)
            return
        self._wrapped.append(finder)

    def _leave_path_hooks(self) -> None:
        if self._path_hook in sys.path_hooks:  # a new list, as in _hand_over: it may be being iterated
            sys.path_hooks = [hook for hook in sys.path_hooks if hook != self._path_hook]

    # -- both stages: the watched module's own loader

    def _watch_loader(self, spec: Any) -> None:
        loader = getattr(spec, "loader", None)
        if loader is not None and hasattr(loader, "exec_module"):
            # The loader instance is this import's own: patching it changes nothing else.
            wrap_attribute(loader, "exec_module", self._exec_module)

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
