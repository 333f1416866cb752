"""What the environment says: the switches, and where its lock lives.

Every ``PIPLOCKHOOK*`` variable is read here and nowhere else: the pip hook
(``load`` when pip's command starts), ``piplockhook run``, ``status`` and
``check`` all ask this module, so a value means the same thing everywhere.
``lock_for_options`` says which file a pip command locks. Stdlib only and
cheap to import: the startup gate asks ``hook_wanted`` in every pip process.
"""

from __future__ import annotations

import math
import os
import site
import sys
import sysconfig
from collections.abc import Mapping
from typing import Any

OFF_WORDS = ("0", "off", "false", "no")
ON_WORDS = ("1", "on", "true", "yes")
# The environment's default is "on"; ``piplockhook disable`` writes this file
# beside the .pth (site-packages) to make it "off" (PIPLOCKHOOK=1 opts back in).
DISABLED_MARKER = "piplockhook.disabled"
SITE_PACKAGES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXIT_BAD_CONFIG = 2

SWITCH = "PIPLOCKHOOK"
TIMEOUT = "PIPLOCKHOOK_TIMEOUT"
LOCKFILE = "PIPLOCKHOOK_LOCKFILE"
DEBUG = "PIPLOCKHOOK_DEBUG"
UV_LOCK_TIMEOUT = "UV_LOCK_TIMEOUT"  # uv's own: how long uv waits for a lock before it goes on without
UV_LOCK_TIMEOUT_DEFAULT = 300.0  # uv's default


class ConfigError(Exception):
    """A PIPLOCKHOOK* variable (or the matching option) holds a value we cannot use."""

    def __init__(self, variable: str, value: str, expected: str) -> None:
        self.variable = variable
        super().__init__(f"{variable}={value!r} is not valid: expected {expected}")


class Config:
    """Every switch of one pip run, validated."""

    __slots__ = ("debug", "enabled", "lockfile", "timeout", "uv_timeout")

    def __init__(
        self, enabled: bool, timeout: float | None, lockfile: str | None, debug: bool, uv_timeout: float
    ) -> None:
        self.enabled = enabled
        self.timeout = timeout  # seconds; None waits as long as it takes
        self.lockfile = lockfile  # overrides the environment's lock path
        self.debug = debug
        self.uv_timeout = uv_timeout  # seconds to wait for uv's own lock file, as uv does


def disabled_marker(site: str = SITE_PACKAGES) -> str:
    return os.path.join(site, DISABLED_MARKER)


def default_enabled(site: str = SITE_PACKAGES) -> bool:
    """The environment's default, set by ``piplockhook enable/disable``."""
    return not os.path.exists(disabled_marker(site))


def opted_out(env: Mapping[str, str]) -> bool:
    """PIPLOCKHOOK holds an off word: this run is opted out."""
    return env.get(SWITCH, "").strip().lower() in OFF_WORDS


def hook_wanted(env: Mapping[str, str]) -> bool:
    """Should a starting pip be hooked? Any word that is not an off word goes
    on, valid or not: a bad value is reported when pip's command starts (a
    .pth line cannot exit cleanly)."""
    if opted_out(env):
        return False
    return bool(env.get(SWITCH, "").strip()) or default_enabled()


def switch(env: Mapping[str, str], name: str) -> bool | None:
    """An on/off word from `env` (None when unset or empty); ConfigError otherwise."""
    raw = env.get(name, "")
    word = raw.strip().lower()
    if not word:  # an empty value means unset
        return None
    if word in ON_WORDS:
        return True
    if word in OFF_WORDS:
        return False
    raise ConfigError(name, raw, "one of " + ", ".join(ON_WORDS + OFF_WORDS))


def parse_timeout(raw: str, variable: str = TIMEOUT) -> float:
    """Seconds, 0 or more and finite; ConfigError otherwise."""
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (0 <= seconds < math.inf):
        raise ConfigError(variable, raw, "a number of seconds, 0 or more")
    return seconds


def parse_lockfile(raw: str, variable: str = LOCKFILE) -> str | None:
    """An absolute lock path (``~`` expanded, relative to the working
    directory, symlinks kept as named); None when empty."""
    if not raw.strip():
        return None
    path = os.path.abspath(os.path.expanduser(raw))
    if os.path.isdir(path):
        raise ConfigError(variable, raw, "a file path, not a directory")
    return path


