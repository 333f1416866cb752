"""Where a wheel's files will land, known before the first is written.

From the wheel's own list of files (its zip directory) and the install
scheme, as pip places them: the root into purelib or platlib
(``Root-Is-Purelib``), ``<name>.data/<key>/...`` into the scheme's ``key``,
the byte-code pip compiles beside each module, the console and GUI scripts
of ``entry_points.txt``, and the files pip adds to the ``.dist-info``
folder (in that folder, so covered with it).

The journal keeps only the *roots*: the topmost of those paths that do not
exist yet (a package folder, a new ``.dist-info``, a script). Removing them
removes everything the wheel wrote there and nothing that was there before.
A file that exists already is overwritten by pip, as it is when pip fails
there; it is not a root, and a restore leaves it.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import sys
import zipfile
from typing import Any

SCHEME_KEYS = ("purelib", "platlib", "headers", "scripts", "data")


def planned_roots(wheel: zipfile.ZipFile, scheme: Any) -> tuple[str, str, list[str]]:
    """(name, version, roots) of installing `wheel` (pip's own open zip: its
    directory is read once) with pip's `scheme` (an object with purelib,
    platlib, headers, scripts, data)."""
    names = wheel.namelist()
    info = _info_dir(names)
    name, _, version = info[: -len(".dist-info")].partition("-")
    wheel_meta = wheel.read(f"{info}/WHEEL").decode("utf-8", "replace")
    entry_points = wheel.read(f"{info}/entry_points.txt").decode() if f"{info}/entry_points.txt" in names else ""
    purelib = "root-is-purelib: true" in wheel_meta.lower()
    lib = scheme.purelib if purelib else scheme.platlib
    data = f"{info[: -len('.dist-info')]}.data/"
    targets: list[str] = []
    for member in names:
        if member.endswith("/"):
            continue
        if member.startswith(data):
            key, _, rest = member[len(data) :].partition("/")
            if key not in SCHEME_KEYS or not rest:
                continue
            targets.append(_join(getattr(scheme, key), rest))
        else:
            targets.append(_join(lib, member))
    targets += [os.path.join(scheme.scripts, s) for s in _scripts(entry_points)]
    return name, version, roots(targets)


def _info_dir(names: list[str]) -> str:
    infos = {n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")}
    if len(infos) != 1:
        raise ValueError(f"{len(infos)} .dist-info folders in the wheel")
    return infos.pop()


def _join(folder: str, relative: str) -> str:
    return os.path.normpath(os.path.join(folder, *relative.split("/")))


def _scripts(entry_points: str) -> list[str]:
    if not entry_points:
        return []
    parser = configparser.ConfigParser(delimiters="=", interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # script names keep their case
    parser.read_string(entry_points)
    found = []
    for section in ("console_scripts", "gui_scripts"):
        if parser.has_section(section):
            found += list(parser[section])
    if sys.platform == "win32":
        found += [f"{s}{ext}" for s in list(found) for ext in (".exe", "-script.py", "-script.pyw")]
    major, minor = sys.version_info[:2]
    if "pip" in found:  # pip also writes pipX and pipX.Y
        found += [f"pip{major}", f"pip{major}.{minor}"]
    return found


def roots(targets: list[str]) -> list[str]:
    """The topmost paths of `targets`, of their folders and of the byte-code pip
    compiles beside a module, that do not exist yet. One lstat per folder, and per
    file only in a folder that exists (3000 modules in a new package: a few)."""
    top: dict[str, str | None] = {}  # folder -> the new path that covers it (itself or above); None: it exists

    def cover(folder: str) -> str | None:
        if folder not in top:
            parent = os.path.dirname(folder)
            if os.path.lexists(folder) or parent == folder:
                top[folder] = None
            else:
                top[folder] = cover(parent) or folder
        return top[folder]

    found = set()
    for target in targets:
        folder = os.path.dirname(target)
        covered = cover(folder)
        if covered is not None:
            found.add(covered)
            continue
        if not os.path.lexists(target):
            found.add(target)
        if target.endswith(".py"):  # its byte-code, in <folder>/__pycache__
            pyc = importlib.util.cache_from_source(target)
            pyc_cover = cover(os.path.dirname(pyc))
            if pyc_cover is not None:
                found.add(pyc_cover)
            elif not os.path.lexists(pyc):
                found.add(pyc)
    return sorted(found)
