"""Windows processes for the Windows tier: the official embeddable CPython 3.13
under Wine (.ci/wine builds it), driven from pytest on the host.

Paths are host paths on this side; a Windows process sees the same file as
``Z:\\<path>`` (winpath). Standard streams are always pipes: Wine hands a
python.exe an invalid handle for a regular file.
"""

import os
import re
import shlex
import shutil
import subprocess

import stress
from packages import DEMO
from procs import TIMEOUT, Background, LockHolder, controlled_env

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get("PLH_WINE_CACHE", "/var/tmp/piplockhook-wine")
WINE = os.environ.get("PLH_WINE", "/usr/lib/wine/wine64")
# Wine with the address space laid out the same every time (setarch -R:
# ADDR_NO_RANDOMIZE, which the Windows programs it starts inherit). Debian's
# wine64 8 has no preloader to keep free the addresses Windows needs: with the
# kernel's randomization, about one start in 2000 found its heap where Wine
# maps the shared user data (0x7ffe0000), or failed to load ws2_32, and exited
# 1 having printed nothing (Wine says why on its err channel, silenced here).
WINE_ARGV = ["setarch", os.uname().machine, "-R", WINE]
BASE = os.path.join(CACHE, "python")  # the pip-capable embeddable interpreter
TOOLS = os.path.join(CACHE, "tools")  # virtualenv and its dependencies, unpacked
# No Mono or Gecko prompts; no winedbg: a Windows program that crashes exits
# instead of waiting in Wine's debugger with the test's pipes open.
DLL_OVERRIDES = "mscoree,mshtml=;winedbg.exe=d"


def winpath(path):
    return "Z:" + os.path.abspath(path).replace("/", "\\")


