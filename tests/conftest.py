"""Session fixtures: this project's wheel, a local wheelhouse, fresh venvs."""

import os
import subprocess
import sys

import pytest

import packages
from procs import LockHolder, Venv, controlled_env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _host_pip(*args, cwd=None):
    # The machine's own pip settings (certificate, find-links) stay in force
    # for fetching our dependencies; only the pips under test are sealed off.
    result = subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )
    if result.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory):
    """Our wheel, wrapt for this Python, and the test distributions."""
    house = str(tmp_path_factory.mktemp("wheelhouse"))
    _host_pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", house, ROOT)
    _host_pip("download", "--only-binary=:all:", "--dest", house, "wrapt")
    packages.build_all(house)
    return house


@pytest.fixture(scope="session")
def make_venv(wheelhouse, tmp_path_factory):
    """make_venv(hook=True) -> a fresh `python -m venv` with our wheel installed."""
    counter = iter(range(10**6))

    def make(hook=True):
        path = str(tmp_path_factory.mktemp(f"venv{next(counter)}"))
        subprocess.run([sys.executable, "-m", "venv", path], check=True, timeout=300,
                       env=controlled_env(wheelhouse))
        venv = Venv(path, wheelhouse)
        if hook:
            venv.run([venv.python, "-m", "pip", "install", "piplockhook"])
        return venv

    return make


@pytest.fixture(scope="module")
def venv(make_venv):
    """One hooked venv shared by a module's tests that leave it as they found it."""
    return make_venv()


@pytest.fixture
def holder(request):
    holders = []

    def make(path):
        h = LockHolder(path)
        holders.append(h)
        return h

    yield make
    for h in holders:
        h.close()


@pytest.fixture
def background():
    """start(venv, *pip_args, **env) -> Background; all killed at teardown."""
    started = []

    def start(venv, *args, **env):
        proc = venv.start_pip(*args, env=venv.env(**env))
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
