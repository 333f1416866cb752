"""pip and `uv pip` exclude each other where uv locks a file in the temp dir.

For an interpreter that is not a virtual environment (a system or Docker
Python, a conda environment) uv locks `$TMPDIR/uv-<digest of sys.executable>.lock`,
not our lock file: there a pip takes that file too (src/piplockhook/uvlock.py).
These tests run a real uv against real non-virtual interpreters
(procs.Standalone): one plain, one conda-shaped (conda-meta/, no pyvenv.cfg).
Each test runs with its own TMPDIR, so the uv-*.lock files in it are the ones
these processes made; every scenario also runs with PIPLOCKHOOK=0, where the
same steps do not wait.
"""

import glob
import os
import re

import pytest
from packages import SLOW, SMALL
from procs import Background, lock_holders, lock_waiters, wait_until

from piplockhook import uvlock

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="lock states are read from /proc/locks (Linux)"),
]


@pytest.fixture(scope="module", params=["system", "conda"])
def interpreter(request, make_standalone):
    return make_standalone(conda=request.param == "conda")


@pytest.fixture
def temp(tmp_path):
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    return str(folder)


def env_for(interpreter, temp, tmp_path, **extra):
    return interpreter.env(TMPDIR=temp, UV_CACHE_DIR=str(tmp_path / "uv-cache"), UV_NO_PROGRESS="1", **extra)


def uv_command(uv, interpreter, name, *args):
    return [uv, "pip", *args[:1], "--python", name, "--system", *args[1:]]


def uv_files(temp):
    return sorted(glob.glob(os.path.join(temp, "uv-*.lock")))


def test_pip_locks_the_file_a_real_uv_locks_for_every_name_of_the_interpreter(interpreter, uv, temp, tmp_path):
    env = env_for(interpreter, temp, tmp_path, PIPLOCKHOOK_DEBUG="1")
    result = interpreter.run([interpreter.python, "-m", "pip", "list"], env=env)
    taken = set(re.findall(r"^piplockhook: acquired shared lock (\S+) \(uv's lock\)", result.stderr, re.M))
    assert f"acquired shared lock {interpreter.lock_path} " in result.stderr
    for name in interpreter.names:
        for path in uv_files(temp):
            os.remove(path)
        # Uninstalling what is not there takes uv's lock and changes nothing.
        uv_run = interpreter.run(uv_command(uv, interpreter, name, "uninstall", "plh-not-installed"), env=env)
        made = uv_files(temp)
        assert made == [uvlock.lock_path(name, temp)], (name, uv_run.stderr)
        assert made[0] in taken, f"pip (run as {interpreter.python}) does not lock uv's file for {name}"


@pytest.mark.parametrize("hook", ["on", "0"])
def test_uv_waits_for_a_pip_that_writes(interpreter, uv, temp, tmp_path, hook):
    env = env_for(interpreter, temp, tmp_path, PIPLOCKHOOK=hook)
    interpreter.pip("install", f"{SMALL}==1.0", env=env)
    env.pop("PIP_NO_INPUT")
    # An uninstall waiting at its prompt holds the exclusive lock.
    pip = Background([os.path.join(interpreter.scripts, "pip"), "uninstall", SMALL], env)
    name = interpreter.names[-1]  # python3.X, not the name pip runs by
    uv_install = uv_command(uv, interpreter, name, "install", "--no-index", "--find-links", interpreter.wheelhouse)
    uvp = None
    try:
        pip.expect(rf"{SMALL}/\*$", stream="stdout")  # the last line before its prompt
        uv_file = uvlock.lock_path(name, temp)
        if hook == "0":
            assert not os.path.exists(uv_file)
            uvp = Background([*uv_install, f"{SLOW}==0.9"], env)
            rc, out, err = uvp.finish()
            assert rc == 0 and pip.running(), out + err  # uv installed while pip was mid-uninstall
        else:
            assert lock_holders(uv_file).get(pip.proc.pid) == "exclusive"
            uvp = Background([*uv_install, f"{SLOW}==0.9"], env)
            wait_until(lambda: uvp.proc.pid in lock_waiters(uv_file), what=f"uv blocked on {uv_file}")
            assert uvp.running()
        pip.send("n")
        assert pip.finish()[0] == 0
        rc, out, err = uvp.finish()
        assert rc == 0, out + err
    finally:
        pip.kill()
        if uvp:
            uvp.kill()
    interpreter.pip("uninstall", "-y", SLOW, SMALL, env=interpreter.env(PIPLOCKHOOK="0"))


