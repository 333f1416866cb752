"""A user who cannot write the environment (`nobody`, a venv root made):
pip's own "Permission denied" speaks, not a "running unlocked" of ours
(issue 29, finding 8). Where that user could write but the lock cannot be
used, the warning stays.

Runs as root only, with `runuser`, on an interpreter `nobody` can run."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
from procs import TIMEOUT, Venv

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32" or os.geteuid() != 0, reason="needs root to act as nobody"),
    pytest.mark.skipif(not shutil.which("runuser"), reason="no runuser on this machine"),
]


def as_nobody(args, **env):
    """Run `args` as nobody in a clean environment (the test pips' settings, and `env`)."""
    settings = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "PIP_NO_INDEX": "1", "PIP_NO_CACHE_DIR": "1"}
    settings.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", **env)
    command = ["runuser", "-u", "nobody", "--", "env", "-i", *(f"{k}={v}" for k, v in settings.items()), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)


def interpreter_for_nobody():
    """A Python of this version that nobody may run (pyenv's may sit in /root)."""
    version = "%d.%d" % sys.version_info[:2]
    system = [f"{folder}/python{version}" for folder in ("/usr/local/bin", "/usr/bin")]
    for candidate in (sys.executable, getattr(sys, "_base_executable", ""), *system):
        real = os.path.realpath(candidate or "")
        if real and as_nobody([real, "-c", "pass"]).returncode == 0:
            return real
    return None


@pytest.fixture(scope="module")
def roots_venv(wheelhouse):
    """(a venv made and owned by root in a folder nobody can read, a find-links folder for nobody)."""
    python = interpreter_for_nobody()
    if python is None:
        pytest.skip("no Python %d.%d that nobody can run" % sys.version_info[:2])
    base = tempfile.mkdtemp(prefix="plh-roots-")
    try:
        os.chmod(base, 0o755)
        path = os.path.join(base, "venv")
        subprocess.run([python, "-m", "venv", path], check=True, timeout=300)
        venv = Venv(path, wheelhouse)
        venv.run([venv.python, "-m", "pip", "install", "piplockhook"])
        wheels = os.path.join(base, "wheels")
        os.mkdir(wheels)
        for wheel in glob.glob(os.path.join(wheelhouse, "plhsmall-1.0-*.whl")):
            shutil.copy(wheel, wheels)
        yield venv, wheels
    finally:
        shutil.rmtree(base, ignore_errors=True)


def ours(stderr):
    return [line for line in stderr.splitlines() if line.startswith(("piplockhook:", "WARNING: piplockhook:"))]


@pytest.mark.parametrize("args", [["install", "plhsmall==1.0"], ["uninstall", "-y", "wrapt"]], ids=" ".join)
def test_pip_s_own_error_speaks_where_the_user_cannot_write(roots_venv, args):
    venv, wheels = roots_venv
    assert not os.path.exists(venv.lock_path)  # nobody would have to create it: it cannot
    result = as_nobody([os.path.join(venv.bin, "pip"), *args], PIP_FIND_LINKS=wheels)
    assert result.returncode != 0 and "Permission denied" in result.stderr, result.stderr
    assert ours(result.stderr) == [], result.stderr
    # The reason is still there for whoever asks.
    debug = as_nobody([os.path.join(venv.bin, "pip"), *args], PIP_FIND_LINKS=wheels, PIPLOCKHOOK_DEBUG="1")
    assert f"piplockhook: running unlocked: cannot create {venv.lock_path}: Permission denied" in debug.stderr
    assert "plhsmall" not in venv.installed() and "wrapt" in venv.installed()


def test_the_warning_stays_where_the_user_can_write_but_not_lock(roots_venv, tmp_path):
    venv, wheels = roots_venv
    target = tempfile.mkdtemp(prefix="plh-nobodys-")
    try:
        os.chmod(target, 0o777)  # nobody's --target; the lock file is asked for in root's folder
        lockfile = os.path.join(os.path.dirname(venv.path), "x.lock")
        pip = [os.path.join(venv.bin, "pip"), "install", "--target", target, "plhsmall==1.0"]
        result = as_nobody(pip, PIP_FIND_LINKS=wheels, PIPLOCKHOOK_LOCKFILE=lockfile)
        assert result.returncode == 0, result.stderr
        assert ours(result.stderr) == [
            f"WARNING: piplockhook: running unlocked: cannot create {lockfile}: Permission denied"
        ], result.stderr
        assert os.path.isdir(os.path.join(target, "plhsmall"))
    finally:
        shutil.rmtree(target, ignore_errors=True)