def timeout(env: Mapping[str, str]) -> float | None:
    raw = env.get(TIMEOUT, "").strip()
    return parse_timeout(raw) if raw else None


def lockfile(env: Mapping[str, str]) -> str | None:
    return parse_lockfile(env.get(LOCKFILE, ""))


def debug(env: Mapping[str, str]) -> bool:
    return bool(switch(env, DEBUG))


def uv_timeout(env: Mapping[str, str]) -> float:
    """UV_LOCK_TIMEOUT as uv reads it: whole seconds; any other value means
    uv's default there (measured with uv 0.13.9), and never stops pip."""
    raw = env.get(UV_LOCK_TIMEOUT, "")
    return float(raw) if raw.isascii() and raw.isdigit() else UV_LOCK_TIMEOUT_DEFAULT


def load(env: Mapping[str, str] = os.environ) -> Config:
    """Read every switch; raise ConfigError for the first bad one."""
    on = switch(env, SWITCH)
    return Config(
        enabled=default_enabled() if on is None else on,
        timeout=timeout(env),
        lockfile=lockfile(env),
        debug=debug(env),
        uv_timeout=uv_timeout(env),
    )


# -- where the lock lives

LOCK_NAME = ".lock"  # uv's name: `pip` and `uv pip` exclude each other
OWN_LOCK_NAME = ".piplockhook.lock"  # where no environment directory is ours to name


class LockLocation:
    """A lock file and the environment it guards (a plain class, as Policy)."""

    __slots__ = ("environment", "path", "uv_locks")

    def __init__(self, path: str, environment: str, uv_locks: tuple[tuple[str, str], ...] = ()) -> None:
        self.path = path
        self.environment = environment  # what the messages call the locked environment
        # uv's own lock files for this interpreter, taken after `path`: (path, the name uv knows it by)
        self.uv_locks = uv_locks

    @property
    def uv_paths(self) -> tuple[str, ...]:
        return tuple(path for path, _ in self.uv_locks)


def _is_environment_prefix(prefix: str) -> bool:
    # A virtual environment, or a conda environment (conda-meta/ marks one).
    return prefix != getattr(sys, "base_prefix", prefix) or os.path.isdir(os.path.join(prefix, "conda-meta"))


def _uv_locks() -> tuple[tuple[str, str], ...]:
    # uv locks <venv>/.lock in a virtual environment (ours too), and a file
    # in the temp dir for every other interpreter, conda's included.
    if sys.prefix != getattr(sys, "base_prefix", sys.prefix):
        return ()
    from piplockhook import uvlock  # only here: a venv's pips never import it

    return tuple(uvlock.interpreter_locks())


def environment_lock(override: str | None = None) -> LockLocation:
    """The lock of the environment this Python runs in (`override`: the
    PIPLOCKHOOK_LOCKFILE in its place; uv's files stay)."""
    if override:
        where = LockLocation(override, os.path.dirname(override))
    elif _is_environment_prefix(sys.prefix):
        where = LockLocation(os.path.join(sys.prefix, LOCK_NAME), sys.prefix)
    else:
        # A system or base interpreter: keep the lock with its packages, never
        # in a world-writable directory such as /tmp (uv's file there is uv's).
        purelib = sysconfig.get_paths()["purelib"]
        where = LockLocation(os.path.join(purelib, OWN_LOCK_NAME), purelib)
    where.uv_locks = _uv_locks()
    return where


def _directory_lock(directory: str) -> LockLocation:
    directory = os.path.abspath(os.path.expanduser(directory))
    return LockLocation(os.path.join(directory, LOCK_NAME), directory)


def lock_for_options(options: Any, override: str | None = None) -> LockLocation:
    """The lock a pip command with these parsed options takes.

    `--target DIR` and `--prefix DIR` lock DIR/.lock as uv does; an empty
    `--target ''` (pip's own build-dependency child passes one) is no target.
    """
    elsewhere = None
    for option in ("target_dir", "prefix_path", "root_path"):
        directory = getattr(options, option, None)
        if directory:
            elsewhere = _directory_lock(directory)
            break
    if elsewhere is None and getattr(options, "use_user_site", False):
        base = site.getuserbase()
        elsewhere = LockLocation(os.path.join(base, OWN_LOCK_NAME), base)
    if elsewhere is None:
        return environment_lock(override)
    if override:  # not this interpreter's packages: uv would lock no file of its own here
        return LockLocation(override, os.path.dirname(override))
    return elsewhere
