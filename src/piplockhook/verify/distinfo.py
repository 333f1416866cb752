"""What an installed distribution's ``.dist-info`` says it installed.

Reads only: the directory name, ``METADATA``'s name and version, ``RECORD``
(with ``csv``, as pip writes it) and ``entry_points.txt``; and finds a
module's files on disk without importing anything (user code never runs).
"""

from __future__ import annotations

import base64
import configparser
import csv
import importlib.machinery
import os
import re
from collections.abc import Iterable

DIST_INFO = ".dist-info"
# pip writes RECORD, INSTALLER, ... through a temporary file beside the real
# one (NamedTemporaryFile(prefix=name, suffix=".tmp")): one left behind means
# the pip that wrote this directory did not finish.
PIP_TEMP_SUFFIX = ".tmp"
SCRIPT_GROUPS = ("console_scripts", "gui_scripts")
# Every suffix a module can have on disk: source, bytecode only, extension.
MODULE_SUFFIXES = tuple(
    importlib.machinery.SOURCE_SUFFIXES + importlib.machinery.BYTECODE_SUFFIXES + importlib.machinery.EXTENSION_SUFFIXES
)


def normalize(name: str) -> str:
    """PEP 503: one spelling per project (``Foo_Bar`` and ``foo-bar`` are one)."""
    return re.sub(r"[-_.]+", "-", name).lower()


class RecordEntry:
    """One row of RECORD: a path and, where listed, its size and digest."""

    __slots__ = ("algorithm", "digest", "listed", "path", "size")

    def __init__(self, listed: str, path: str, algorithm: str, digest: bytes | None, size: int | None) -> None:
        self.listed = listed  # as RECORD spells it, relative to the directory
        self.path = path  # absolute
        self.algorithm = algorithm  # "" when RECORD lists no hash (.pyc, RECORD itself)
        self.digest = digest
        self.size = size


class EntryPoint:
    __slots__ = ("group", "module", "name")

    def __init__(self, group: str, name: str, module: str) -> None:
        self.group = group
        self.name = name
        self.module = module


class DistInfo:
    """One ``NAME-VERSION.dist-info`` directory, as far as it can be read."""

    def __init__(self, directory: str, entry: str) -> None:
        self.directory = directory  # the directory of distributions it lives in
        self.entry = entry
        self.path = os.path.join(directory, entry)
        stem = entry[: -len(DIST_INFO)]
        name, _, version = stem.partition("-")
        self.has_metadata, self.name, self.version = _metadata(self.path, name, version)
        self.project = normalize(self.name)
        self.temp_files = sorted(f for f in _listdir(self.path) if f.endswith(PIP_TEMP_SUFFIX))
        self.installer = _first_line(os.path.join(self.path, "INSTALLER"))  # "pip", "uv", "conda", "" (none)
        self.record: list[RecordEntry] | None = None  # None: no RECORD
        self.record_error = ""
        self.entry_points: list[EntryPoint] = []
        try:
            with open(os.path.join(self.path, "RECORD"), newline="", encoding="utf-8") as f:
                self.record = parse_record(f, directory)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, csv.Error) as exc:
            self.record_error = str(exc)
        self.entry_points = _entry_points(os.path.join(self.path, "entry_points.txt"))
        self.stopped = ""  # why a pip stopped while writing it left it unfinished (verify/stopped.py), once known

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}" if self.version else self.name


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _first_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.readline().strip()
    except OSError:
        return ""


def _metadata(path: str, name: str, version: str) -> tuple[bool, str, str]:
    """(METADATA present, name, version): METADATA's if it says, else the directory's."""
    try:
        with open(os.path.join(path, "METADATA"), encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break  # the headers end at the first blank line
                key, _, value = line.partition(":")
                if key == "Name" and value.strip():
                    name = value.strip()
                elif key == "Version" and value.strip():
                    version = value.strip()
    except OSError:
        return False, name, version
    return True, name, version


def _decode_digest(text: str) -> bytes:
    # RECORD's digests are urlsafe base64 without the padding.
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_record(lines: Iterable[str], directory: str) -> list[RecordEntry]:
    """RECORD's rows; ValueError names the first row that is not path,hash,size."""
    entries = []
    for number, row in enumerate(csv.reader(lines), 1):
        if not row or not row[0]:
            continue
        if len(row) != 3:
            raise ValueError(f"RECORD line {number} has {len(row)} fields, not 3")
        listed, hashed, size = row
        algorithm, _, digest = hashed.partition("=")
        try:
            entries.append(
                RecordEntry(
                    listed,
                    os.path.normpath(os.path.join(directory, listed)),
                    algorithm if digest else "",
                    _decode_digest(digest) if digest else None,
                    int(size) if size else None,
                )
            )
        except ValueError:
            raise ValueError(f"RECORD line {number} is not path,hash,size: {','.join(row)!r}") from None
    return entries


def _entry_points(path: str) -> list[EntryPoint]:
    parser = configparser.RawConfigParser(delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # names are case-sensitive
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return []  # unreadable: the RECORD check reports a damaged file
    found = []
    for group in parser.sections():
        for name, value in parser.items(group):
            module = value.partition(":")[0].split("[")[0].strip()  # "pkg.mod:attr [extra]"
            if module:
                found.append(EntryPoint(group, name, module))
    return found


def module_files(module: str, directory: str) -> list[str]:
    """The paths under `directory` where `module` (``a.b.c``) could live."""
    base = os.path.join(directory, *module.split("."))
    candidates = [base + suffix for suffix in MODULE_SUFFIXES]
    candidates += [os.path.join(base, "__init__" + suffix) for suffix in MODULE_SUFFIXES]
    return candidates


def module_present(module: str, directories: Iterable[str]) -> bool:
    """Is `module` on disk under one of `directories`? (A bare folder does not
    count: a namespace package has no attribute for an entry point to name.)"""
    return any(os.path.isfile(p) for directory in directories for p in module_files(module, directory))
