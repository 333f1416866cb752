"""Windows, in a virtual environment only (the commands do not depend on the
kind of environment; tests/windows/test_win_cli.py runs both): `run`, the
switches, bad settings, `check`, `verify`."""

import json
import os
import re

import pytest
from winprocs import make_venv, winpath

pytestmark = pytest.mark.slow

HOLD_STDIN = "import sys; print('ready', flush=True); sys.stdin.readline()"


@pytest.fixture(scope="module")
def winpy(win_wheelhouse, tmp_path_factory):
    folder = tmp_path_factory.mktemp("win-venv")
    return make_venv(str(folder / "venv"), str(folder / "base"), win_wheelhouse)


def locked(result):
    return "acquired shared lock" in result.stderr


def test_pip_needing_more_than_run_holds_warns_once_and_goes_on(win):
    win.pip("install", "plhsmall==1.0")
    result = win.cli("run", "-s", "--", winpath(win.exe("pip.exe")), "uninstall", "-y", "plhsmall", timeout=120)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING: piplockhook:")]
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


RECORD_INFIX = ".holder-"  # piplockhook.holderfiles.INFIX
DEAD_RECORD = "piplockhook-holder 1\nhost=GONE\npidns=\npid=999999\nmode=exclusive\nsince=0\ncommand=gone\nend\n"


def test_a_waiting_pip_names_a_run_holder_from_its_record_and_never_a_dead_one(win, win_background):
    folder, name = os.path.split(win.lock_path)
    dead = os.path.join(folder, name + RECORD_INFIX + "dead")
    with open(dead, "w") as f:
        f.write(DEAD_RECORD)  # complete, and locked by nobody: its holder is gone
    holder = win.start([win.exe("piplockhook.exe"), "run", "-x", "--", winpath(win.python), "-c", HOLD_STDIN])
    try:
        holder.expect("ready", stream="stdout", timeout=90)
        pip = win_background(win, "list")
        held_by = pip.expect(r"waiting for shared lock .*, held by (.*)$", timeout=120).group(1)
        # Windows has no /proc/locks: only the record can name it.
        assert re.match(r"pid \d+ \(exclusive, running \d+s\): .*run -x -- ", held_by), held_by
        assert "999999" not in held_by and not os.path.exists(dead)
        status = win.cli("status").stdout
        assert re.search(r"^  pid \d+ \(exclusive, running \d+s\): .*run -x -- ", status, re.M), status
        holder.send("done")
        assert holder.finish()[0] == 0 and pip.finish()[0] == 0
        assert [e for e in os.listdir(folder) if e.startswith(name + RECORD_INFIX)] == []
    finally:
        holder.kill()


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
