"""Session fixtures, loaded as a plugin by tests/conftest.py: this project's
wheel, a local wheelhouse, fresh venvs and standalone interpreters, uv, lock
holders and background pips, each bounded in time and cleaned up."""

import datetime
import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile

import packages
import pytest
from procs import LockHolder, Standalone, Venv, controlled_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _host_pip(*args, cwd=None):
    # The machine's own pip settings (certificate, find-links) stay in force
    # for fetching our dependencies; only the pips under test are sealed off.
    result = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, cwd=cwd, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


# The pip version the test venvs get (the tox matrix sets it); unset: the
# pip that `python -m venv` brings.
PIP_UNDER_TEST = os.environ.get("PLH_TEST_PIP", "")  # a version, or "newest"
_pip_in_venvs = {}  # what the venvs really got: {"version": ..., "unusable": reason}


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory):
    """Our wheel, wrapt (and the pip under test) for this Python, and the test distributions."""
    house = str(tmp_path_factory.mktemp("wheelhouse"))
    _host_pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", house, ROOT)
    _host_pip("download", "--only-binary=:all:", "--dest", house, "wrapt")
    if PIP_UNDER_TEST:
        spec = "pip" if PIP_UNDER_TEST == "newest" else f"pip=={PIP_UNDER_TEST}"
        _host_pip("download", "--no-deps", "--dest", house, spec)
    packages.build_all(house)
    return house


@pytest.fixture(scope="session")
def make_venv(wheelhouse, tmp_path_factory):
    """make_venv(hook=True) -> a fresh `python -m venv` with our wheel installed."""
    counter = iter(range(10**6))

    def make(hook=True):
        path = str(tmp_path_factory.mktemp(f"venv{next(counter)}"))
        subprocess.run([sys.executable, "-m", "venv", path], check=True, timeout=300, env=controlled_env(wheelhouse))
        venv = Venv(path, wheelhouse)
        if PIP_UNDER_TEST:
            _install_pip_under_test(venv)
        if hook:
            venv.run([venv.python, "-m", "pip", "install", "piplockhook"])
        return venv

    return make


@pytest.fixture(scope="session")
def make_standalone(wheelhouse, tmp_path_factory):
    """make_standalone(conda=False) -> a non-virtual interpreter (procs.Standalone)
    with its own pip (the one under test, else the one `python -m venv` brings)
    and our wheel installed."""
    folder = tmp_path_factory.mktemp("pip-wheel")
    if PIP_UNDER_TEST:
        shutil.copy(next(iter(glob.glob(os.path.join(wheelhouse, "pip-*.whl")))), folder)
    else:
        import ensurepip

        _host_pip("download", "--no-deps", "--only-binary=:all:", "--dest", str(folder), f"pip=={ensurepip.version()}")
    pip_wheel = next(iter(glob.glob(os.path.join(folder, "pip-*.whl"))))

    def make(conda=False):
        path = str(tmp_path_factory.mktemp("conda" if conda else "system"))
        interpreter = Standalone(path, wheelhouse, pip_wheel, conda=conda)
        if PIP_UNDER_TEST:
            _install_pip_under_test(interpreter)
        interpreter.run([interpreter.python, "-m", "pip", "install", "piplockhook"])
        return interpreter

    return make


