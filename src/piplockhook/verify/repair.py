"""The repairs ``verify --repair`` makes itself: a stash moved back (a file in
pip's temporary folder copied back), a stash or an unfinished ``.dist-info`` removed. Nothing else: a reinstall needs pip and
the wheel, and the user runs it (the Problem's ``repair`` line says how).

An Action is one step; a Problem holds the steps that repair it, in order,
and ``command`` gives the same steps as the shell line a user may paste.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from typing import NamedTuple

REMOVE = "remove"
MOVE = "move"
COPY = "copy"  # from pip's temporary folder: its stash may be a live pip's of another environment


class Action(NamedTuple):
    verb: str  # REMOVE, MOVE or COPY
    path: str
    to: str = ""  # MOVE, COPY: where it goes back

    def command(self) -> str:
        """The step as a shell command (cmd.exe's on Windows)."""
        if sys.platform == "win32":
            if self.verb in (MOVE, COPY):
                return f'{self.verb} "{self.path}" "{self.to}"'
            return f'rmdir /s /q "{self.path}"' if os.path.isdir(self.path) else f'del "{self.path}"'
        if self.verb in (MOVE, COPY):
            program = "mv" if self.verb == MOVE else "cp -p"
            return f"{program} {shlex.quote(self.path)} {shlex.quote(self.to)}"
        return f"rm -rf {shlex.quote(self.path)}"


def command(actions: Sequence[Action]) -> str:
    return " && ".join(a.command() for a in actions)


class RepairError(Exception):
    """A step could not be made: nothing after it was tried."""


def apply(actions: Sequence[Action]) -> None:
    """Make `actions` in order (the caller holds the exclusive lock). A move
    never replaces anything: its target was removed by an earlier step, or
    never existed; if something is there now, the move is refused."""
    for action in actions:
        try:
            if action.verb == MOVE:
                if os.path.lexists(action.to):
                    raise RepairError(f"{action.to} exists: {action.path} was not moved back over it")
                os.rename(action.path, action.to)  # beside it: one atomic rename, as pip's own rollback
            elif action.verb == COPY:
                if os.path.lexists(action.to):
                    raise RepairError(f"{action.to} exists: {action.path} was not copied over it")
                shutil.copy2(action.path, action.to)
            elif os.path.isdir(action.path) and not os.path.islink(action.path):
                shutil.rmtree(action.path)
            elif os.path.lexists(action.path):
                os.remove(action.path)
        except OSError as exc:
            raise RepairError(f"{action.command()}: {exc.strerror or exc}") from None
