"""What no distribution owns: a half-written package, a stale console script.

pip writes a wheel's files first and its RECORD last, so a pip stopped while
it writes leaves files that no RECORD lists (``plhbig/`` holding 966 of a new
version's 3001 files, importable, with no ``.dist-info``). The rule, chosen so
that a fresh environment and everything pip never records stay silent:

* in a directory of distributions, a top-level entry is unowned when it could
  be imported (a folder or a module file whose name is an identifier), no
  installed RECORD lists anything in it, and no distribution without a RECORD
  claims it (``top_level.txt`` or ``installed-files.txt`` of an ``.egg-info``
  or of a ``.dist-info`` without RECORD, or the project's own name). Never
  reported: ``__pycache__``, ``.pth`` files, hidden entries (our lock files in
  a system site-packages), metadata folders, ``~`` stashes (their own rule),
  eggs, and the site hooks users write by hand (``sitecustomize``,
  ``usercustomize``); inside an owned folder nothing is (a program may write
  there: caches, generated files);
* in the scripts folder (``bin/``, ``Scripts``), a file is unowned when no
  RECORD lists it and its ``#!`` line runs this Python: a console script pip
  wrote, whose distribution is gone. The interpreter and activation scripts
  are not Python scripts and are not reported.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable

from piplockhook.verify.distinfo import MODULE_SUFFIXES, DistInfo
from piplockhook.verify.findings import Problem
from piplockhook.verify.owners import Owners
from piplockhook.verify.repair import REMOVE, Action
from piplockhook.verify.scopes import Scope
from piplockhook.verify.stashes import Plan

NEVER = frozenset({"__pycache__", "sitecustomize", "usercustomize", "_virtualenv"})  # virtualenv's own hook
METADATA_SUFFIXES = (".dist-info", ".egg-info", ".egg", ".egg-link", ".pth", ".data")
_BY_LENGTH = sorted(MODULE_SUFFIXES, key=len, reverse=True)


def module_name(entry: str, is_dir: bool) -> str:
    """The name `entry` is imported by ("" when it cannot be imported)."""
    if is_dir:
        return entry if entry.isidentifier() else ""
    for suffix in _BY_LENGTH:
        if entry.endswith(suffix):
            stem = entry[: -len(suffix)]
            return stem if stem.isidentifier() else ""
    return ""


def _sorted_entries(folder: str) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError:  # gone, or not ours to read: nothing there to report
        return []


def _lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [line.strip() for line in f if line.strip()]
    except OSError:
        return []


def claimed(directory: str, without_record: Iterable[DistInfo]) -> tuple[set[str], set[str]]:
    """(top-level names, absolute paths) that distributions with no RECORD say are theirs:
    eggs and .egg-info (setup.py install or develop), .dist-info of tools that keep no RECORD."""
    names: set[str] = set()
    paths: set[str] = set()
    folders = [d.path for d in without_record]
    folders += [
        os.path.join(directory, e) for e in _sorted_entries(directory) if e.endswith((".egg-info", ".egg-link", ".egg"))
    ]
    for folder in folders:
        stem = re.split(r"-\d", os.path.basename(folder), maxsplit=1)[0]  # NAME-VERSION...
        names.add(re.sub(r"[-.]+", "_", stem).lower())
        for info in (folder, os.path.join(folder, "EGG-INFO")):
            names.update(_lines(os.path.join(info, "top_level.txt")))
            for listed in _lines(os.path.join(info, "installed-files.txt")):
                path = os.path.normpath(os.path.join(info, listed))
                paths.add(path)
                if path.startswith(directory + os.sep):
                    names.add(os.path.relpath(path, directory).split(os.sep)[0])
    return names, paths


def unowned_entries(directory: str, owners: Owners, names: set[str]) -> list[str]:
    """Top-level entries of `directory` that no installed RECORD and no `names` claim."""
    found = []
    lowered = {n.lower() for n in names}
    for entry in _sorted_entries(directory):
        if entry.startswith((".", "~")) or entry.endswith(METADATA_SUFFIXES):
            continue
        path = os.path.join(directory, entry)
        name = module_name(entry, os.path.isdir(path))
        if not name or name in NEVER or name.lower() in lowered:
            continue
        if not any(not d.entry.startswith("~") for d in owners.of(path)):
            found.append(path)
    return found


def unowned_scripts(scripts: str, owners: Owners, paths: set[str]) -> list[str]:
    """Console scripts for this Python in `scripts` that no RECORD lists."""
    found = []
    for entry in _sorted_entries(scripts):
        path = os.path.join(scripts, entry)
        if path in paths or any(not d.entry.startswith("~") for d in owners.of(path)):
            continue
        if os.path.isfile(path) and not os.path.islink(path) and _runs_this_python(path, scripts):
            found.append(path)
    return found


def _runs_this_python(path: str, scripts: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(512).decode("utf-8", "replace").splitlines()
    except OSError:
        return False
    if not head or not head[0].startswith("#!"):
        return False
    command = head[0][2:].strip()
    if command == "/bin/sh" and len(head) > 1 and head[1].startswith("'''exec' "):
        command = head[1][len("'''exec' ") :]  # pip's form for a long interpreter path
    interpreter = command.strip().strip('"').split('" ')[0].split(" ")[0].strip('"')
    if not interpreter:
        return False
    ours = {os.path.realpath(sys.executable)}
    if os.path.dirname(os.path.realpath(interpreter)) == os.path.realpath(scripts):
        return True
    return os.path.realpath(interpreter) in ours


def problems(scope: Scope, directory: str, owners: Owners, dists: list[DistInfo], plan: Plan) -> list[Problem]:
    """One problem per entry of `directory` (and of the scripts folder) no RECORD owns,
    but those a stash moved back replaces. Never repaired by verify: it may be someone's own."""
    names, paths = claimed(directory, [d for d in dists if d.record is None])
    found = [p for p in unowned_entries(directory, owners, names) if not plan.covers(p)]
    if scope.scripts and directory == scope.directories[0]:
        found += unowned_scripts(scope.scripts, owners, paths)
    return [
        Problem(
            "unowned",
            os.path.basename(path),
            path,
            f"{_count(path)} that no installed RECORD lists (left by a pip stopped while installing, or put there "
            "by hand)",
            f"if a distribution should own it, reinstall that one "
            f"(`{scope.pip_install} --force-reinstall --no-deps NAME==VERSION`); "
            f"if none: {Action(REMOVE, path).command()}",
        )
        for path in found
    ]


def _count(path: str) -> str:
    if not os.path.isdir(path) or os.path.islink(path):
        return "a file"
    number = sum(len(names) for _, _, names in os.walk(path))
    return f"a folder of {number} file" + ("" if number == 1 else "s")
