"""Windows: every way pip starts, nesting, the switches, bad settings, the
piplockhook command, and piplockhook replacing itself with the hook active."""

import json
import os

import pytest
from winprocs import winpath

pytestmark = pytest.mark.slow

HOLD_STDIN = "import sys; print('ready', flush=True); sys.stdin.readline()"


def locked(result):
    return "acquired shared lock" in result.stderr


@pytest.mark.parametrize("program", ["pip.exe", "pip3.exe", "pip3.13.exe", "python -m pip"])
def test_every_way_pip_starts_takes_the_lock(win, program):
    env = win.env(PIPLOCKHOOK_DEBUG=1)
    if program == "python -m pip":
        result = win.py("-m", "pip", "list", env=env)
    else:
        result = win.pip("list", env=env, program=program)
    assert locked(result), result.stderr
    assert winpath(win.lock_path).lower() in result.stderr.lower()


def test_a_waiting_pip3_13_exe_waits_for_an_exclusive_holder(win, win_holder, win_background):
    h = win_holder(win, win.lock_path)
    h.hold("exclusive")
    proc = win_background(win, "list", program="pip3.13.exe")
    proc.expect(r"waiting for shared lock", timeout=90)
    assert proc.running()
    h.release()
    rc, _out, err = proc.finish()
    assert rc == 0 and "acquired shared lock after waiting" in err


def test_sdist_with_build_isolation_installs_under_the_hook(win):
    # pip's build-dependency child (__pip-runner__.py install --prefix <tmp>
    # --target '') runs while the parent holds the lock: it must not deadlock.
    result = win.pip("install", "plhwinsdist", env=win.env(PIPLOCKHOOK_DEBUG="1"), timeout=240)
    assert "Successfully installed plhwinsdist-1.0" in result.stdout
    assert "acquired exclusive lock" in result.stderr


def test_pip_inside_run_does_not_wait(win):
    env = win.env(PIPLOCKHOOK_DEBUG="1")
    result = win.run_in_pty(
        [win.exe("piplockhook.exe"), "run", "-x", "--", win.exe("pip.exe"), "list"], env=env, timeout=240
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped shared lock" in result.stdout and "nested" in result.stdout


def test_python_dash_m_piplockhook(win):
    result = win.py("-m", "piplockhook", "status")
    assert "active: every pip run" in result.stdout


def test_upgrading_and_uninstalling_piplockhook_with_the_hook_active(win):
    # Windows cannot delete a file that is open: the hook's own files and
    # wrapt's loaded _wrappers.pyd go away while the hook holds the lock.
    env = win.env(PIPLOCKHOOK_DEBUG="1")
    # (python -m pip: pip.exe refuses a command that would modify pip.)
    result = win.py(
        "-m", "pip", "install", "--force-reinstall", "--no-deps", "piplockhook", "wrapt", env=env, timeout=240
    )
    assert "Successfully installed" in result.stdout, result.stdout + result.stderr
    assert "acquired exclusive lock" in result.stderr
    assert "Traceback" not in result.stderr
    # Windows cannot delete a DLL that is loaded: the pip doing this has
    # wrapt's _wrappers.pyd loaded (the hook imports wrapt), so pip leaves its
    # stash ~rapt behind and says so; verify names it, and nothing else.
    verify = win.cli("verify", "--json")
    problems = json.loads(verify.stdout)["problems"]
    assert [p["kind"] for p in problems] in ([], ["leftover"]), verify.stdout
    if problems:
        assert "~rapt" in verify.stdout and "Failed to remove contents" in result.stderr + result.stdout
    try:
        result = win.pip("uninstall", "-y", "piplockhook", env=env, timeout=240)
        assert "Successfully uninstalled piplockhook" in result.stdout
        assert "acquired exclusive lock" in result.stderr
        assert "Traceback" not in result.stderr
        assert not os.path.exists(os.path.join(win.site_packages, "piplockhook.pth"))
        assert not os.path.exists(os.path.join(win.site_packages, "piplockhook"))
        assert not locked(win.pip("list", env=env))  # the hook is gone with it
    finally:
        win.pip("install", "piplockhook", env=win.env(PIPLOCKHOOK="0"), timeout=240)
    assert locked(win.pip("list", env=env))
