"""``piplockhook verify``: is what is installed what the metadata says?

Unlocked pips that raced each other leave two ``.dist-info`` of one project,
files that ``RECORD`` lists missing or changed, ``RECORD`` itself missing,
``~`` stashes of interrupted uninstalls; ``pip check`` sees none of it (it
compares requirements only). This module finds that damage, under the
environment's shared lock so that a pip writing right now is waited for, not
reported; it reads only, and says for each problem the command that repairs it.
It also sees what a pip stopped while it wrote leaves (stashes.py: pip's
stashes, moved back where they are the only copy; unowned.py: files no RECORD
owns); the repairs it can make itself are each Problem's ``actions``
(repair.py), which ``piplockhook verify --repair`` makes under the exclusive lock.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import stat
import time
from collections.abc import Sequence
from typing import TextIO

from piplockhook.settings import SITE_PACKAGES
from piplockhook.verify import stashes, tempstash, unowned
from piplockhook.verify.distinfo import SCRIPT_GROUPS, DistInfo, RecordEntry, module_present
from piplockhook.verify.findings import Problem, Result
from piplockhook.verify.owners import Owners
from piplockhook.verify.repair import REMOVE, Action, RepairError, apply, command
from piplockhook.verify.scopes import Scope, environment_scope, path_scope, target_scope
from piplockhook.verify.stopped import why_stopped

__all__ = [
    "Action",
    "Problem",
    "RepairError",
    "Result",
    "Scope",
    "apply",
    "environment_scope",
    "find_problems",
    "leftovers",
    "path_scope",
    "target_scope",
]

CHUNK = 1 << 20  # read size while hashing: large enough that hashlib releases the GIL
# Installers whose files stay as RECORD lists them, so that pip can repair them.
# Others change files after installing (Debian patches them, conda rewrites
# prefixes): their sizes and hashes say nothing about races, and pip is not
# the tool to reinstall them.
PIP_INSTALLERS = ("pip", "uv")


def leftovers(site: str = SITE_PACKAGES) -> list[str]:
    """`~`-prefixed entries: what a pip killed while uninstalling leaves behind."""
    try:
        return sorted(os.path.join(site, e) for e in os.listdir(site) if e.startswith("~"))
    except OSError:
        return []


class Progress:
    """Files and bytes done, redrawn on one terminal line (nothing elsewhere)."""

    def __init__(self, stream: TextIO | None, files: int, size: int) -> None:
        self.stream = stream if stream is not None and stream.isatty() else None
        self.total_files, self.total_bytes = files, size
        self.files = self.bytes = 0
        self.shown = 0.0

    def advance(self, size: int) -> None:
        self.files += 1
        self.bytes += size
        now = time.monotonic()
        if self.stream is not None and now - self.shown >= 0.1:
            self.shown = now
            self.stream.write(
                f"\rpiplockhook verify: {self.files}/{self.total_files} files, "
                f"{self.bytes / 1e6:.1f}/{self.total_bytes / 1e6:.1f} MB"
            )
            self.stream.flush()

    def close(self) -> None:
        if self.stream is not None and self.shown:
            self.stream.write("\r" + " " * 79 + "\r")
            self.stream.flush()


def _remove(path: str) -> str:
    return Action(REMOVE, path).command()


def _file_problem(entry: RecordEntry, quick: bool, buffer: bytearray) -> tuple[str, int]:
    """("", bytes) when the file is as RECORD says, else ("missing" | "size" | "hash", bytes)."""
    listed = entry.listed.replace("\\", "/")
    if entry.digest is None and (listed.endswith(".pyc") or listed.rpartition("/")[2] == "__pycache__"):
        # Compiled files listed without a hash are caches Python rewrites at
        # will (virtualenv's seeder lists some it never writes): not damage.
        return "", 0
    try:
        st = os.stat(entry.path)
    except OSError:
        return "missing", 0
    if not stat.S_ISREG(st.st_mode):
        return "missing", 0
    if entry.size is not None and st.st_size != entry.size:
        return "size", st.st_size
    if quick or entry.digest is None or entry.algorithm not in hashlib.algorithms_available:
        return "", st.st_size
    digest = hashlib.new(entry.algorithm)
    view = memoryview(buffer)
    try:
        with open(entry.path, "rb", buffering=0) as f:
            while True:
                n = f.readinto(buffer)
                if not n:
                    break
                digest.update(view[:n])
    except OSError:
        return "missing", 0
    return ("" if digest.digest() == entry.digest else "hash"), st.st_size


FILE_PROBLEMS = {
    "missing": "{files} listed in RECORD missing",
    "size": "{files} not of the size RECORD lists (truncated or overwritten)",
    "hash": "{files} not of the sha256 RECORD lists (overwritten)",
}


def _files_checked(dists: list[DistInfo], quick: bool, progress: Progress) -> dict[str, dict[str, list[str]]]:
    """{dist path: {kind: [files as RECORD lists them]}}."""
    buffer = bytearray(CHUNK)
    found: dict[str, dict[str, list[str]]] = {}
    for dist in dists:
        kinds: dict[str, list[str]] = {}
        for entry in dist.record or ():
            kind, size = _file_problem(entry, quick, buffer)
            progress.advance(size)
            if kind:
                kinds.setdefault(kind, []).append(entry.listed)
        found[dist.path] = kinds
    return found


def _keeper(dists: list[DistInfo], files: dict[str, dict[str, list[str]]]) -> DistInfo:
    """Of several .dist-info of one project, the one to keep: complete, with the
    fewest files that differ from its RECORD, then the most recently written."""

    def score(d: DistInfo) -> tuple[bool, int, float]:
        try:
            mtime = os.stat(d.path).st_mtime
        except OSError:
            mtime = 0.0
        bad = sum(len(v) for v in files.get(d.path, {}).values())
        return (d.has_metadata and d.record is not None, -bad, mtime)

    return max(dists, key=score)


def _shown(files: list[str], most: int = 3) -> str:
    first = sorted(files, key=lambda f: f.endswith(".pyc"))  # modules before their bytecode
    more = f", and {len(files) - most} more" if len(files) > most else ""
    return ", ".join(first[:most]) + more


def _module_missing(module: str, scope: Scope) -> bool:
    if module_present(module, scope.search_path):
        return False
    if scope.is_environment:
        # Editable installs put a finder on sys.meta_path instead of a path:
        # ask it for the top-level name, which imports nothing.
        top, _, rest = module.partition(".")
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            return True
        if spec is not None:
            return bool(rest) and not module_present(rest, spec.submodule_search_locations or ())
    return True


def _duplicate(group: list[DistInfo], keeper: DistInfo, reinstall: str) -> Problem:
    stale = [d for d in group if d is not keeper]
    names = ", ".join(d.entry for d in group)
    return Problem(
        "duplicate",
        keeper.label,
        stale[0].path,
        f"{len(group)} .dist-info directories for one project ({names}); "
        f"the stale one: {', '.join(d.entry for d in stale)}",
        " && ".join([*(_remove(d.path) for d in stale), reinstall]),
    )


def _unfinished(d: DistInfo, reinstall: str) -> Problem | None:
    """A .dist-info pip cannot use or uninstall: removed, then installed again."""
    if not d.has_metadata:
        kind, detail = "no-metadata", f"{d.entry} has no METADATA (half-written or half-removed)"
    elif d.record_error:
        kind, detail = "bad-record", f"{d.entry}/RECORD cannot be read: {d.record_error}"
    elif d.record is None and d.temp_files:
        kind, detail = "half-written", f"{d.entry} was never finished: no RECORD, pip's {d.temp_files[0]}"
    elif d.stopped:
        kind, detail = "half-written", f"{d.entry} was never finished: {d.stopped} (pip was stopped)"
    elif d.record is None:
        kind, detail = "no-record", f"{d.entry} has no RECORD (pip cannot uninstall it)"
    else:
        return None
    return Problem(kind, d.label, d.path, detail, f"{_remove(d.path)} && {reinstall}")


def _contents(d: DistInfo, found: dict[str, list[str]], scope: Scope, reinstall: str) -> list[Problem]:
    """What differs from a complete .dist-info's RECORD and entry points."""
    problems = []  # (pip's temporary files in it: _unfinished's, through d.stopped)
    for kind, template in FILE_PROBLEMS.items():
        listed = found.get(kind, []) if kind == "missing" or d.installer in PIP_INSTALLERS else []
        back = _from_temp(d, listed) if kind == "missing" and d.installer in PIP_INSTALLERS else []
        if back:
            detail = (
                f"{len(listed)} file{'s' if len(listed) > 1 else ''} listed in RECORD missing, the only copy in pip's "
                f"stash in its temporary folder: {_shown(listed)}; copied back"
            )
            problems.append(Problem("stash", d.label, d.path, detail, command(back), listed, back))
        elif listed:
            count = f"{len(listed)} file" + ("s" if len(listed) > 1 else "")
            detail = template.format(files=count) + f": {_shown(listed)}"
            problems.append(Problem(kind, d.label, d.path, detail, reinstall, listed))
    for ep in d.entry_points:
        if _module_missing(ep.module, scope):
            what = "console script" if ep.group in SCRIPT_GROUPS else f"entry point [{ep.group}]"
            detail = f"{what} {ep.name} names module {ep.module}, which is missing"
            problems.append(Problem("entry-point", d.label, d.path, detail, reinstall))
    return problems


