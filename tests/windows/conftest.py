"""The Windows tier (`.ci/wine test`): real Windows pips under Wine.

Collected only when .ci/wine runs it (PLH_TIER=windows, an explicit switch:
PLH_WINE_CACHE alone, a cache path, does not make the main suite collect it),
and test_win_uv.py only when .ci/sid uvwine does (PLH_TIER=windows-uv). Fixtures: a wheelhouse for Windows, and each module's
interpreter of both kinds ("system": the interpreter's own site-packages;
"venv": a virtualenv made on Windows).
"""

import glob
import os
import shutil
import subprocess
import sys

import packages
import pytest
import winpackages
from fixtures import restore_site

# PLH_TIER=windows-uv (.ci/sid uvwine, Wine 10) collects only test_win_uv.py:
# uv.exe does not start under the Windows tier's Wine 8.
TIER = os.environ.get("PLH_TIER")
if TIER == "windows":
    collect_ignore_glob = ["test_win_uv.py"]
elif TIER == "windows-uv":
    collect_ignore_glob = ["test_win_[!u]*.py", "test_win_u[!v]*.py"]
else:
    collect_ignore_glob = ["test_*.py"]
if TIER in ("windows", "windows-uv"):
    from winprocs import CACHE, WinHolder, make_system, make_venv

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def win_wheelhouse(tmp_path_factory):
    """Our wheel, the Windows wheels .ci/wine fetched (pip, wrapt's win_amd64),
    and the test distributions (tests/support/packages.py)."""
    house = str(tmp_path_factory.mktemp("win-wheelhouse"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            house,
            ROOT,
        ],
        check=True,
        timeout=300,
    )
    for wheel in glob.glob(os.path.join(CACHE, "wheels", "*.whl")):
        if os.path.basename(wheel).startswith(("pip-", "wrapt-")):
            shutil.copy(wheel, house)
    packages.build_all(house)
    winpackages.build_all(house)
    return house


@pytest.fixture(scope="module", params=["system", "venv"])
def winpy(request, win_wheelhouse, tmp_path_factory):
    """The module's Windows interpreter with our wheel: each kind in turn."""
    folder = tmp_path_factory.mktemp(f"win-{request.param}")
    if request.param == "system":
        return make_system(str(folder / "python"), win_wheelhouse)
    return make_venv(str(folder / "venv"), str(folder / "base"), win_wheelhouse)


@pytest.fixture
def win(winpy):
    """The module's interpreter, its distributions put back when the test ends."""
    before = set(os.listdir(winpy.site_packages))
    yield winpy
    after = set(os.listdir(winpy.site_packages))
    if after != before:
        restore_site(winpy, winpy.site_packages, before, after)


@pytest.fixture
def win_holder(request):
    holders = []

    def make(interpreter, path):
        h = WinHolder(interpreter, path)
        holders.append(h)
        return h

    yield make
    for h in holders:
        h.close()


@pytest.fixture
def win_background():
    """start(interpreter, *pip_args, program="pip.exe", **env) -> Background; killed at teardown."""
    started = []

    def start(interpreter, *args, program="pip.exe", **env):
        proc = interpreter.start_pip(*args, env=interpreter.env(**env), program=program)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