def wine_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PIPLOCKHOOK", "SSL_CERT_", "REQUESTS_CA"))}
    env.update(WINEDEBUG="-all", WINEPREFIX=os.path.join(CACHE, "prefix"), WINEDLLOVERRIDES=DLL_OVERRIDES)
    env.pop("DISPLAY", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


# What a broken run prints on Windows beyond stress.OUTPUT_PROBLEMS: a file gone
# ([WinError 2]/[WinError 3]), one another pip holds open ([WinError 32], access denied).
WINDOWS_PROBLEMS = {
    **stress.OUTPUT_PROBLEMS,
    "no-such-file": re.compile(
        r"No such file or directory|FileNotFoundError|WinError [23]\]|cannot find the (file|path)"
    ),
    "file-in-use": re.compile(r"WinError (5|32)\]|PermissionError|being used by another process"),
}


# Exit 1 with nothing printed at all is no failure of pip, python.exe or
# ours: under Wine it is a Windows program that Wine could not start (its
# reason goes to Wine's err channel, which WINEDEBUG=-all silences: see
# WINE_ARGV for the one found), or whose wineserver went away under it
# (`wineserver -k` by another user of the prefix: .ci/wine lets one use a
# cache at a time). It is not run again: the failure says so.
SILENT_EXIT = (
    "exit 1 with no output at all: Wine could not start it (WINEDEBUG=err+all shows why), "
    "or the Wine server ended under it (wineserver -k, or killed)"
)


def silent_exit(result):
    return result.returncode == 1 and not result.stdout and not result.stderr


class WineBackground(Background):
    """A Windows program in the background; a line that never came is told with
    what Wine runs at that moment (which programs, in which kernel wait)."""

    def state(self, timeout):
        ps = subprocess.run(
            ["ps", "-eo", "pid,ppid,stat,wchan:24,etime,args"], capture_output=True, text=True, timeout=30
        ).stdout.splitlines()
        wine = [line for line in ps[1:] if re.search(r"wine|\\.exe\b", line, re.IGNORECASE)]
        return super().state(timeout) + "; Wine's processes then:\n" + "\n".join([ps[0], *wine] if ps else [])


class WindowsProcesses(stress.Processes):
    """The race driver's operations as Windows processes under Wine."""

    problems = WINDOWS_PROBLEMS

    def argv(self, label, args, hook):
        win = self.venv
        if args is None:  # an import that checks every file of the installed version is there
            check = [
                winpath(win.python),
                "-c",
                f"try:\n import {DEMO}\nexcept ModuleNotFoundError:\n pass\nelse:\n {DEMO}.verify()",
            ]
            return [win.exe("piplockhook.exe"), "run", "-s", "--", *check] if hook else [win.python, *check[1:]]
        return [win.exe("pip.exe"), *args]

    def run(self, argv, env):
        return self.venv.run(argv, env=env, check=False, timeout=stress.OP_TIMEOUT)

    def verify(self):
        return self.venv.cli("verify", "--json", timeout=stress.OP_TIMEOUT)

    def pip_check(self):
        return self.venv.pip("check", env=self.venv.env(PIPLOCKHOOK="0"), check=False)

    def remove(self, path):
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


class WinPython:
    """A Windows interpreter under Wine: `kind` "system" (the interpreter's own
    site-packages, as a python.org install) or "venv" (a virtualenv made on
    Windows from such an interpreter)."""

    def __init__(self, path, wheelhouse, kind, base=None):
        self.path = path
        self.kind = kind
        self.wheelhouse = wheelhouse
        self.base = base  # the interpreter a venv was made from
        if kind == "venv":
            self.scripts = os.path.join(path, "Scripts")
            self.python = os.path.join(self.scripts, "python.exe")
            self.site_packages = os.path.join(path, "Lib", "site-packages")
            self.lock_path = os.path.join(path, ".lock")
        else:
            self.scripts = os.path.join(path, "Scripts")
            self.python = os.path.join(path, "python.exe")
            self.site_packages = os.path.join(path, "Lib", "site-packages")
            self.lock_path = os.path.join(self.site_packages, ".piplockhook.lock")

    def env(self, **extra):
        env = controlled_env(winpath(self.wheelhouse), **extra)
        return {**wine_env(), **{k: v for k, v in env.items() if k.startswith(("PIP_", "PIPLOCKHOOK", "PYTHON"))}}

    def argv(self, args):
        return [*WINE_ARGV, *args]

    def run(self, args, env=None, timeout=TIMEOUT, check=True):
        result = self._completed(self.argv(args), env, timeout)
        if check and result.returncode != 0:
            why = f" ({SILENT_EXIT})" if silent_exit(result) else ""
            raise AssertionError(f"{args} exited {result.returncode}{why}\n{result.stdout}\n{result.stderr}")
        return result

    def run_in_pty(self, args, env=None, timeout=TIMEOUT):
        """Run under a pseudo-terminal (`script`), its output and errors as one
        stream in .stdout: a Windows process without a terminal may hand its
        own children invalid standard handles under Wine (they exit 1 silently)."""
        return self._completed(["script", "-qfec", shlex.join(self.argv(args)), "/dev/null"], env, timeout)

    def _completed(self, argv, env, timeout):
        """One run to its end, in this interpreter's folder, its streams pipes."""
        return subprocess.run(
            argv,
            env=env or self.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.path,
        )

    def exe(self, name):
        return os.path.join(self.scripts, name)

    def pip(self, *args, env=None, check=True, timeout=TIMEOUT, program="pip.exe"):
        return self.run([self.exe(program), *args], env=env, check=check, timeout=timeout)

    def py(self, *args, env=None, check=True, timeout=TIMEOUT):
        return self.run([self.python, *args], env=env, check=check, timeout=timeout)

    def stress_processes(self):
        """How tests/support/stress.py runs its operations here."""
        return WindowsProcesses(self)

    def cli(self, *args, env=None, check=False, timeout=TIMEOUT):
        return self.run([self.exe("piplockhook.exe"), *args], env=env, check=check, timeout=timeout)

    def start(self, args, env=None):
        return WineBackground(self.argv(args), env or self.env())

    def start_pip(self, *args, env=None, program="pip.exe"):
        return self.start([self.exe(program), *args], env)

    def installed(self):
        out = self.pip("list", "--format=freeze", env=self.env(PIPLOCKHOOK="0")).stdout
        return dict(line.split("==") for line in out.split() if "==" in line)

    def probe(self, path):
        """How another Windows process holds `path` right now: free, shared, exclusive."""
        return self.py(os.path.join(HERE, "winholder.py"), winpath(path), "probe").stdout.strip()


def make_system(path, wheelhouse):
    shutil.copytree(BASE, path, symlinks=True)
    interpreter = WinPython(path, wheelhouse, "system")
    # pip again too: its .exe launchers name the python.exe they were made for.
    interpreter.py(
        "-m", "pip", "install", "--no-warn-script-location", "--force-reinstall", "pip", "piplockhook", timeout=300
    )
    return interpreter


def make_venv(path, base_path, wheelhouse):
    """A virtualenv (`--always-copy`: Wine's symlinks are not Windows' own) of
    a copy of the embeddable interpreter, which has no `venv` module."""
    shutil.copytree(BASE, base_path, symlinks=True)
    base = WinPython(base_path, wheelhouse, "system")
    create = (
        "import sys; sys.path.insert(0, sys.argv.pop(1)); "
        "from virtualenv.__main__ import run_with_catch; run_with_catch()"
    )
    base.py(
        "-c",
        create,
        winpath(TOOLS),
        "--always-copy",
        "--no-download",
        "--no-periodic-update",
        winpath(path),
        timeout=300,
    )
    venv = WinPython(path, wheelhouse, "venv", base=base)
    venv.py("-m", "pip", "install", "piplockhook", timeout=300)
    return venv


class WinHolder(LockHolder):
    """Holds a lock file from another Windows process (winholder.py)."""

    WHO = "Windows lock holder"
    ANSWER_SECONDS = 60
    QUIT_SECONDS = 20

    def __init__(self, interpreter, path):
        args = interpreter.argv([interpreter.python, os.path.join(HERE, "winholder.py"), winpath(path)])
        super().__init__(path, args, wine_env())
        self.expect("ready", stream="stdout", timeout=60)
