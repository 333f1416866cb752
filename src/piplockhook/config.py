"""The switches: environment variables read when pip's command starts."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Mapping, Optional

from piplockhook._gate import OFF_WORDS, ON_WORDS, default_enabled

EXIT_BAD_CONFIG = 2


class ConfigError(Exception):
    """A PIPLOCKHOOK* variable holds a value we cannot use."""

    def __init__(self, variable: str, value: str, expected: str) -> None:
        self.variable = variable
        super().__init__(f"{variable}={value!r} is not valid: expected {expected}")


@dataclass(frozen=True)
class Config:
    enabled: bool
    timeout: Optional[float]  # seconds; None waits as long as it takes
    lockfile: Optional[str]  # overrides the environment's lock path
    debug: bool


def switch(env: Mapping[str, str], name: str) -> Optional[bool]:
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


def parse_timeout(raw: str, variable: str = "PIPLOCKHOOK_TIMEOUT") -> float:
    """Seconds, 0 or more and finite; ConfigError otherwise."""
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (0 <= seconds < math.inf):
        raise ConfigError(variable, raw, "a number of seconds, 0 or more")
    return seconds


def _timeout(env: Mapping[str, str]) -> Optional[float]:
    raw = env.get("PIPLOCKHOOK_TIMEOUT", "").strip()
    return parse_timeout(raw) if raw else None


def _lockfile(env: Mapping[str, str]) -> Optional[str]:
    raw = env.get("PIPLOCKHOOK_LOCKFILE", "")
    if not raw.strip():
        return None
    path = os.path.abspath(os.path.expanduser(raw))
    if os.path.isdir(path):
        raise ConfigError("PIPLOCKHOOK_LOCKFILE", raw, "a file path, not a directory")
    return path


def load(env: Mapping[str, str] = os.environ) -> Config:
    """Read every switch; raise ConfigError for the first bad one."""
    on = switch(env, "PIPLOCKHOOK")
    return Config(
        enabled=default_enabled() if on is None else on,
        timeout=_timeout(env),
        lockfile=_lockfile(env),
        debug=bool(switch(env, "PIPLOCKHOOK_DEBUG")),
    )
