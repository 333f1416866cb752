"""``piplockhook status``: is the hook active for pip here, can it lock, who holds it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

import piplockhook
from piplockhook.cli.base_command import EXIT_FAILED, EXIT_OK, Command
from piplockhook.journal import Entry
from piplockhook.journal.restore import JOURNAL, NOTICE, UNREADABLE, pending, who, whose
from piplockhook.locations import location_for_options, nearest_directory, user_location, why_unlockable
from piplockhook.lock import holders as _holders
from piplockhook.lock.environment import JOURNAL_SUFFIX
from piplockhook.lock.holderfiles import host_name
from piplockhook.lock.holders import holders_at
from piplockhook.settings import SITE_PACKAGES, SWITCH, Settings, default_enabled
from piplockhook.verify import leftovers

EPILOG = """\
examples:
  piplockhook status
  piplockhook status --json | python -c "import json,sys; print(json.load(sys.stdin)['active'])"
  piplockhook status >/dev/null || echo "pip runs unlocked here"

"Here" means a pip started as this command is: the same user and the same
environment variables (PIPLOCKHOOK=1 or 0 in this shell counts for this
shell's pips only). Every NOT line is followed by a "hint:" line, its fix.
Outside a virtual environment it also shows uv's lock for this Python and the
lock `pip install --user` takes.

exit status:
    0  a pip run here takes the lock (for a user who may only read the
       environment: its pips that read do; writing is the owner's)
    1  a pip run here is NOT locked: the hook is not active (PIPLOCKHOOK=0,
       the default off, piplockhook.pth missing, python -S, no wrapt), the
       lock file cannot be had (pip runs unlocked), or the lock path is a
       directory (pip's commands that lock stop with an ERROR)
    2  bad usage or a bad PIPLOCKHOOK* setting (one ERROR: line)

--json keys: version, python, site_packages, installed, default ("on"/"off"),
switch (PIPLOCKHOOK's value here, "" when unset), active, reasons (why not
active), pip_here (what a pip run here does: "locked", "unlocked" or "error";
the exit status is 0 for "locked" only), hints (the fix of each NOT line),
locked and unlocked_reason (can a pip here have the lock at all, and why not),
environment, lock_path, lock_file_exists, lock_note, read_only (this user may
not write the environment), holders (pid, mode, command, running_for, host,
other_namespace), holders_known, leftovers, journal (what the journal beside
the lock holds: "" none, "writing" a living writer's, "to restore" a dead
writer's that the next locking command restores, "notice" what a restore
could not put back, said by every pip until `piplockhook verify` finds the
environment whole and clears it, "unreadable"), journal_line (what it says),
and locks: every file a pip run here locks (path, kind "piplockhook" or "uv",
for, taken_by "pip" or "pip --user", exists, note, holders)."""

# PEP 829: CPython runs the import lines of a .pth file through 3.17 and
# ignores them from 3.18; a same-named .start file (3.15+) replaces them.
PTH_IMPORT_LINES_IGNORED_FROM = (3, 18)
START_FILES_FROM = (3, 15)
READ_ONLY_NOTE = (
    "read-only for this user: pip opens it read-only, which is enough for its shared and, on local "
    "filesystems, its exclusive lock; NFSv4 refuses an exclusive lock on a read-only descriptor (EBADF)"
)
# What a pip run here does ("pip_here"); status exits 0 for LOCKED only.
LOCKED, UNLOCKED, ERROR = "locked", "unlocked", "error"
READS = "list, freeze, show, check, inspect"  # pip's commands that take the shared lock only
ANOTHER_FILE = "set PIPLOCKHOOK_LOCKFILE to a file you can create"


def _startup(site: str, version: tuple[int, int]) -> tuple[str, str]:
    """(why no startup file of ours runs in this Python, its fix); ("", "") if one does."""
    if version >= START_FILES_FROM and os.path.exists(os.path.join(site, "piplockhook.start")):
        return "", ""
    if not os.path.exists(os.path.join(site, "piplockhook.pth")):
        return (
            f"piplockhook.pth is missing from {site} (an editable install does not carry it)",
            "install piplockhook's wheel: pip install --force-reinstall piplockhook",
        )
    if version >= PTH_IMPORT_LINES_IGNORED_FROM:
        return (
            f"Python {version[0]}.{version[1]} ignores import lines in .pth files (PEP 829) and {site} has no "
            "piplockhook.start",
            "install a piplockhook that ships one",
        )
    return "", ""


def startup_problem(
    site: str = SITE_PACKAGES, version: tuple[int, int] = (sys.version_info[0], sys.version_info[1])
) -> str:
    """Why no startup file of ours runs in this Python ("" if one does), with its fix."""
    problem, fix = _startup(site, version)
    return f"{problem}: {fix}" if problem else ""


def _why_inactive(settings: Settings, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(reason, hint) for each reason a pip run here is not hooked."""
    reasons = [_startup(SITE_PACKAGES, (sys.version_info[0], sys.version_info[1]))]
    if sys.flags.no_site:
        reasons.append(("site is disabled (python -S): no .pth file runs", "run pip without -S"))
    if settings.opted_out and default_enabled():
        reasons.append(
            (
                f"{SWITCH}={env[SWITCH]} in this shell opts its pip runs out (pip runs without it take the lock)",
                f"unset {SWITCH} to lock this shell's pip runs",
            )
        )
    elif settings.opted_out:
        reasons.append(
            (
                f"{SWITCH}={env[SWITCH]} in this shell opts its pip runs out, and the environment's default is off",
                f"{SWITCH}=1 locks a run; `piplockhook enable` locks every pip run here",
            )
        )
    elif not settings.enabled:
        reasons.append(
            (
                "the environment's default is off (`piplockhook disable`)",
                f"`piplockhook enable` locks every pip run here; {SWITCH}=1 locks one run",
            )
        )
    try:
        import wrapt  # noqa: F401
    except ImportError:
        reasons.append(("wrapt is not importable: the hook cannot patch pip", "pip install --force-reinstall wrapt"))
    return [(why, hint) for why, hint in reasons if why]


def other_owner(path: str) -> str:
    """The name of the user who owns `path` where that is not this user ("" if
    it is, or cannot be told)."""
    if sys.platform == "win32":
        return ""
    import pwd

    try:
        uid = os.stat(path).st_uid
        return "" if uid == os.geteuid() else pwd.getpwuid(uid).pw_name
    except (OSError, KeyError):
        return ""


def unlocked_effect(path: str) -> tuple[str, str, str]:
    """Where why_unlockable(path) says a pip here cannot lock `path`: (what
    it does then, in words; its pip_here; the hint that fixes it)."""
    if os.path.isdir(path):  # FileLock: LockUnusable, an error for the user
        return (
            f"pip stops with an ERROR here (every command that locks: pip install, uninstall, {READS})",
            ERROR,
            f"remove or rename the directory {path}, or {ANOTHER_FILE}",
        )
    owner = other_owner(path if os.path.exists(path) else nearest_directory(path))
    if not owner:
        return "pip runs unlocked here", UNLOCKED, ANOTHER_FILE
    if os.path.exists(path):
        return (
            "pip runs unlocked here",
            UNLOCKED,
            f"ask {owner} to make it readable (chmod a+r {path}), or {ANOTHER_FILE}",
        )
    return (
        "pip runs unlocked here",
        UNLOCKED,
        f"ask {owner} to create it once (any pip run of theirs there does, or `touch {path}`: mode 0644 lets "
        f"every user lock it), or {ANOTHER_FILE}",
    )


def read_only_environment(environment: str, override: str | None) -> str:
    """The environment this user may only read, "" where it may write it: its
    site-packages tells, also where PIPLOCKHOOK_LOCKFILE puts the lock elsewhere."""
    if os.access(SITE_PACKAGES, os.W_OK):
        return ""
    return SITE_PACKAGES if override else environment


def read_only_note(environment: str) -> str:
    """The truth for a user who may only read `environment`: reading is locked, writing is the owner's."""
    owner = other_owner(environment) or "the owner"
    return (
        f"this user may only read {environment}: its pip runs that read (pip {READS}) take the shared "
        f"lock (flock works on a read-only descriptor), so they and {owner}'s writers wait for each other; "
        f"writing is {owner}'s (this user's install stops at pip's own permission error)"
    )


def lock_state(path: str, kind: str, label: str, unlockable: str = "", taken_by: str = "pip") -> dict[str, Any]:
    """One lock file as `status --json` shows it under "locks" (`unlockable`:
    why_unlockable(path), asked once by the caller, for our own locks)."""
    found: list[_holders.Holder] = []
    note = ""
    try:
        nofollow = getattr(os, "O_NOFOLLOW", 0) if kind == "uv" else 0  # uv's is in a world-writable dir
        fd = os.open(path, os.O_RDONLY | nofollow)
    except FileNotFoundError:
        note = unlockable
    except OSError as exc:
        note = unlockable or f"cannot open {path}: {exc.strerror}" + (
            " (pip skips uv's lock then)" if kind == "uv" else ""
        )
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
        "taken_by": taken_by,  # which pip runs take it: "pip" (every one here) or "pip --user"
        "exists": os.path.exists(path),
        "note": note,
        "holders": [h.as_dict() for h in found],
    }


def user_installs_allowed(prefix: str = sys.prefix) -> bool:
    """Does pip accept --user here? Not in a virtual environment that hides
    the system site-packages (pip's virtualenv_no_global reads pyvenv.cfg so)."""
    if prefix == getattr(sys, "base_prefix", prefix):
        return True
    try:
        with open(os.path.join(prefix, "pyvenv.cfg"), encoding="utf-8") as f:
            settings = [line.partition("=") for line in f]
    except (OSError, ValueError):
        return False
    return not any(
        key.strip() == "include-system-site-packages" and value.strip() == "false" for key, _, value in settings
    )


WRITING, TO_RESTORE = "writing", "to restore"


def journal_state(lock_path: str, holders: list[dict[str, Any]]) -> tuple[str, str]:
    """(state, line) of the journal beside the lock (issue 28): see EPILOG's journal key."""
    host = host_name()
    kind, writer, line = pending(lock_path + JOURNAL_SUFFIX, host)
    if kind in (NOTICE, UNREADABLE):
        return kind, line
    if kind != JOURNAL:
        return "", ""
    if any(_is_writer(writer, h, host) for h in holders):
        return WRITING, f"{who(writer)} is changing this environment now ({whose(writer, host)})"
    return TO_RESTORE, (
        f"{who(writer)} died while changing this environment ({whose(writer, host)}): the next pip or "
        "piplockhook command to take the lock restores what its journal tells, and says what it cannot"
    )


def _is_writer(writer: Entry, holder: dict[str, Any], host: str) -> bool:
    """Is `holder` (an exclusive one) the journal's writer? (A killed `run -x`'s hold lives on in its command.)"""
    return (
        holder["mode"] == "exclusive"
        and holder["pid"] == writer.get("pid")
        and (holder["host"] or host) == writer.get("host")
    )


def status(settings: Settings, env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Everything `piplockhook status` shows; the keys are the --json format."""
    inactive = _why_inactive(settings, env)
    where = location_for_options(None, settings.lockfile)
    unlockable = why_unlockable(where.path)  # once: a missing file is probed with a scratch file
    ours = lock_state(where.path, "piplockhook", where.environment, unlockable)
    read_only = read_only_environment(where.environment, settings.lockfile)
    if read_only and not unlockable:
        ours["note"] = read_only_note(read_only)
    locks = [ours] + [lock_state(path, "uv", name) for path, name in where.uv_locks]
    if not settings.lockfile and user_installs_allowed():  # the override replaces --user's lock too
        user = user_location()
        locks.append(lock_state(user.path, "piplockhook", user.environment, why_unlockable(user.path), "pip --user"))
    journal, journal_line = journal_state(where.path, ours["holders"])
    hints = [hint for _, hint in inactive]
    if inactive:
        pip_here = UNLOCKED
    elif unlockable:
        _, pip_here, hint = unlocked_effect(where.path)
        hints.append(hint)
    else:
        pip_here = LOCKED
        if not default_enabled():
            hints.append("`piplockhook enable` locks every pip run here, not only those with PIPLOCKHOOK=1")
    return {
        "version": piplockhook.__version__,
        "python": sys.executable,
        "site_packages": SITE_PACKAGES,
        "installed": not startup_problem(),
        "default": "on" if default_enabled() else "off",
        "switch": env.get(SWITCH, ""),
        "active": not inactive,
        "reasons": [why for why, _ in inactive],
        "pip_here": pip_here,
        "hints": hints,
        "locked": not unlockable,  # can a pip here have the lock at all?
        "unlocked_reason": unlockable,
        "environment": where.environment,
        "lock_path": where.path,
        "lock_file_exists": ours["exists"],
        "lock_note": ours["note"],
        "read_only": bool(read_only),
        "holders": ours["holders"],
        "locks": locks,
        "holders_known": _holders.kernel_names_holders(),
        "leftovers": leftovers(),
        "journal": journal,
        "journal_line": journal_line,
    }


def _nobody(kernel_names_holders: bool, kind: str) -> str:
    if kernel_names_holders:
        return "held by: nobody"
    if kind == "uv":
        return "held by: not known on this platform"
    return "held by: no piplockhook process (a uv or flock(1) holder would not show on this platform)"


def _headline(info: dict[str, Any]) -> list[str]:
    """What a pip run here does, each NOT line followed by its hint."""
    hints = [f"  hint: {hint}" for hint in info["hints"]]
    if not info["active"]:
        lines = ["NOT active for pip here (pip runs unlocked):"]
        for why, hint in zip(info["reasons"], hints):
            lines += [f"  - {why}", f"  {hint}"]
        return lines
    if info["pip_here"] != LOCKED:
        does = unlocked_effect(info["lock_path"])[0] if info["pip_here"] == ERROR else "pip runs unlocked here"
        return [f"NOT locked: {info['unlocked_reason']}; {does}", *hints]
    if info["default"] == "off":
        return [
            f"active for this shell's pip runs ({SWITCH}={info['switch']}); the environment's default is off, "
            f"so pip runs without {SWITCH}=1 are NOT locked",
            *hints,
        ]
    return ["active: every pip run in this environment takes the lock"]


def format_status(info: dict[str, Any]) -> str:
    lines = [f"piplockhook {info['version']} in {info['site_packages']}", *_headline(info)]
    lines.append(f"default: {info['default']}")
    for lock in info["locks"]:
        if lock["kind"] == "uv":
            label = f"uv's lock for {lock['for']}"
        else:
            label = "lock" if lock["taken_by"] == "pip" else f"lock of {lock['taken_by']}"
        lines.append(f"{label}: {lock['path']}" + ("" if lock["exists"] else " (not created yet)"))
        if lock["note"] and lock["note"] != info["unlocked_reason"]:
            lines.append(f"  {lock['note']}")
        if lock["holders"]:
            lines.append("held by:")
            lines.extend(f"  {_holders.Holder(**h).describe()}" for h in lock["holders"])
        else:
            lines.append(_nobody(info["holders_known"], lock["kind"]))
    if info["journal"] == NOTICE:
        lines.append(f"NOT known to be whole: {info['journal_line']}")
        lines.append("  hint: `piplockhook verify` clears this once it finds the environment whole")
    elif info["journal"]:
        lines.append(f"journal: {info['journal_line']}")
    if info["leftovers"]:
        lines.append(
            "leftovers of interrupted pip runs (one may be the only copy of a package: "
            "`piplockhook verify` says which, `piplockhook verify --repair` puts them right):"
        )
        lines.extend(f"  {p}" for p in info["leftovers"])
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output (stable keys)")


def main(args: argparse.Namespace, settings: Settings) -> int:
    info = status(settings)
    print(json.dumps(info, indent=2, sort_keys=True) if args.json else format_status(info))
    return EXIT_OK if info["pip_here"] == LOCKED else EXIT_FAILED


COMMAND = Command(
    "status",
    "is the hook active for pip here, who holds the lock",
    main,
    epilog=EPILOG,
    add_arguments=add_arguments,
)
