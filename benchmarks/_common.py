"""Shared setup for the benchmarks: a wheelhouse and fresh venvs with the hook."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))

import packages  # noqa: E402  (the tests' local wheels and sdists)
from procs import Venv  # noqa: E402


def build_wheelhouse(python: str = sys.executable) -> str:
    """This project's wheel, wrapt, and the tests' local distributions; or the
    ready wheelhouse named by PLH_WHEELHOUSE (the test suite passes its own)."""
    if os.environ.get("PLH_WHEELHOUSE"):
        return os.environ["PLH_WHEELHOUSE"]
    house = tempfile.mkdtemp(prefix="plh-bench-wheels-")
    run = lambda *a: subprocess.run([python, "-m", "pip", *a], check=True, capture_output=True)  # noqa: E731
    try:
        run("wheel", "--no-deps", "--no-build-isolation", "-w", house, ROOT)
    except subprocess.CalledProcessError:  # no hatchling here: let pip fetch it
        run("wheel", "--no-deps", "-w", house, ROOT)
    run("download", "--only-binary=:all:", "-d", house, "wrapt")
    packages.build_all(house)
    return house


def add_wrapt_for(house: str, python: str) -> None:
    """Put the wrapt wheel for another interpreter's version into `house`."""
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], check=True, capture_output=True, text=True
    ).stdout.strip()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--only-binary=:all:",
            "--python-version",
            version,
            "-d",
            house,
            "wrapt",
        ],
        check=True,
        capture_output=True,
    )


def make_venv(house: str, python: str = sys.executable, hook: bool = True) -> Venv:
    path = tempfile.mkdtemp(prefix="plh-bench-venv-")
    subprocess.run([python, "-m", "venv", path], check=True)
    venv = Venv(path, house)
    if hook:
        venv.run([venv.python, "-m", "pip", "install", "piplockhook"])
    return venv


def describe_machine(venv: Venv) -> str:
    info = venv.run([venv.python, "-c", "import sys, pip; print(sys.version.split()[0], pip.__version__)"])
    py, pip = info.stdout.split()
    return f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, CPython {py}, pip {pip}"


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.4f} (min {min(values):.4f}, max {max(values):.4f})"


def instructions(argv: list[str], env: dict) -> int | None:
    """Instructions of one run under callgrind, or None without valgrind."""
    if not shutil.which("valgrind"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv],
            env=dict(env, PYTHONHASHSEED="0"),
            check=True,
            capture_output=True,
        )
        with open(out) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    return int(line.split()[1])
    return None


class Switches:
    """Files in site-packages switched on and off by renaming (NAME <-> NAME.off)
    between runs, never during one: one venv measured in several states."""

    def __init__(self, site: str, prepared: dict[str, str]) -> None:
        self.site = site
        for name, content in prepared.items():  # files the venv does not have yet
            with open(os.path.join(site, name + ".off"), "w") as f:
                f.write(content)

    def want(self, name: str, present: bool) -> None:
        path = os.path.join(self.site, name)
        if present and not os.path.exists(path):
            os.rename(path + ".off", path)
        elif not present and os.path.exists(path):
            os.rename(path, path + ".off")
