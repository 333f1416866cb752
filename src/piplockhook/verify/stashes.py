"""pip's stashes: what it moved aside to remove, and what to do with one it left.

While it uninstalls (also the old version, in an upgrade), pip renames each
folder it removes to a name beside it (``AdjacentTempDirectory``: ``plhbig``
-> ``~lhbig``, ``plhbig-1.0.dist-info`` -> ``~lhbig-1.0.dist-info``), and
deletes the stashes only once the new version is in place. A pip stopped in
between (SIGKILL, OOM, a host lost) leaves them; then a stash may be the only
copy of the distribution. The rule here:

* a stash whose original is missing, or holds only what the stopped pip was
  writing (no RECORD lists it), is moved back: the distribution is whole again
  in the version it had, as pip's own rollback leaves it after an error;
* a stash whose original is there complete (a complete ``.dist-info`` of the
  project, every file as its RECORD says) is what pip would have deleted next:
  removing it loses nothing;
* anything else is kept, and said: verify never guesses which copy is good.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Container, Sequence
from typing import NamedTuple

from piplockhook.verify.distinfo import DistInfo
from piplockhook.verify.findings import Problem
from piplockhook.verify.owners import Owners
from piplockhook.verify.repair import MOVE, REMOVE, Action, command

# pip's AdjacentTempDirectory.LEADING_CHARS: the characters it puts after "~"
# when the shortest name is taken.
LEADING_CHARS = "-~.=%0123456789"
STASH = "~"


def is_stash_of(stash: str, name: str) -> bool:
    """Is `stash` a name pip's AdjacentTempDirectory gives `name`? It tries
    "~" + k of LEADING_CHARS + name[k+1:] (same length), then "~" + k of them + name."""
    if not stash.startswith(STASH) or stash == name:
        return False
    if len(stash) == len(name):
        for i in range(1, len(name)):
            if stash[i:] == name[i:] and all(c in LEADING_CHARS for c in stash[1:i]):
                return True
    extra = len(stash) - 1 - len(name)
    return (
        0 <= extra < len(LEADING_CHARS)
        and stash.endswith(name)
        and all(c in LEADING_CHARS for c in stash[1 : -len(name)])
    )


def stashed_dist_infos(directory: str) -> list[DistInfo]:
    """The stashed ``.dist-info`` of `directory` (``~lhbig-1.0.dist-info``)."""
    try:
        entries = sorted(os.listdir(directory))
    except OSError:
        return []
    return [
        DistInfo(directory, e)
        for e in entries
        if e.startswith(STASH) and e.endswith(".dist-info") and os.path.isdir(os.path.join(directory, e))
    ]


class Installed(NamedTuple):
    """The installed .dist-info of a directory, and what the check found of them."""

    dists: Sequence[DistInfo]
    complete: Container[str]  # paths of those finished, every file as RECORD says
    unfinished: Container[str]  # paths of those pip was stopped writing (no RECORD, or no INSTALLER)


class Plan:
    """The stash problems of one directory, and what their repairs bring back
    or remove (the other problems those repairs make moot are not repeated)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.restored: list[str] = []  # originals moved back: files missing under them come back
        self.removed: list[str] = []  # what the moves replace: unfinished .dist-info, partial folders

    def covers(self, path: str) -> bool:
        return any(path == p or path.startswith(p + os.sep) for p in [*self.restored, *self.removed])


def plan(
    owners: Owners, installed: Installed, stashed: Sequence[DistInfo], reinstall: Callable[[DistInfo], str]
) -> Plan:
    """What to do with every stash in `owners`' directory and the folders its
    RECORDs list; `reinstall`: a distribution's reinstall command."""
    found = Plan()
    by_path = {d.path: d for d in stashed}
    for folder in owners.folders():
        try:
            entries = sorted(e for e in os.listdir(folder) if e.startswith(STASH))
        except OSError:
            continue
        for entry in entries:
            path = os.path.join(folder, entry)
            names = [n for n in sorted(owners.children.get(folder, ())) if is_stash_of(entry, n)]
            stash = _Stash(path, os.path.join(folder, names[0]) if len(names) == 1 else "", by_path.get(path))
            found.problems.append(stash.problem(owners, installed, reinstall, found))
    return found


