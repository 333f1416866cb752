"""The settings: every ``PIPLOCKHOOK*`` variable, read by one reader.

pip's hook, ``piplockhook run``, ``verify``, ``status``, ``check``, ``enable``
and ``disable`` all call ``read``: the same variable and value mean the same
thing everywhere and a bad one gives the same ``ConfigError`` text. A command
line option (``--timeout``, ``--lockfile``) is read by the same parser and
wins over its variable. Also read here: the environment's default (the
``piplockhook.disabled`` marker that ``piplockhook disable`` writes, see
cli/default.py). Stdlib only and cheap to import: the startup gate asks
``hook_wanted`` in every pip process.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence

OFF_WORDS = ("0", "off", "false", "no")
ON_WORDS = ("1", "on", "true", "yes")
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
        self.value = value
        self.expected = expected
        super().__init__(f"{variable}={value!r} is not valid: expected {expected}")


class Settings:
    """Every setting of one run, validated."""

    __slots__ = ("debug", "enabled", "lockfile", "opted_out", "timeout", "timeout_source", "uv_timeout")

    def __init__(
        self,
        *,
        enabled: bool,
        opted_out: bool = False,
        timeout: float | None = None,
        timeout_source: str = TIMEOUT,
        lockfile: str | None = None,
        debug: bool = False,
        uv_timeout: float = UV_LOCK_TIMEOUT_DEFAULT,
    ) -> None:
        self.enabled = enabled  # PIPLOCKHOOK, else the environment's default
        self.opted_out = opted_out  # PIPLOCKHOOK holds an off word
        self.timeout = timeout  # seconds; None waits as long as it takes
        self.timeout_source = timeout_source  # "--timeout" or PIPLOCKHOOK_TIMEOUT, for the message
        self.lockfile = lockfile  # overrides the environment's lock path
        self.debug = debug
        self.uv_timeout = uv_timeout  # seconds to wait for uv's own lock file, as uv does


# -- the parsers, one per kind of value


def parse_switch(raw: str, variable: str) -> bool | None:
    """An on/off word (None when empty: unset); ConfigError otherwise."""
    word = raw.strip().lower()
    if not word:
        return None
    if word in ON_WORDS:
        return True
    if word in OFF_WORDS:
        return False
    raise ConfigError(variable, raw, "one of " + ", ".join(ON_WORDS + OFF_WORDS))


def parse_timeout(raw: str, variable: str = TIMEOUT) -> float | None:
    """Seconds, 0 or more and finite (None when empty); ConfigError otherwise."""
    if not raw.strip():
        return None
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
    if os.path.isdir(path) or _names_a_directory(raw):
        raise ConfigError(variable, raw, "a file path, not a directory")
    return path


def _names_a_directory(raw: str) -> bool:
    """``dir/``, ``dir/.``, ``..``: a directory whether or not it exists yet
    (abspath would drop the ending and lock a file named ``dir``)."""
    path = raw.replace(os.altsep, os.sep) if os.altsep else raw
    return path.rsplit(os.sep, 1)[-1] in ("", ".", "..")


def parse_uv_timeout(raw: str) -> float:
    """UV_LOCK_TIMEOUT as uv reads it: whole seconds; any other value means
    uv's default there (measured with uv 0.13.9), and never stops pip."""
    return float(raw) if raw.isascii() and raw.isdigit() else UV_LOCK_TIMEOUT_DEFAULT


# -- the reader


def read(
    env: Mapping[str, str] = os.environ, *, timeout_option: str | None = None, lockfile_option: str | None = None
) -> Settings:
    """Every setting; ConfigError for the first bad one (the switch first)."""
    on = parse_switch(env.get(SWITCH, ""), SWITCH)
    debug = bool(parse_switch(env.get(DEBUG, ""), DEBUG))
    if timeout_option is not None:
        timeout, timeout_source = parse_timeout(timeout_option, "--timeout"), "--timeout"
    else:
        timeout, timeout_source = parse_timeout(env.get(TIMEOUT, "")), TIMEOUT
    if lockfile_option is not None:
        lockfile = parse_lockfile(lockfile_option, "--lockfile")
    else:
        lockfile = parse_lockfile(env.get(LOCKFILE, ""))
    return Settings(
        enabled=default_enabled() if on is None else on,
        opted_out=on is False,
        timeout=timeout,
        timeout_source=timeout_source,
        lockfile=lockfile,
        debug=debug,
        uv_timeout=parse_uv_timeout(env.get(UV_LOCK_TIMEOUT, "")),
    )


def debug_wanted(env: Mapping[str, str] = os.environ) -> bool:
    """PIPLOCKHOOK_DEBUG alone, for lines written before the settings are read
    (a bad value counts as off here: it is reported when they are)."""
    try:
        return bool(parse_switch(env.get(DEBUG, ""), DEBUG))
    except ConfigError:
        return False


def hook_wanted(env: Mapping[str, str], argv: Sequence[str] | None = None) -> bool:
    """Should a starting pip be hooked? Any word that is not an off word goes
    on, valid or not: a bad value is reported when pip's command starts (a
    .pth line cannot exit cleanly). Where the hook is off (the default here,
    or PIPLOCKHOOK=0), an install is hooked all the same, unlocked: it may
    upgrade piplockhook, and the hook keeps the default across that."""
    word = env.get(SWITCH, "").strip().lower()
    if word and word not in OFF_WORDS:
        return True
    if default_enabled():
        return not word
    return "install" in (sys.argv if argv is None else argv)


# -- the environment's default


def disabled_marker(site: str = SITE_PACKAGES) -> str:
    return os.path.join(site, DISABLED_MARKER)


def default_enabled(site: str = SITE_PACKAGES) -> bool:
    """The environment's default, set by ``piplockhook enable/disable``."""
    return not os.path.exists(disabled_marker(site))


def our_record(site: str = SITE_PACKAGES) -> str | None:
    """The RECORD of piplockhook's dist-info in `site` (None: not installed there)."""
    try:
        entries = sorted(os.listdir(site))
    except OSError:
        return None
    for entry in entries:
        if entry.lower().startswith("piplockhook-") and entry.endswith(".dist-info"):
            return os.path.join(site, entry, "RECORD")
    return None


def set_default(enabled: bool, site: str = SITE_PACKAGES) -> str:
    """Write (off) or remove (on) the marker; return its path. The marker is
    listed in our RECORD while it exists, so `pip uninstall piplockhook`
    removes it and a reinstall starts on (the default lives and dies with
    the package; the pip hook writes it again after an upgrade, see
    pip/patches.py). OSError when it cannot be changed. Needs no import: it
    runs in a pip that is replacing our files."""
    marker = disabled_marker(site)
    record_path = our_record(site)
    row = DISABLED_MARKER + ",,"
    rows: list[str] = []
    if record_path is not None:
        with open(record_path, encoding="utf-8") as f:
            rows = [line for line in f.read().splitlines() if line and line != row]
    if not enabled:
        rows.append(row)
    # A RECORD row for a missing file is harmless to pip; a marker no RECORD
    # lists would outlive the package: so the row goes in first, out last.
    if enabled:
        try:
            os.remove(marker)
        except FileNotFoundError:
            pass
    if record_path is not None:
        with open(record_path, "w", encoding="utf-8", newline="") as f:
            f.write("".join(line + "\n" for line in rows))
    if not enabled:
        with open(marker, "w", encoding="utf-8") as f:
            f.write("piplockhook is off by default here; `piplockhook enable` or PIPLOCKHOOK=1 turns it on.\n")
    return marker