@pytest.mark.parametrize("hook", ["on", "0"])
def test_pip_waits_for_uv_installing(interpreter, uv, temp, tmp_path, hook):
    barrier = str(tmp_path / "barrier")
    env = env_for(interpreter, temp, tmp_path, PIPLOCKHOOK=hook, PLH_BUILD_BARRIER=barrier)
    # uv holds its lock while it builds the sdist, held at a barrier.
    uv_install = uv_command(uv, interpreter, interpreter.names[1], "install", "--no-index", "--no-cache")
    uvp = Background([*uv_install, "--find-links", interpreter.wheelhouse, f"{SLOW}==1.0"], env)
    pip = None
    try:
        wait_until(lambda: os.path.exists(barrier + ".started"), timeout=60, what="uv's build to start")
        pip = Background([os.path.join(interpreter.scripts, "pip"), "install", f"{SMALL}==1.0"], env)
        if hook == "0":
            rc, out, err = pip.finish()
            assert rc == 0 and uvp.running(), out + err  # pip installed while uv was mid-install
        else:
            match = pip.expect(r"waiting for shared lock on .* \((\S+/uv-\w+\.lock)\), held by pid (\d+) \(exclusive")
            assert int(match.group(2)) == uvp.proc.pid
            assert match.group(1) == uvlock.lock_path(interpreter.names[1], temp)
        open(barrier, "w").close()
        rc, out, err = uvp.finish()
        assert rc == 0, out + err
        rc, out, err = pip.finish()
        assert rc == 0, out + err
    finally:
        open(barrier, "w").close()
        uvp.kill()
        if pip:
            pip.kill()
    interpreter.pip("uninstall", "-y", SLOW, SMALL, env=interpreter.env(PIPLOCKHOOK="0"))


def test_run_and_status_name_uv_s_lock_and_its_holder(interpreter, temp, tmp_path):
    env = env_for(interpreter, temp, tmp_path)
    go = tmp_path / "go"
    wait_for_go = (
        f"import os,time\nfor _ in range(3000):\n    if os.path.exists({str(go)!r}): break\n    time.sleep(0.01)"
    )
    command = [interpreter.python, "-m", "piplockhook", "run", "-x", "--", interpreter.python, "-c", wait_for_go]
    run = Background(command, env)
    try:
        uv_file = uvlock.lock_path(interpreter.python, temp)
        wait_until(lambda: os.path.exists(uv_file) and lock_holders(uv_file).get(run.proc.pid) == "exclusive")
        assert lock_holders(interpreter.lock_path).get(run.proc.pid) == "exclusive"
        status = interpreter.run([interpreter.python, "-m", "piplockhook", "status", "--json"], env=env)
        import json

        locks = {lock["path"]: lock for lock in json.loads(status.stdout)["locks"]}
        assert locks[interpreter.lock_path]["kind"] == "piplockhook"
        assert locks[uv_file]["kind"] == "uv" and locks[uv_file]["for"] == interpreter.python
        for path in (interpreter.lock_path, uv_file):
            assert [(h["pid"], h["mode"]) for h in locks[path]["holders"]] == [(run.proc.pid, "exclusive")]
        text = interpreter.run([interpreter.python, "-m", "piplockhook", "status"], env=env).stdout
        assert (
            f"uv's lock for {interpreter.python}: {uv_file}\nheld by:\n  pid {run.proc.pid} (exclusive, running "
            in text
        )
        go.write_text("")
        assert run.finish()[0] == 0
    finally:
        go.write_text("")
        run.kill()


def test_a_symlink_in_place_of_uv_s_file_is_not_followed(interpreter, temp, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("not a lock")
    uv_file = uvlock.lock_path(interpreter.python, temp)
    os.symlink(victim, uv_file)
    env = env_for(interpreter, temp, tmp_path, PIPLOCKHOOK_DEBUG="1")
    result = interpreter.run([interpreter.python, "-m", "pip", "list"], env=env)
    assert f"skipped shared lock {uv_file} (uv's lock unavailable: {uv_file} is a symbolic link, not followed)" in (
        result.stderr
    )
    assert f"acquired shared lock {interpreter.lock_path} " in result.stderr  # ours still holds
    assert victim.read_text() == "not a lock" and not lock_holders(str(victim))


def test_a_holder_that_never_lets_uv_s_file_go_delays_pip_as_long_as_uv_waits(interpreter, temp, tmp_path, holder):
    # Anyone may lock a file in /tmp: after UV_LOCK_TIMEOUT pip goes on under
    # its own lock, as uv itself does.
    uv_file = uvlock.lock_path(interpreter.python, temp)
    squatter = holder(uv_file)
    squatter.hold("exclusive")
    env = env_for(interpreter, temp, tmp_path, UV_LOCK_TIMEOUT="1")
    result = interpreter.run([interpreter.python, "-m", "pip", "list"], env=env, timeout=60)
    waiting = rf"waiting for shared lock on \S+ \({re.escape(uv_file)}\), held by pid {squatter.proc.pid}\b"
    assert re.search(waiting, result.stderr), result.stderr
    assert f"waited 1s (UV_LOCK_TIMEOUT) for uv's lock {uv_file}, held by pid {squatter.proc.pid}" in result.stderr
    assert "piplockhook" in result.stdout


def test_verify_waits_for_uv_writing(interpreter, temp, tmp_path, holder):
    # `piplockhook verify` reads under the shared lock: uv's file too, here.
    uv_file = uvlock.lock_path(interpreter.python, temp)
    writer = holder(uv_file)
    writer.hold("exclusive")
    env = env_for(interpreter, temp, tmp_path)
    verify = [interpreter.python, "-m", "piplockhook", "verify", "--quick"]
    result = interpreter.run([*verify, "--timeout", "1"], env=env, check=False)
    assert result.returncode == 1, result.stdout + result.stderr  # a timeout, as pip's
    assert f"({uv_file}), held by pid {writer.proc.pid}" in result.stderr
    writer.release()
    result = interpreter.run(verify, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
