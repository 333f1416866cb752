"""The pip side: what piplockhook knows of pip's commands, and patches into pip.

Here, as pip keeps ``commands_dict`` in ``commands/__init__.py``: which lock
each pip command takes (``COMMAND_LOCKS``, the whole policy in one table) and
pip's ``-q`` count, which sets how quiet our lines are. The modules beside it:
``patches`` (what changes in a pip process; the startup gate's other half),
``command`` (a command under its lock), ``working_set`` (pkg_resources' view),
``importhooks`` (how we patch) and ``wrapt_import`` (wrapt, cheaply).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from piplockhook.lock import EXCLUSIVE, SHARED


class Policy:
    """The locks of one command. (A plain class: a NamedTuple costs every pip
    process a compile at import.)"""

    __slots__ = ("run", "write")

    def __init__(self, run: str | None, write: str | None) -> None:
        self.run = run  # held from the start of the command's run() to its end
        self.write = write  # taken instead while the command changes files

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and (self.run, self.write) == (other.run, other.write)

    def __hash__(self) -> int:
        return hash((self.run, self.write))

    def __repr__(self) -> str:
        return f"Policy(run={self.run!r}, write={self.write!r})"


NO_LOCK = Policy(None, None)
READ = Policy(SHARED, None)

COMMAND_LOCKS = {
    # command      run       write: release `run`, then take this one
    "install": Policy(SHARED, EXCLUSIVE),
    "uninstall": Policy(EXCLUSIVE, None),
    "list": READ,
    "freeze": READ,
    "show": READ,
    "check": READ,
    "inspect": READ,
    "search": READ,  # marks the versions installed here (the index side is gone from PyPI)
    "download": NO_LOCK,
    "wheel": NO_LOCK,
    "hash": NO_LOCK,
    "cache": NO_LOCK,
    "config": NO_LOCK,
    "debug": NO_LOCK,
    "help": NO_LOCK,
    "index": NO_LOCK,
    "completion": NO_LOCK,
    "lock": NO_LOCK,
}
UNKNOWN_COMMAND = READ  # a pip command this table does not know yet


def policy_for(command: str, *, dry_run: bool = False, can_escalate: bool = True) -> Policy:
    """The lock policy of one pip command run."""
    policy = COMMAND_LOCKS.get(command, UNKNOWN_COMMAND)
    if policy.write is None:
        return policy
    if dry_run:  # `install --dry-run` writes nothing
        return READ
    if not can_escalate:
        # The pip internal where writing starts was not found: hold the
        # stronger mode all along (more locking, never less).
        return Policy(policy.write, None)
    return policy


def takes_lock(command: str) -> bool:
    """Does this pip command take a lock at all?"""
    return COMMAND_LOCKS.get(command, UNKNOWN_COMMAND).run is not None


def writes(command: str) -> bool:
    """Does this pip command change files in the environment (install, uninstall)?"""
    policy = COMMAND_LOCKS.get(command, UNKNOWN_COMMAND)
    return policy.write is not None or policy.run == EXCLUSIVE


def quiet_of(options: Any) -> int:
    """pip's -q count (`-qq` is 2), from its parsed options."""
    quiet = getattr(options, "quiet", 0)
    return quiet if isinstance(quiet, int) else 0


def quiet_from_argv(argv: Sequence[str]) -> int:
    """pip's -q count before its options are parsed (pkg_resources' import)."""
    count = 0
    for arg in argv[1:]:
        if arg == "--":
            break
        if arg == "--quiet":
            count += 1
        elif arg.startswith("-") and not arg.startswith("--") and set(arg[1:]) == {"q"}:
            count += len(arg) - 1
    return count