def _from_temp(d: DistInfo, listed: list[str]) -> list[Action]:
    """Copies back from pip's temporary stashes of every file `listed` missing, or none."""
    stashes = tempstash.folders() if listed else []
    if not stashes:
        return []
    entries = {e.listed: e for e in d.record or ()}
    return tempstash.copies_back([entries[f] for f in listed if f in entries], stashes)


def _reinstall(scope: Scope, d: DistInfo) -> str:
    """The command that writes `d` again: pip's, unless another tool installed it
    (one pip was stopped writing has no INSTALLER yet)."""
    if d.installer in PIP_INSTALLERS or d.stopped:
        return f"{scope.pip_install} --force-reinstall --no-deps {d.name}=={d.version}"
    by = f"INSTALLER says {d.installer}" if d.installer else "no INSTALLER file"
    return f"reinstall {d.label} with the tool that installed it ({by}: not pip)"


def _complete(d: DistInfo, files: dict[str, dict[str, list[str]]]) -> bool:
    """Is `d` finished, with every file as its RECORD says?"""
    finished = d.has_metadata and d.record is not None and not d.record_error and not d.temp_files and not d.stopped
    return finished and not any(files.get(d.path, {}).values())


def _moot(d: DistInfo, found: dict[str, list[str]], plan: stashes.Plan) -> bool:
    """Are `d`'s problems all files missing where a stash is moved back?"""
    if d.path and plan.covers(d.path):
        return True
    missing = found.get("missing", [])
    others = any(kind != "missing" and listed for kind, listed in found.items())
    return bool(missing) and not others and all(plan.covers(os.path.join(d.directory, f)) for f in missing)


