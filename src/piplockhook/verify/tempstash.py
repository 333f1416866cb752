"""What pip stashes outside the environment, in its temporary folder.

pip moves a folder it removes to a stash beside it (stashes.py), but a file
whose folder it does not remove whole (a console script in ``bin/``, a
top-level module) goes to ``$TMPDIR/pip-uninstall-*/``, under its own name.
A pip stopped before it deleted them leaves the only copy there. A missing
file of an installed distribution is found there only when its size and
sha256 are those its RECORD lists: never a guess; and it is copied back, the
stash left to pip (it may be another environment's running pip's).
"""

from __future__ import annotations

import glob
import hashlib
import os
import tempfile
from collections.abc import Sequence

from piplockhook.verify.distinfo import RecordEntry
from piplockhook.verify.repair import COPY, Action

PREFIX = "pip-uninstall-"  # TempDirectory(kind="uninstall")


def folders() -> list[str]:
    """pip's uninstall stashes in this user's temporary folder."""
    return sorted(glob.glob(os.path.join(glob.escape(tempfile.gettempdir()), PREFIX + "*")))


def _same(path: str, entry: RecordEntry) -> bool:
    try:
        if not os.path.isfile(path) or os.path.getsize(path) != entry.size:
            return False
        with open(path, "rb") as f:
            return entry.digest is not None and hashlib.new(entry.algorithm, f.read()).digest() == entry.digest
    except (OSError, ValueError):  # unreadable, or a hash this Python lacks
        return False


def copies_back(missing: Sequence[RecordEntry], stashes: Sequence[str]) -> list[Action]:
    """Copies that put every file of `missing` back from pip's temporary
    stashes; none unless each has a hash and is found there, as RECORD says.
    Copied, not moved: the stash may be a running pip's, of another environment
    that our lock does not cover, and it needs it for its rollback."""
    actions = []
    for entry in missing:
        if entry.digest is None or entry.size is None or not os.path.isdir(os.path.dirname(entry.path)):
            return []
        found = [p for p in (os.path.join(s, os.path.basename(entry.path)) for s in stashes) if _same(p, entry)]
        if not found:
            return []
        actions.append(Action(COPY, found[0], entry.path))
    return actions
