"""Which directories ``piplockhook verify`` checks together, and how pip repairs them."""

from __future__ import annotations

import os
import shlex
import sys
import sysconfig
from collections.abc import Sequence


class Scope:
    """Directories of distributions checked together (one ``.dist-info`` per
    project across them), and how pip reinstalls into them."""

    def __init__(
        self, directories: Sequence[str], pip_install: str, search_path: Sequence[str] = (), scripts: str = ""
    ) -> None:
        self.directories = list(dict.fromkeys(directories))
        self.pip_install = pip_install  # "<python> -m pip install [--target DIR --upgrade]"
        self.search_path = [*self.directories, *search_path]  # where entry-point modules may live
        self.is_environment = bool(search_path)
        # Where pip writes console scripts, checked for those no RECORD lists;
        # "" where others write too (a system Python's /usr/local/bin).
        self.scripts = scripts


def environment_directories() -> list[str]:
    """Where pip installs distributions for this interpreter (purelib, platlib)."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys(os.path.realpath(paths[k]) for k in ("purelib", "platlib") if os.path.isdir(paths[k])))


def environment_scope(directories: Sequence[str] | None = None) -> Scope:
    """This interpreter's site-packages: repaired with its own pip; entry
    points may name modules anywhere on its sys.path (editable installs)."""
    found = environment_directories() if directories is None else directories
    scripts = os.path.realpath(sysconfig.get_paths()["scripts"]) if sys.prefix != sys.base_prefix else ""
    return Scope(found, f"{shlex.quote(sys.executable)} -m pip install", [p for p in sys.path if p], scripts)


def target_scope(directory: str) -> Scope:
    """A directory that `pip install --target DIR` fills."""
    return Scope(
        [directory],
        f"{shlex.quote(sys.executable)} -m pip install --target {shlex.quote(directory)} --upgrade",
        scripts=os.path.join(directory, "bin"),  # where pip --target moves them (its home scheme's)
    )


def path_scope(directory: str) -> Scope:
    """``--path DIR``: this environment's own site-packages, or a directory
    repaired as pip's --target fills one."""
    if os.path.realpath(directory) in environment_directories():
        return environment_scope([directory])
    return target_scope(directory)