def _problems_of(
    scope: Scope, dists: list[DistInfo], files: dict[str, dict[str, list[str]]], plan: stashes.Plan
) -> list[Problem]:
    """Per project: two .dist-info or more, then what is wrong with the one kept
    (not what moving a stash back repairs)."""
    problems: list[Problem] = []
    by_project: dict[str, list[DistInfo]] = {}
    for dist in dists:
        by_project.setdefault(dist.project, []).append(dist)
    for project in sorted(by_project):
        group = sorted(by_project[project], key=lambda d: d.entry)
        keeper = _keeper(group, files)
        reinstall = _reinstall(scope, keeper)
        if len(group) > 1:
            problems.append(_duplicate(group, keeper, reinstall))
        if _moot(keeper, files.get(keeper.path, {}), plan):
            continue
        unfinished = _unfinished(keeper, reinstall)
        if unfinished is not None:
            problems.append(unfinished)
        else:
            problems += _contents(keeper, files.get(keeper.path, {}), scope, reinstall)
    return problems


def find_problems(scopes: Sequence[Scope], *, quick: bool, progress: TextIO | None = None) -> Result:
    """Check every distribution of `scopes`; `progress` (a terminal) sees files and bytes done."""
    start = time.monotonic()
    every = [d for s in scopes for d in s.directories]
    result = Result(every, quick)
    read: list[tuple[Scope, list[DistInfo]]] = []
    for scope in scopes:
        dists = [
            DistInfo(directory, entry)
            for directory in scope.directories
            for entry in sorted(os.listdir(directory))
            if entry.endswith(".dist-info")
            and not entry.startswith("~")
            and os.path.isdir(os.path.join(directory, entry))
        ]
        read.append((scope, dists))
    all_dists = [d for _, dists in read for d in dists]
    entries = [e for d in all_dists for e in d.record or ()]
    shown = Progress(progress, len(entries), sum(e.size or 0 for e in entries))
    try:
        files = _files_checked(all_dists, quick, shown)
    finally:
        shown.close()
    for scope, dists in read:
        plans, later = [], []
        for directory in scope.directories:
            here = [d for d in dists if d.directory == directory]
            stashed = stashes.stashed_dist_infos(directory)
            for d in here:
                d.stopped = why_stopped(d, scope.scripts, {s.project for s in stashed})
            unfinished = {d.path for d in here if d.stopped or d.record is None}
            installed = stashes.Installed(here, {d.path for d in here if _complete(d, files)}, unfinished)
            owners = Owners(directory, [*here, *stashed])
            plan = stashes.plan(owners, installed, stashed, functools.partial(_reinstall, scope))
            plans.append(plan)
            result.problems += plan.problems
            later += unowned.problems(scope, directory, owners, here, plan)
        merged = stashes.Plan()
        for plan in plans:
            merged.restored += plan.restored
            merged.removed += plan.removed
        result.problems += _problems_of(scope, dists, files, merged)
        result.problems += later
    result.distributions = len(all_dists)
    result.files, result.bytes = shown.files, shown.bytes
    result.seconds = time.monotonic() - start
    return result