def _install_pip_under_test(venv):
    if _pip_in_venvs.get("unusable"):
        pytest.skip(_pip_in_venvs["unusable"])
    spec = "pip" if PIP_UNDER_TEST == "newest" else f"pip=={PIP_UNDER_TEST}"
    venv.run([venv.python, "-m", "pip", "install", "--upgrade", spec])
    # Does this pip work on this Python at all (pip 22.3 on 3.12 does not:
    # its pkg_resources needs pkgutil.ImpImporter)? A real install, before
    # the hook is there, tells.
    probe = venv.run(
        [venv.python, "-m", "pip", "install", "--target", os.path.join(venv.path, "probe"), "plhsmall"], check=False
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        _pip_in_venvs["unusable"] = (
            f"pip {PIP_UNDER_TEST} does not run on Python {sys.version_info[0]}.{sys.version_info[1]}: {last}"
        )
        pytest.skip(_pip_in_venvs["unusable"])
    version = venv.run([venv.python, "-m", "pip", "--version"]).stdout.split()[1]
    _pip_in_venvs["version"] = version


def pytest_sessionfinish(session, exitstatus):
    """With PLH_COMPAT_DIR set (the tox matrix), record this cell's outcome
    for docs/gen_compatibility.py."""
    folder = os.environ.get("PLH_COMPAT_DIR")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not folder or reporter is None:
        return
    count = {
        k: len([r for r in reporter.stats.get(k, []) if getattr(r, "when", "call") == "call" or k == "skipped"])
        for k in ("passed", "failed", "skipped", "error")
    }
    os.makedirs(folder, exist_ok=True)
    python = "%d.%d" % sys.version_info[:2]
    cell = {
        "python": python,
        "pip_requested": PIP_UNDER_TEST or "venv default",
        "pip": _pip_in_venvs.get("version", ""),
        "note": _pip_in_venvs.get("unusable", ""),
        "exitstatus": int(exitstatus),
        **count,
        "date": datetime.date.today().isoformat(),
        "commit": os.environ.get("PLH_COMMIT") or _checkout(),
    }
    with open(os.path.join(folder, f"py{python}-pip{cell['pip_requested']}.json"), "w") as f:
        json.dump(cell, f, indent=1)


def _checkout():
    """This checkout's short commit, "+changes" when the tree differs from it."""
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()  # noqa: E731
    try:
        commit = git("rev-parse", "--short", "HEAD")
        return commit + ("+changes" if commit and git("status", "--porcelain", "--untracked-files=no") else "")
    except OSError:  # no git here
        return ""


def pytest_report_header(config):
    return f"pip under test: {PIP_UNDER_TEST or 'the one python -m venv brings'}"


@pytest.fixture(scope="session")
def uv(tmp_path_factory):
    """The uv binary from its wheel (downloaded once), or skip where it cannot be had."""
    folder = tmp_path_factory.mktemp("uv")
    try:
        _host_pip("download", "--only-binary=:all:", "--no-deps", "--dest", str(folder), "uv")
    except RuntimeError as exc:
        pytest.skip(f"uv could not be downloaded: {str(exc)[-200:]}")
    wheel = next(folder.glob("uv-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        member = next(n for n in zf.namelist() if n.endswith(".data/scripts/uv"))
        target = folder / "uv"
        target.write_bytes(zf.read(member))
    target.chmod(0o755)
    return str(target)


@pytest.fixture(scope="module")
def module_venv(make_venv):
    """One hooked venv for a module's tests (through `venv`, which restores it)."""
    return make_venv()


@pytest.fixture
def venv(module_venv):
    """The module's shared venv, put back as it was when the test ends, however
    it ends: distributions it installed or removed, `piplockhook disable`'s
    marker, `~` leftovers."""
    site = module_venv.site_packages
    before = set(os.listdir(site))
    yield module_venv
    after = set(os.listdir(site))
    if after != before:
        restore_site(module_venv, site, before, after)
        assert set(os.listdir(site)) == before, "the shared venv could not be restored"


def restore_site(venv, site, before, after):
    """Put `site` back to the entries `before` (now `after`), with `venv`'s own
    unlocked pip: this host's venvs here, Windows interpreters under Wine
    (tests/windows/conftest.py) alike."""
    env = venv.env(PIPLOCKHOOK="0")

    def projects(entries):
        return {e[: -len(".dist-info")].rsplit("-", 1)[0]: e for e in entries if e.endswith(".dist-info")}

    added, removed = projects(after - before), projects(before - after)
    stale = [name for name in added if name not in removed]
    if stale:
        venv.pip("uninstall", "-y", *stale, env=env)
    wanted = [entry[: -len(".dist-info")].replace("-", "==", 1) for entry in removed.values()]
    if wanted:
        venv.pip("install", "--no-deps", "--force-reinstall", *wanted, env=env)
    for entry in set(os.listdir(site)) - before:  # the disabled marker, ~ leftovers, caches
        path = os.path.join(site, entry)
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


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
