"""``piplockhook status``: is the hook active for pip here, can it lock, who holds it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

import piplockhook
from piplockhook.cli.base_command import EXIT_OK, Command
from piplockhook.locations import location_for_options, why_unlockable
from piplockhook.lock import holders as _holders
from piplockhook.lock.holderfiles import holders_at
from piplockhook.settings import SITE_PACKAGES, SWITCH, Settings, default_enabled
from piplockhook.verify import leftovers

EPILOG = """\
examples:
  piplockhook status
  piplockhook status --json | python -c "import json,sys; print(json.load(sys.stdin)['active'])"

--json keys: version, python, site_packages, installed, default ("on"/"off"),
active, reasons (why not active), locked and unlocked_reason (can a pip here
have the lock at all, and why not), environment, lock_path, lock_file_exists,
lock_note, holders (pid, mode, command, running_for, host, other_namespace), holders_known, leftovers,
and locks: every file a pip run here locks (path, kind "piplockhook" or "uv",
for, exists, note, holders); uv's own lock is there where this Python is not
a virtual environment."""

# PEP 829: CPython runs the import lines of a .pth file through 3.17 and
# ignores them from 3.18; a same-named .start file (3.15+) replaces them.
PTH_IMPORT_LINES_IGNORED_FROM = (3, 18)
START_FILES_FROM = (3, 15)
READ_ONLY_NOTE = (
    "read-only for this user: pip opens it read-only, which is enough for its shared and, on local "
    "filesystems, its exclusive lock; NFSv4 refuses an exclusive lock on a read-only descriptor (EBADF)"
)


def startup_problem(
    site: str = SITE_PACKAGES, version: tuple[int, int] = (sys.version_info[0], sys.version_info[1])
) -> str:
    """Why no startup file of ours runs in this Python ("" if one does)."""
    if version >= START_FILES_FROM and os.path.exists(os.path.join(site, "piplockhook.start")):
        return ""
    if not os.path.exists(os.path.join(site, "piplockhook.pth")):
        return f"piplockhook.pth is missing from {site} (an editable install does not carry it: install the wheel)"
    if version >= PTH_IMPORT_LINES_IGNORED_FROM:
        return (
            f"Python {version[0]}.{version[1]} ignores import lines in .pth files (PEP 829) and {site} has no "
            "piplockhook.start: install a piplockhook that ships one"
        )
    return ""


def _why_inactive(settings: Settings, env: Mapping[str, str]) -> list[str]:
    reasons: list[str] = []
    problem = startup_problem()
    if problem:
        reasons.append(problem)
    if sys.flags.no_site:
        reasons.append("site is disabled (python -S): no .pth file runs")
    if settings.opted_out:
        reasons.append(f"{SWITCH}={env[SWITCH]} opts this environment's runs out")
    elif not settings.enabled:
        reasons.append("the environment's default is off (`piplockhook disable`); PIPLOCKHOOK=1 opts a run in")
    try:
        import wrapt  # noqa: F401
    except ImportError:
        reasons.append("wrapt is not importable: the hook cannot patch pip")
    return reasons


def lock_state(path: str, kind: str, label: str, unlockable: str = "") -> dict[str, Any]:
    """One lock file as `status --json` shows it under "locks" (`unlockable`:
    why_unlockable(path), asked once by the caller, for our own lock)."""
    found: list[_holders.Holder] = []
    note = ""
    try:
        nofollow = getattr(os, "O_NOFOLLOW", 0) if kind == "uv" else 0  # uv's is in a world-writable dir
        fd = os.open(path, os.O_RDONLY | nofollow)
    except FileNotFoundError:
        note = unlockable
    except OSError as exc:
        note = f"cannot open {path}: {exc.strerror}" + (" (pip skips uv's lock then)" if kind == "uv" else "")
    else:
        try:
            found = holders_at(path, fd) if kind == "piplockhook" else _holders.holders_of(fd)
        finally:
            os.close(fd)
        if not os.access(path, os.W_OK):
            note = READ_ONLY_NOTE
    return {
        "path": path,
        "kind": kind,  # "piplockhook": ours; "uv": uv's own lock for this interpreter
        "for": label,  # the environment, or the interpreter name uv hashed
        "exists": os.path.exists(path),
        "note": note,
        "holders": [h.as_dict() for h in found],
    }


def status(settings: Settings, env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Everything `piplockhook status` shows; the keys are the --json format."""
    reasons = _why_inactive(settings, env)
    where = location_for_options(None, settings.lockfile)
    unlockable = why_unlockable(where.path)  # once: a missing file is probed with a scratch file
    ours = lock_state(where.path, "piplockhook", where.environment, unlockable)
    return {
        "version": piplockhook.__version__,
        "python": sys.executable,
        "site_packages": SITE_PACKAGES,
        "installed": not startup_problem(),
        "default": "on" if default_enabled() else "off",
        "active": not reasons,
        "reasons": reasons,
        "locked": not unlockable,  # can a pip here have the lock at all?
        "unlocked_reason": unlockable,
        "environment": where.environment,
        "lock_path": where.path,
        "lock_file_exists": ours["exists"],
        "lock_note": ours["note"],
        "holders": ours["holders"],
        "locks": [ours] + [lock_state(path, "uv", name) for path, name in where.uv_locks],
        "holders_known": _holders.kernel_names_holders(),
        "leftovers": leftovers(),
    }


def _nobody(kernel_names_holders: bool, kind: str) -> str:
    if kernel_names_holders:
        return "held by: nobody"
    if kind == "uv":
        return "held by: not known on this platform"
    return "held by: no piplockhook process (a uv or flock(1) holder would not show on this platform)"


def format_status(info: dict[str, Any]) -> str:
    lines = [f"piplockhook {info['version']} in {info['site_packages']}"]
    if not info["active"]:
        lines.append("NOT active for pip here:")
        lines.extend(f"  - {r}" for r in info["reasons"])
    elif not info["locked"]:
        lines.append(f"NOT locked: {info['unlocked_reason']}; pip runs unlocked here")
    else:
        lines.append("active: every pip run in this environment takes the lock")
    lines.append(f"default: {info['default']}")
    for lock in info["locks"]:
        label = "lock" if lock["kind"] == "piplockhook" else f"uv's lock for {lock['for']}"
        lines.append(f"{label}: {lock['path']}" + ("" if lock["exists"] else " (not created yet)"))
        if lock["note"] and lock["note"] != info["unlocked_reason"]:
            lines.append(f"  {lock['note']}")
        if lock["holders"]:
            lines.append("held by:")
            lines.extend(f"  {_holders.Holder(**h).describe()}" for h in lock["holders"])
        else:
            lines.append(_nobody(info["holders_known"], lock["kind"]))
    if info["leftovers"]:
        lines.append("leftovers of interrupted pip runs (safe to delete when no pip runs):")
        lines.extend(f"  {p}" for p in info["leftovers"])
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output (stable keys)")


def main(args: argparse.Namespace, settings: Settings) -> int:
    info = status(settings)
    print(json.dumps(info, indent=2, sort_keys=True) if args.json else format_status(info))
    return EXIT_OK


COMMAND = Command(
    "status",
    "is the hook active for pip here, who holds the lock",
    main,
    epilog=EPILOG,
    add_arguments=add_arguments,
)
