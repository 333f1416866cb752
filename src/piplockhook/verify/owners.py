"""Which distribution owns which path: every ``RECORD`` of a directory of
distributions read once, as a map from each listed path (and each folder above
it, up to the directory) to the ``.dist-info`` that list something there.

Installed and stashed ``.dist-info`` alike: a stash's ``RECORD`` still lists
the paths it was moved from, which is how a stash's original name is known.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from piplockhook.verify.distinfo import DistInfo


class Owners:
    """Paths -> the ``.dist-info`` whose RECORD lists them or something under them."""

    def __init__(self, directory: str, dists: Iterable[DistInfo]) -> None:
        self.directory = directory
        self.by_path: dict[str, list[DistInfo]] = {}
        self.children: dict[str, set[str]] = {}  # a folder -> the names RECORDs list in it
        for dist in dists:
            for entry in dist.record or ():
                self._add(entry.path, dist)

    def _add(self, path: str, dist: DistInfo) -> None:
        inside = path.startswith(self.directory + os.sep)
        while True:
            owners = self.by_path.setdefault(path, [])
            if dist in owners:
                return  # this folder and those above it are known for `dist`
            owners.append(dist)
            parent, name = os.path.split(path)
            self.children.setdefault(parent, set()).add(name)
            # Above the directory (scripts in bin/, data files) only the file
            # and its folder count: the prefix itself is nobody's.
            if not inside or parent == self.directory:
                return
            path = parent

    def of(self, path: str) -> list[DistInfo]:
        return self.by_path.get(path, [])

    def folders(self) -> list[str]:
        """The directory and every folder a RECORD lists something in, inside it."""
        inside = self.directory + os.sep
        return [self.directory, *sorted(p for p in self.children if p.startswith(inside))]
