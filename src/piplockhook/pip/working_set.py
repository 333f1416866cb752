"""pkg_resources' view of the installed distributions, inside a pip process.

pkg_resources builds its master working set while its module body runs
(``_initialize_master_working_set``): pip's vendored copy (the backend of
older pips, imported at startup) and a top-level ``pkg_resources`` (legacy
``load_entry_point`` scripts). patches.py runs that body under at least the
shared lock; once a command holds its lock, the view is rebuilt here, so that
it shows the environment as it is now.
"""

from __future__ import annotations

import sys

from piplockhook.report import Reporter

PKG_RESOURCES = ("pip._vendor.pkg_resources", "pkg_resources")


def refresh_working_sets() -> None:
    """Rebuild the working sets pip reads (no-op where none is imported)."""
    for name in PKG_RESOURCES:
        module = sys.modules.get(name)
        working_set_type = getattr(module, "WorkingSet", None)
        if module is not None and working_set_type is not None:
            module.working_set = working_set_type._build_master()  # type: ignore[attr-defined]


def refresh_installed_view(reporter: Reporter) -> None:
    # pip's pkg_resources backend reads the working set built at import time;
    # once a lock is held it must see the environment as it is now.
    try:
        refresh_working_sets()
    except Exception as exc:
        reporter.warning(f"could not refresh pkg_resources' working set ({exc!r})")


def pip_is_done_with_pkg_resources() -> bool:
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
