"""``piplockhook enable`` / ``piplockhook disable``: the environment's default.

``disable`` writes the marker ``piplockhook.disabled`` beside the ``.pth``
(settings.py reads and writes it) and lists it in our RECORD, so that ``pip
uninstall piplockhook`` removes it too: the default lives and dies with the
package. A pip that upgrades or reinstalls piplockhook writes it again
(pip/patches.py): an upgrade keeps it.
"""

from __future__ import annotations

import argparse

from piplockhook.cli.base_command import EXIT_FAILED, EXIT_OK, Command
from piplockhook.report import error_line
from piplockhook.settings import SITE_PACKAGES, Settings, disabled_marker, set_default

ENABLE_EPILOG = """\
example:
  piplockhook enable      # every pip run here is locked (the default)"""

DISABLE_EPILOG = """\
example:
  piplockhook disable     # pip runs lock only with PIPLOCKHOOK=1
  PIPLOCKHOOK=1 pip install -r requirements.txt

`piplockhook enable` undoes it; PIPLOCKHOOK=1 locks one run. An upgrade or a
reinstall of piplockhook keeps it; `pip uninstall piplockhook` removes it (its
marker, piplockhook.disabled beside piplockhook.pth, is listed in
piplockhook's RECORD), and a new install is on."""


def _set(enabled: bool) -> int:
    try:
        marker = set_default(enabled)
    except OSError as exc:
        error_line(f"cannot change {disabled_marker()}: {exc.strerror}")
        return EXIT_FAILED  # not a usage error: the command was right, the file system said no (pip's 1)
    if enabled:
        print(f"piplockhook: on by default for pip in {SITE_PACKAGES} (PIPLOCKHOOK=0 opts a run out)")
    else:
        print(f"piplockhook: off by default for pip in {SITE_PACKAGES} ({marker})")
        print("piplockhook: PIPLOCKHOOK=1 locks one run; `piplockhook enable` undoes this")
        print("piplockhook: kept when piplockhook is upgraded or reinstalled; `pip uninstall piplockhook` removes it")
    return EXIT_OK


def enable(args: argparse.Namespace, settings: Settings) -> int:
    return _set(True)


def disable(args: argparse.Namespace, settings: Settings) -> int:
    return _set(False)


ENABLE = Command("enable", "lock every pip run in this environment (the default)", enable, epilog=ENABLE_EPILOG)
DISABLE = Command("disable", "lock pip runs here only with PIPLOCKHOOK=1", disable, epilog=DISABLE_EPILOG)