class _Stash:
    def __init__(self, path: str, original: str, dist: DistInfo | None) -> None:
        self.path = path
        self.name = os.path.basename(path)
        self.original = original  # "" when no RECORD names what it was
        self.dist = dist  # a stashed .dist-info's own record of itself

    def problem(
        self, owners: Owners, installed: Installed, reinstall: Callable[[DistInfo], str], found: Plan
    ) -> Problem:
        if _is_empty_folder(self.path):
            return self._remove("", "empty (pip made it and was stopped before it moved anything in)")
        if self.dist is not None and self.dist.record is None:
            # pip moves a .dist-info only when it has a RECORD (it cannot uninstall one without):
            # none left means pip was deleting the stash, the command done.
            return self._remove("", "without RECORD: pip was deleting it when it was stopped, its work done")
        if not self.original:
            # No RECORD names what it was: pip deletes a package's stash after its .dist-info's, so a
            # pip stopped while it deleted them leaves this; or it is someone's own. Theirs to judge.
            return Problem(
                "unowned",
                self.name,
                self.path,
                "named as pip names its stashes, of nothing a RECORD lists (left by a pip stopped while it "
                "deleted it, or someone's own)",
                f"if nothing needs it: {Action(REMOVE, self.path).command()}",
            )
        owned = owners.of(self.original)
        complete, unfinished = installed.complete, installed.unfinished
        # Installed .dist-info listing the original; one pip never finished owns nothing yet.
        there = [d for d in owned if not d.entry.startswith(STASH) and d.path not in unfinished]
        # Whose copy it is: a stashed .dist-info's, else the stashed ones listing its original.
        dists = [self.dist] if self.dist is not None else [d for d in owned if d.entry.startswith(STASH)] or owned
        project = {d.project for d in dists}
        label = ", ".join(sorted({d.label for d in dists}))
        if there and all(d.path in complete for d in there):
            return self._remove(label, f"not needed: its original is there, complete ({_labels(there)})")
        newer = [d for d in installed.dists if d.project in project and d.path in complete]
        if newer and not there:  # an upgrade (or downgrade) that was done, but for deleting this
            return self._remove(label, f"not needed: {_labels(newer)} is installed complete in its place")
        if self.dist is None and not there and all(d.path in unfinished for d in owned):
            other = owned[0]  # listed only by a .dist-info pip never finished: whose copy is unknown
            return self._kept(label, f"{other.label} is half-written there", reinstall(other))
        if self.original in found.restored:
            return Problem(
                "stash",
                label,
                self.path,
                f"pip's stash {self.name} of {os.path.basename(self.original)}, kept: another stash of it "
                "is moved back first",
                "run piplockhook verify again once that is done",
            )
        stopped = [d for d in installed.dists if d.project in project and d.path in unfinished]
        damaged = [d for d in installed.dists if d.project in project and d not in stopped]
        damaged = [d for d in dict.fromkeys(damaged + there) if d.path not in complete]
        exists = os.path.lexists(self.original)
        if damaged and (exists or self.dist is not None):
            other = damaged[0]
            return self._kept(label, f"{other.label} is installed there too and damaged", reinstall(other))
        actions = [Action(REMOVE, d.path) for d in stopped if self.dist is not None]
        what = "the original is missing"
        if exists and self.original not in [d.path for d in stopped]:
            # No RECORD of an installed distribution lists it: what the stopped pip was writing.
            actions.append(Action(REMOVE, self.original))
            what = "the original holds only files no RECORD lists, what pip was writing when it was stopped"
        actions.append(Action(MOVE, self.path, self.original))
        found.restored.append(self.original)
        found.removed += [a.path for a in actions if a.verb == REMOVE]
        return Problem(
            "stash",
            label,
            self.path,
            f"pip's stash {self.name} of {os.path.basename(self.original)}, the only copy ({what}): "
            "moved back, as pip's rollback would",
            command(actions),
            actions=actions,
        )

    def _kept(self, label: str, why: str, reinstall: str) -> Problem:
        return Problem(
            "stash",
            label,
            self.path,
            f"pip's stash {self.name} of {os.path.basename(self.original)}, kept: {why}, so which copy is "
            "good cannot be told; reinstall it, then run piplockhook verify again",
            reinstall,
        )

    def _remove(self, label: str, why: str) -> Problem:
        action = Action(REMOVE, self.path)
        original = f" of {os.path.basename(self.original)}" if self.original else ""
        return Problem(
            "leftover",
            label or self.name,
            self.path,
            f"pip's stash {self.name}{original}, {why}",
            action.command(),
            actions=[action],
        )


def _labels(dists: Sequence[DistInfo]) -> str:
    return ", ".join(d.label for d in dists)


def _is_empty_folder(path: str) -> bool:
    try:
        return os.path.isdir(path) and not os.path.islink(path) and not os.listdir(path)
    except OSError:
        return False
