"""A ``.dist-info`` that a pip stopped while it installed leaves.

pip writes a wheel's files in the wheel's order (build backends put the
``.dist-info`` last, the wheel's own RECORD with it), then compiles them,
writes the console scripts, then INSTALLER, and its own RECORD last. So a
``.dist-info`` with pip's temporary file in it (INSTALLER and RECORD are
written through one), or without INSTALLER, is pip's, unfinished, when
something else says pip was there: no RECORD at all, pip's stash of the same
project beside it (an upgrade in flight), or a console script it declares and
nobody wrote. One with pip's INSTALLER and a RECORD that does not list it has
the wheel's RECORD still: pip was stopped before it wrote its own.
Without such a sign, a missing INSTALLER stays another tool's (legacy
installers never wrote one), and verify does not call it pip's.
"""

from __future__ import annotations

import os
from collections.abc import Container

from piplockhook.verify.distinfo import SCRIPT_GROUPS, DistInfo

SCRIPT_SUFFIXES = ("", ".exe")  # pip's launchers on Windows


def _lists_installer(d: DistInfo) -> bool:
    # pip's own RECORD lists the INSTALLER it wrote (as virtualenv's seeded pip does);
    # the wheel's, which pip writes among the wheel's files, cannot.
    return any(e.listed.replace("\\", "/").endswith(f"{d.entry}/INSTALLER") for e in d.record or ())


def why_stopped(d: DistInfo, scripts: str, stashed_projects: Container[str]) -> str:
    """What says pip was stopped writing `d` ("" when nothing does)."""
    if not d.has_metadata:
        return ""
    if d.temp_files:  # pip writes INSTALLER and RECORD through a temporary file beside them
        return f"pip's {d.temp_files[0]} left"
    if d.installer == "pip" and d.record is not None and not _lists_installer(d):
        return "its RECORD still the wheel's, without the INSTALLER pip wrote"
    if d.installer:
        return ""
    if d.record is None:
        return "no INSTALLER, no RECORD"
    if d.project in stashed_projects:
        return "no INSTALLER, and pip's stash of the project beside it"
    for ep in d.entry_points:
        written = (os.path.exists(os.path.join(scripts, ep.name + s)) for s in SCRIPT_SUFFIXES)
        if scripts and ep.group in SCRIPT_GROUPS and not any(written):
            return f"no INSTALLER, and its console script {ep.name} never written"
    return ""
