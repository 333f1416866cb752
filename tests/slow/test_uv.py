"""pip and `uv pip` exclude each other through <venv>/.lock, both ways.

uv takes the lock exclusively with flock and knows nothing of the turnstile;
exclusion holds through the lock file itself. (uv shows its own wait only
with -v.)
"""

import os

import pytest
from packages import SLOW
from procs import Background, lock_holders, lock_waiters, wait_until

pytestmark = pytest.mark.slow


def uv_env(venv, tmp_path, **extra):
    return venv.env(UV_CACHE_DIR=str(tmp_path / "uv-cache"), UV_NO_PROGRESS="1", **extra)


def uv_install(uv, venv, spec, env, *options):
    """`uv pip install SPEC` into the venv from the tests' wheelhouse, in the background."""
    command = [uv, "pip", "install", "--python", venv.python, "--no-index", "--find-links", venv.wheelhouse]
    return Background([*command, *options, spec], env)


def test_uv_waits_for_a_pip_holding_the_lock(venv, uv, tmp_path):
    venv.pip("install", "plhsmall==1.0")
    # An uninstall waiting at its prompt holds the exclusive lock.
    env = venv.env()
    env.pop("PIP_NO_INPUT")
    pip = Background([os.path.join(venv.bin, "pip"), "uninstall", "plhsmall"], env)
    uvp = None
    try:
        wait_until(
            lambda: lock_holders(venv.lock_path).get(pip.proc.pid) == "exclusive",
            what="pip at its prompt holding the lock",
        )
        uvp = uv_install(uv, venv, f"{SLOW}==0.9", uv_env(venv, tmp_path))
        wait_until(lambda: uvp.proc.pid in lock_waiters(venv.lock_path), what="uv blocked on <venv>/.lock")
        assert uvp.running()
        pip.send("n")  # pip ends, keeping plhsmall
        assert pip.finish()[0] == 0
        rc, out, err = uvp.finish()
        assert rc == 0, out + err
        assert venv.installed()[SLOW] == "0.9"
    finally:
        pip.kill()
        if uvp:
            uvp.kill()
    venv.pip("uninstall", "-y", SLOW, "plhsmall")


@pytest.mark.parametrize("hook", ["on", "0"])
def test_pip_waits_for_uv_holding_the_lock(venv, uv, tmp_path, background, hook):
    barrier = str(tmp_path / "barrier")
    # uv holds <venv>/.lock while it builds the sdist, held at a barrier.
    uvp = uv_install(uv, venv, f"{SLOW}==1.0", uv_env(venv, tmp_path, PLH_BUILD_BARRIER=barrier), "--no-cache")
    try:
        wait_until(lambda: os.path.exists(barrier + ".started"), timeout=60, what="uv's build to start")
        proc = background(venv, "list", PIPLOCKHOOK=hook)
        if hook == "0":
            rc, out, _ = proc.finish()
            assert rc == 0 and SLOW not in out  # read while uv was mid-install
        else:
            match = proc.expect(r"waiting for shared lock .* held by pid (\d+) \(exclusive")
            assert int(match.group(1)) == uvp.proc.pid
        open(barrier, "w").close()
        assert uvp.finish()[0] == 0
        if hook != "0":
            rc, out, _ = proc.finish()
            assert rc == 0 and SLOW in out  # it read after uv was done
    finally:
        open(barrier, "w").close()
        uvp.kill()
    venv.pip("uninstall", "-y", SLOW)


@pytest.mark.parametrize("hook", ["on", "0"])
@pytest.mark.parametrize("option", ["--target", "--prefix"])
def test_pip_waits_for_uv_installing_into_the_same_target_or_prefix(venv, uv, tmp_path, background, option, hook):
    directory = str(tmp_path / "into")
    barrier = str(tmp_path / "barrier")
    env = uv_env(venv, tmp_path, PLH_BUILD_BARRIER=barrier)
    # uv locks DIR/.lock for --target DIR and --prefix DIR, as pip does.
    uvp = uv_install(uv, venv, f"{SLOW}==1.0", env, "--no-cache", option, directory)
    try:
        wait_until(lambda: os.path.exists(barrier + ".started"), timeout=60, what="uv's build to start")
        proc = background(venv, "install", option, directory, "plhsmall", PIPLOCKHOOK=hook)
        if hook == "0":
            rc, out, err = proc.finish()
            assert rc == 0 and uvp.running(), out + err  # pip installed while uv was mid-install
        else:
            match = proc.expect(r"waiting for shared lock on .* \((\S+)\), held by pid (\d+) \(exclusive")
            assert (match.group(1), int(match.group(2))) == (os.path.join(directory, ".lock"), uvp.proc.pid)
        open(barrier, "w").close()
        rc, out, err = uvp.finish()
        assert rc == 0, out + err
        assert proc.finish()[0] == 0
    finally:
        open(barrier, "w").close()
        uvp.kill()
