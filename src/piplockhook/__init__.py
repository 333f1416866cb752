"""piplockhook: every pip run in an environment takes that environment's lock.

This is also the startup gate, run from ``piplockhook.pth`` when argv[0]
looks like pip. ``start`` is also ready to be a PEP 829 ``piplockhook.start``
entry (``piplockhook:start``), which CPython would import and call in every
process: so nothing costly is imported here. Only ``sys`` and ``os``
(already loaded by ``site``) are used, and nothing else of piplockhook is
imported unless this process is pip.
"""

from __future__ import annotations

import os
import sys

__version__ = "0.1.0"

_started = False  # the gate ran here: CPython <= 3.14 runs .pth lines twice in venvs (cpython#75723)


def _basename(path: str) -> str:
    name = path.replace("\\", "/").rpartition("/")[2]
    return name[:-4] if name.lower().endswith(".exe") else name


def _command_line() -> list[str]:
    orig = getattr(sys, "orig_argv", None)  # 3.10+
    if orig is not None:
        return [str(a) for a in orig]
    try:  # 3.9: the kernel's copy of the command line (Linux)
        with open("/proc/self/cmdline", "rb") as f:
            return [os.fsdecode(a) for a in f.read().split(b"\0")[:-1]]
    except OSError:
        return []


def _module_of_dash_m(argv: list[str], cmdline: list[str]) -> str:
    # While site runs, `python -m MOD args` shows sys.argv == ['-m', 'args'...]:
    # the token before the script arguments is MOD, '-mMOD' or '-ImMOD'.
    if len(cmdline) < len(argv):
        return ""
    token = cmdline[len(cmdline) - len(argv)]
    if token.startswith("-"):
        token = token[token.find("m") + 1 :]
    return token


def is_pip_starting(argv: list[str], cmdline: list[str]) -> bool:
    """Is this process pip: ``pip``, ``pip3``, ``pip3.N``, ``python -m pip``
    (and ``pip.*``) or pip's own ``__pip-runner__.py``?"""
    if not argv:
        return False
    if argv[0] == "-m":
        module = _module_of_dash_m(argv, cmdline)
        return module == "pip" or module.startswith("pip.")
    name = _basename(argv[0])
    if name in ("pip", "pip3", "__pip-runner__.py"):
        return True
    return name.startswith("pip3.") and name[5:].isdigit()


def start() -> None:
    """Patch pip if this process is pip and the hook is on. Never raises."""
    global _started
    try:
        argv = sys.argv
        if not is_pip_starting(argv, _command_line() if argv[:1] == ["-m"] else []):
            return
        if _started:
            return
        _started = True
        from piplockhook import settings  # only now: this process is pip

        if not settings.hook_wanted(os.environ):
            return
        from piplockhook.pip import patches

        patches.install()
    except Exception as exc:  # never break a Python start
        _say_inactive(exc)


def _say_inactive(exc: Exception) -> None:
    try:
        from piplockhook import settings

        if settings.debug_wanted(os.environ):
            sys.stderr.write(f"piplockhook: not active: {exc!r}\n")
    except Exception:  # a broken install: nothing more to say without breaking Python
        return
