"""What ``piplockhook status``, ``enable`` and ``disable`` read and change."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import piplockhook
from piplockhook import config
from piplockhook.config import SITE_PACKAGES
from piplockhook.report import holders_of

# PEP 829: CPython runs the import lines of a .pth file through 3.17 and
# ignores them from 3.18; a same-named .start file (3.15+) replaces them.
PTH_IMPORT_LINES_IGNORED_FROM = (3, 18)
START_FILES_FROM = (3, 15)


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


def set_default(enabled: bool) -> str:
    """Write or remove the marker that makes the environment's default "off"."""
    marker = config.disabled_marker()
    if enabled:
        try:
            os.remove(marker)
        except FileNotFoundError:
            pass
    else:
        with open(marker, "w") as f:
            f.write("piplockhook is off by default here; `piplockhook enable` or PIPLOCKHOOK=1 turns it on.\n")
    return marker


def leftovers(site: str = SITE_PACKAGES) -> list[str]:
    """`~`-prefixed entries: what a pip killed while uninstalling leaves behind."""
    try:
        return sorted(os.path.join(site, e) for e in os.listdir(site) if e.startswith("~"))
    except OSError:
        return []


def _why_inactive(env: Mapping[str, str]) -> list[str]:
    reasons: list[str] = []
    problem = startup_problem()
    if problem:
        reasons.append(problem)
    if sys.flags.no_site:
        reasons.append("site is disabled (python -S): no .pth file runs")
    if config.opted_out(env):
        reasons.append(f"{config.SWITCH}={env[config.SWITCH]} opts this environment's runs out")
    elif not config.hook_wanted(env):
        reasons.append("the environment's default is off (`piplockhook disable`); PIPLOCKHOOK=1 opts a run in")
    try:
        config.load(env)
    except config.ConfigError as exc:
        reasons.append(f"bad configuration, pip would stop with status 2: {exc}")
    try:
        import wrapt  # noqa: F401
    except ImportError:
        reasons.append("wrapt is not importable: the hook cannot patch pip")
    return reasons


READ_ONLY_NOTE = (
    "read-only for this user: pip opens it read-only, which is enough for its shared and, on local "
    "filesystems, its exclusive lock; NFSv4 refuses an exclusive lock on a read-only descriptor (EBADF)"
)


def lock_state(path: str, kind: str, label: str) -> dict[str, Any]:
    """One lock file as `status --json` shows it under "locks"."""
    holders, note = [], ""
    try:
        nofollow = getattr(os, "O_NOFOLLOW", 0) if kind == "uv" else 0  # uv's is in a world-writable dir
        fd = os.open(path, os.O_RDONLY | nofollow)
    except FileNotFoundError:
        parent = os.path.dirname(path)
        if kind == "piplockhook" and not os.access(
            parent if os.path.isdir(parent) else os.path.dirname(parent), os.W_OK
        ):
            note = f"{path} does not exist and cannot be created by this user: pip runs unlocked here"
    except OSError as exc:
        note = f"cannot open {path}: {exc.strerror}" + (" (pip skips uv's lock then)" if kind == "uv" else "")
    else:
        try:
            holders = holders_of(fd)
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
        "holders": [
            {"pid": h.pid, "mode": h.mode, "command": h.command, "running_for": h.running_for} for h in holders
        ],
    }


def status(env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Everything `piplockhook status` shows; the keys are the --json format."""
    reasons = _why_inactive(env)
    try:
        override = config.lockfile(env)
    except config.ConfigError:  # a reason above says so; show the environment's own lock
        override = None
    where = config.lock_for_options(None, override)
    ours = lock_state(where.path, "piplockhook", where.environment)
    locks = [ours] + [lock_state(path, "uv", name) for path, name in where.uv_locks]
    return {
        "version": piplockhook.__version__,
        "python": sys.executable,
        "site_packages": SITE_PACKAGES,
        "installed": not startup_problem(),
        "default": "on" if config.default_enabled() else "off",
        "active": not reasons,
        "reasons": reasons,
        "environment": where.environment,
        "lock_path": where.path,
        "lock_file_exists": ours["exists"],
        "lock_note": ours["note"],
        "holders": ours["holders"],
        "locks": locks,
        "holders_known": sys.platform.startswith("linux"),
        "leftovers": leftovers(),
    }


def format_status(info: dict[str, Any]) -> str:
    lines = [f"piplockhook {info['version']} in {info['site_packages']}"]
    if info["active"]:
        lines.append("active: every pip run in this environment takes the lock")
    else:
        lines.append("NOT active for pip here:")
        lines.extend(f"  - {r}" for r in info["reasons"])
    lines.append(f"default: {info['default']}")
    for lock in info["locks"]:
        label = "lock" if lock["kind"] == "piplockhook" else f"uv's lock for {lock['for']}"
        lines.append(f"{label}: {lock['path']}" + ("" if lock["exists"] else " (not created yet)"))
        if lock["note"]:
            lines.append(f"  {lock['note']}")
        if lock["holders"]:
            lines.append("held by:")
            lines.extend(f"  pid {h['pid']} ({h['mode']}): {h['command']}" for h in lock["holders"])
        else:
            lines.append("held by: nobody" if info["holders_known"] else "held by: unknown on this platform")
    if info["leftovers"]:
        lines.append("leftovers of interrupted pip runs (safe to delete when no pip runs):")
        lines.extend(f"  {p}" for p in info["leftovers"])
    return "\n".join(lines)
