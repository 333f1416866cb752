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
    result = win.cli("run", "-x", "--", win.exe("pip.exe"), "list", env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped shared lock" in result.stderr and "nested" in result.stderr


def test_pip_needing_more_than_run_holds_warns_once_and_goes_on(win):
    win.pip("install", "plhsmall==1.0")
    result = win.cli("run", "-s", "--", winpath(win.exe("pip.exe")), "uninstall", "-y", "plhsmall", timeout=120)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "-x" in warnings[0], result.stderr
    assert "plhsmall" not in win.installed()


@pytest.mark.parametrize("flag, blocked", [("-x", "exclusive"), ("-s", "shared")])
def test_run_holds_the_lock_for_the_whole_command(win, flag, blocked):
    proc = win.start([win.exe("piplockhook.exe"), "run", flag, "--", winpath(win.python), "-c", HOLD_STDIN])
    try:
        proc.expect("ready", stream="stdout", timeout=90)
        assert win.probe(win.lock_path) == blocked
        proc.send("done")
        assert proc.finish()[0] == 0
        assert win.probe(win.lock_path) == "free"
    finally:
        proc.kill()


def test_run_returns_the_exit_status(win):
    assert win.cli("run", "--", winpath(win.python), "-c", "raise SystemExit(3)").returncode == 3
    assert win.cli("run", "--", "no-such-command-xyz").returncode == 127


def test_disable_enable_round_trip_seen_by_real_pip(win):
    def events(**env):
        return locked(win.pip("list", env=win.env(PIPLOCKHOOK_DEBUG="1", **env)))

    try:
        assert win.cli("disable").returncode == 0
        info = json.loads(win.cli("status", "--json").stdout)
        assert info["default"] == "off" and not info["active"]
        assert not events()
        assert events(PIPLOCKHOOK="1")
    finally:
        assert win.cli("enable").returncode == 0
    assert json.loads(win.cli("status", "--json").stdout)["active"]
    assert events()
    assert not events(PIPLOCKHOOK="0")


@pytest.mark.parametrize(
    "variable, value",
    [("PIPLOCKHOOK", "maybe"), ("PIPLOCKHOOK_TIMEOUT", "-1"), ("PIPLOCKHOOK_TIMEOUT", "soon")],
)
def test_bad_value_is_one_line_exit_2_and_changes_nothing(win, variable, value):
    lock_existed = os.path.exists(win.lock_path)
    result = win.pip("install", "plhsmall", env=win.env(**{variable: value}), check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ERROR: piplockhook: ")
    assert f"{variable}={value!r}" in lines[0]
    assert "plhsmall" not in win.installed()
    assert os.path.exists(win.lock_path) == lock_existed


def test_lockfile_that_is_a_directory(win, tmp_path):
    directory = winpath(tmp_path)
    result = win.pip("uninstall", "-y", "pip", env=win.env(PIPLOCKHOOK_LOCKFILE=directory), check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"ERROR: piplockhook: PIPLOCKHOOK_LOCKFILE={directory!r} is not valid: expected a file path, not a directory"
    )
    assert "pip" in win.installed()


def test_check_proves_locking_works_here(win):
    result = win.cli("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "locking works in" in result.stdout


def test_verify_is_clean(win):
    result = win.cli("verify")
    assert result.returncode == 0, result.stdout + result.stderr


def test_python_dash_m_piplockhook(win):
    result = win.py("-m", "piplockhook", "status")
    assert "active: every pip run" in result.stdout


def test_upgrading_and_uninstalling_piplockhook_with_the_hook_active(win):
    # Windows cannot delete a file that is open: the hook's own files and
    # wrapt's loaded _wrappers.pyd go away while the hook holds the lock.
    env = win.env(PIPLOCKHOOK_DEBUG="1")
    result = win.pip("install", "--force-reinstall", "piplockhook", "wrapt", env=env, timeout=240)
    assert "Successfully installed" in result.stdout, result.stdout + result.stderr
    assert "acquired exclusive lock" in result.stderr
    assert "Traceback" not in result.stderr
    assert win.cli("verify").returncode == 0
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
