"""Where the lock of the environment a pip command works on lives."""

from __future__ import annotations

import os
import site
import sys
import sysconfig
from typing import Any, NamedTuple, Optional

LOCK_NAME = ".lock"  # uv's name: `pip` and `uv pip` exclude each other
OWN_LOCK_NAME = ".piplockhook.lock"  # where no environment directory is ours to name


class LockLocation(NamedTuple):
    path: str
    environment: str  # what the messages call the locked environment


def _is_environment_prefix(prefix: str) -> bool:
    # A virtual environment, or a conda environment (conda-meta/ marks one).
    return prefix != getattr(sys, "base_prefix", prefix) or os.path.isdir(
        os.path.join(prefix, "conda-meta")
    )


def environment_lock() -> LockLocation:
    """The lock of the environment this Python runs in."""
    if _is_environment_prefix(sys.prefix):
        return LockLocation(os.path.join(sys.prefix, LOCK_NAME), sys.prefix)
    # A system or base interpreter: keep the lock with its packages, never in
    # a world-writable directory such as /tmp.
    purelib = sysconfig.get_paths()["purelib"]
    return LockLocation(os.path.join(purelib, OWN_LOCK_NAME), purelib)


def _directory_lock(directory: str) -> LockLocation:
    directory = os.path.abspath(os.path.expanduser(directory))
    return LockLocation(os.path.join(directory, LOCK_NAME), directory)


def lock_for_options(options: Any, override: Optional[str] = None) -> LockLocation:
    """The lock a pip command with these parsed options takes.

    `--target DIR` and `--prefix DIR` lock DIR/.lock as uv does; an empty
    `--target ''` (pip's own build-dependency child passes one) is no target.
    """
    if override:
        return LockLocation(override, os.path.dirname(override))
    for option in ("target_dir", "prefix_path", "root_path"):
        directory = getattr(options, option, None)
        if directory:
            return _directory_lock(directory)
    if getattr(options, "use_user_site", False):
        base = site.getuserbase()
        return LockLocation(os.path.join(base, OWN_LOCK_NAME), base)
    return environment_lock()
