"""pkg_resources' master working set, read under the lock and kept current.

``pkg_resources`` builds its view of the installed distributions while its
module body runs (``_initialize_master_working_set``), so a post-import hook is
too late: ``WorkingSetGuard`` wraps the loader's ``exec_module`` of pip's
vendored ``pip._vendor.pkg_resources`` (older pips import it at startup, from
``pip._internal.exceptions``) and of a top-level ``pkg_resources`` (legacy
``load_entry_point`` console scripts) so the build happens under at least the
shared lock. Once a command holds its lock, ``refresh()`` rebuilds the view, so
that what another pip changed in between is seen.
"""

from __future__ import annotations

import sys
from typing import Callable, ContextManager, Optional

import wrapt

GUARDED = ("pip._vendor.pkg_resources", "pkg_resources")


def refresh() -> None:
    """Rebuild the working sets pip reads (no-op where none is imported)."""
    for name in GUARDED:
        module = sys.modules.get(name)
        working_set_type = getattr(module, "WorkingSet", None)
        if working_set_type is not None:
            module.working_set = working_set_type._build_master()


class WorkingSetGuard:
    """A meta-path finder that only ever answers for the GUARDED modules."""

    def __init__(self, hold_shared: Callable[[], ContextManager[None]]) -> None:
        self.hold_shared = hold_shared

    def find_spec(self, name: str, path=None, target=None):
        if name not in GUARDED:
            return None
        try:
            spec = self._spec_from_other_finders(name, path, target)
            loader = getattr(spec, "loader", None)
            if loader is not None and hasattr(loader, "exec_module"):
                # The loader instance is this import's own: patching it changes nothing else.
                wrapt.wrap_function_wrapper(loader, "exec_module", self._exec_module)
        except Exception:  # let the import go on, unguarded, rather than fail it
            return None
        return spec

    def _spec_from_other_finders(self, name: str, path, target) -> Optional[object]:
        for finder in list(sys.meta_path):
            if finder is self:
                continue
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(name, path, target) if find_spec else None
            if spec is not None:
                return spec
        return None

    def _exec_module(self, wrapped, instance, args, kwargs):
        with self.hold_shared():
            return wrapped(*args, **kwargs)
