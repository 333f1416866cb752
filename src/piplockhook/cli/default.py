"""``piplockhook enable`` / ``piplockhook disable``: the environment's default.

``disable`` writes the marker ``piplockhook.disabled`` beside the ``.pth``
(settings.py reads it) and lists it in our RECORD, so that ``pip uninstall
piplockhook`` removes it too: the default lives and dies with the package.
"""

from __future__ import annotations

import argparse
import os

from piplockhook.cli.base_command import EXIT_FAILED, EXIT_OK, Command
from piplockhook.report import error_line
from piplockhook.settings import DISABLED_MARKER, SITE_PACKAGES, Settings, disabled_marker

ENABLE_EPILOG = """\
example:
  piplockhook enable      # every pip run here is locked (the default)"""

DISABLE_EPILOG = """\
example:
  piplockhook disable     # pip runs lock only with PIPLOCKHOOK=1
  PIPLOCKHOOK=1 pip install -r requirements.txt

The default lives and dies with the package: its marker (piplockhook.disabled
beside piplockhook.pth) is listed in piplockhook's RECORD, so `pip uninstall
piplockhook` removes it and a new install is on. An upgrade uninstalls the old
version first: run `piplockhook disable` again after one."""


def _our_record(site: str) -> str | None:
    try:
        entries = sorted(os.listdir(site))
    except OSError:
        return None
    for entry in entries:
        if entry.lower().startswith("piplockhook-") and entry.endswith(".dist-info"):
            return os.path.join(site, entry, "RECORD")
    return None


def set_default(enabled: bool, site: str = SITE_PACKAGES) -> str:
    """Write (off) or remove (on) the marker; return its path. The marker is
    listed in our RECORD while it exists, so `pip uninstall piplockhook`
    removes it and a reinstall starts on (the default lives and dies with
    the package). OSError when it cannot be changed."""
    marker = disabled_marker(site)
    record_path = _our_record(site)
    row = DISABLED_MARKER + ",,"
    rows: list[str] = []
    if record_path is not None:
        with open(record_path, encoding="utf-8") as f:
            rows = [line for line in f.read().splitlines() if line and line != row]
    if not enabled:
        rows.append(row)
    # A RECORD row for a missing file is harmless to pip; a marker no RECORD
    # lists would outlive the package: so the row goes in first, out last.
    if enabled:
        try:
            os.remove(marker)
        except FileNotFoundError:
            pass
    if record_path is not None:
        with open(record_path, "w", encoding="utf-8", newline="") as f:
            f.write("".join(line + "\n" for line in rows))
    if not enabled:
        with open(marker, "w") as f:
            f.write("piplockhook is off by default here; `piplockhook enable` or PIPLOCKHOOK=1 turns it on.\n")
    return marker


def _set(enabled: bool) -> int:
    try:
        marker = set_default(enabled)
    except OSError as exc:
        error_line(f"cannot change {disabled_marker()}: {exc.strerror}")
        return EXIT_FAILED  # not a usage error: the command was right, the file system said no (pip's 1)
    if enabled:
        print(f"piplockhook: on by default for pip in {SITE_PACKAGES} (PIPLOCKHOOK=0 opts a run out)")
    else:
        print(f"piplockhook: off by default for pip in {SITE_PACKAGES} ({marker}); PIPLOCKHOOK=1 opts a run in")
    return EXIT_OK


def enable(args: argparse.Namespace, settings: Settings) -> int:
    return _set(True)


def disable(args: argparse.Namespace, settings: Settings) -> int:
    return _set(False)


ENABLE = Command("enable", "lock every pip run in this environment (the default)", enable, epilog=ENABLE_EPILOG)
DISABLE = Command("disable", "lock pip runs here only with PIPLOCKHOOK=1", disable, epilog=DISABLE_EPILOG)
