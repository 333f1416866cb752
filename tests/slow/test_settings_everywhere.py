"""docs/configuration.md's table, cell by cell, with real processes.

Every entry point reads the settings through one reader: a bad value gives
the same line everywhere (exit 2, nothing started or changed) except in pip
commands that take no lock and pip's help and version, which run with a
warning; the good values mean what the table says in each command.
"""

import json
import os

import pytest
from procs import Background

pytestmark = pytest.mark.slow

BAD = {
    "PIPLOCKHOOK": ("maybe", "expected one of 1, on, true, yes, 0, off, false, no"),
    "PIPLOCKHOOK_TIMEOUT": ("abc", "expected a number of seconds, 0 or more"),
    "PIPLOCKHOOK_LOCKFILE": (None, "expected a file path, not a directory"),  # None: a directory
    "PIPLOCKHOOK_DEBUG": ("loud", "expected one of 1, on, true, yes, 0, off, false, no"),
}
# (what runs, the arguments); "<marker>" is a file the command must not create.
ENTRY_POINTS = {
    "pip install": ("pip", ["install", "plhsmall==1.0"]),
    "pip list": ("pip", ["list"]),
    "run": ("piplockhook", ["run", "--", "touch", "<marker>"]),
    "verify": ("piplockhook", ["verify", "--quick"]),
    "status": ("piplockhook", ["status"]),
    "check": ("piplockhook", ["check"]),
    "disable": ("piplockhook", ["disable"]),
}
NO_LOCK = ["download", "hash", "cache", "config", "debug", "index", "wheel", "help", "--version"]


def start(venv, program, args, env, tmp_path):
    args = [str(tmp_path / "ran") if a == "<marker>" else a for a in args]
    return venv.run([os.path.join(venv.bin, program), *args], env=env, check=False)


def bad_env(venv, variable, tmp_path):
    value = BAD[variable][0] or str(tmp_path)
    return value, venv.env(**{variable: value})


@pytest.mark.parametrize("variable", BAD)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_bad_value_is_the_same_line_everywhere_and_changes_nothing(venv, tmp_path, variable, entry):
    value, env = bad_env(venv, variable, tmp_path)
    before = sorted(os.listdir(venv.site_packages))
    program, args = ENTRY_POINTS[entry]
    result = start(venv, program, args, env, tmp_path)
    expected = f"ERROR: piplockhook: {variable}={value!r} is not valid: {BAD[variable][1]}"
    assert result.returncode == 2, (entry, result.stderr)
    assert result.stderr.strip().splitlines() == [expected], (entry, result.stderr)
    assert sorted(os.listdir(venv.site_packages)) == before  # nothing installed, no marker written
    assert not (tmp_path / "ran").exists()  # run's COMMAND never started


@pytest.mark.parametrize("command", NO_LOCK)
def test_pip_commands_that_take_no_lock_run_with_a_warning(venv, tmp_path, command):
    args = {"download": ["download", "--no-deps", "-d", str(tmp_path), "plhsmall==1.0"], "hash": ["hash", __file__]}
    args.update({"cache": ["cache", "dir"], "config": ["config", "list"], "index": ["index", "versions", "plhsmall"]})
    args.update({"wheel": ["wheel", "--no-deps", "-w", str(tmp_path), "plhsmall==1.0"]})
    result = venv.pip(*args.get(command, [command]), env=venv.env(PIPLOCKHOOK_TIMEOUT="abc"), check=False)
    if command == "cache" and result.returncode != 0 and "disabled" in result.stderr:
        pass  # pip cache with PIP_NO_CACHE_DIR: pip's own error, not ours
    elif command == "index" and "No matching distribution" in result.stderr + result.stdout:
        pass  # --no-index: pip's own answer
    else:
        assert result.returncode == 0, (command, result.stderr)
    ours = [line for line in result.stderr.splitlines() if "piplockhook" in line]
    # pip answers `--version` and a bare `help` before any command starts
    why = "ignored, as pip's help and version take no lock" if command in ("--version", "help") else None
    assert ours == [
        "WARNING: piplockhook: PIPLOCKHOOK_TIMEOUT='abc' is not valid: expected a number of seconds, 0 or more; "
        + (why or f"ignored, as `pip {command}` takes no lock")
    ], (command, result.stderr)


HELP_AND_VERSION = [
    ["--version"],
    ["-V"],
    ["--help"],
    ["-h"],
    [],
    ["help"],
    ["help", "install"],
    ["list", "--help"],
    ["install", "-h"],
    ["uninstall", "--he"],  # optparse's abbreviation
    ["freeze", "-qh"],
]


@pytest.mark.parametrize("args", HELP_AND_VERSION, ids=" ".join)
@pytest.mark.parametrize("variable", ["PIPLOCKHOOK", "PIPLOCKHOOK_LOCKFILE"])
def test_pip_s_help_and_version_never_fail_on_a_bad_setting(venv, tmp_path, variable, args):
    value, env = bad_env(venv, variable, tmp_path)
    result = venv.pip(*args, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout or result.stdout.startswith("pip "), result.stdout
    why = "`pip help` takes no lock" if args[:1] == ["help"] and args[1:] else "pip's help and version take no lock"
    assert result.stderr.strip().splitlines() == [
        f"WARNING: piplockhook: {variable}={value!r} is not valid: {BAD[variable][1]}; ignored, as {why}"
    ]


def test_a_locking_command_whose_arguments_only_look_like_help_still_stops(venv, tmp_path):
    # `-ch`: a constraints file named h, not help: pip's parser says so, and the command stops before it runs.
    value, env = bad_env(venv, "PIPLOCKHOOK", tmp_path)
    result = venv.pip("install", "-ch", "plhsmall==1.0", env=env, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"ERROR: piplockhook: PIPLOCKHOOK={value!r} is not valid: {BAD['PIPLOCKHOOK'][1]}"
    ]
    assert "plhsmall" not in venv.installed()


def test_opted_out_everywhere(venv, tmp_path, holder):
    h = holder(venv.lock_path)
    h.hold("exclusive")  # a locked entry point would wait: PIPLOCKHOOK=0 ones do not
    env = venv.env(PIPLOCKHOOK="0", PIPLOCKHOOK_TIMEOUT="0.5")
    assert venv.pip("list", env=env).returncode == 0
    ran = start(venv, "piplockhook", ["run", "--", "touch", "<marker>"], env, tmp_path)
    # run is an explicit request: PIPLOCKHOOK=0 does not drop its lock, so it waits and times out
    assert ran.returncode == 1 and "timed out" in ran.stderr and not (tmp_path / "ran").exists(), ran.stderr
    verified = start(venv, "piplockhook", ["verify", "--quick"], env, tmp_path)
    assert verified.returncode == 0, verified.stderr  # it did not wait, and says why it did not
    assert "WARNING: piplockhook: PIPLOCKHOOK=0 opts out: verifying without the lock;" in verified.stderr
    info = json.loads(start(venv, "piplockhook", ["status", "--json"], env, tmp_path).stdout)
    assert not info["active"] and "PIPLOCKHOOK=0" in info["reasons"][0]
    assert "locking works" in start(venv, "piplockhook", ["check"], env, tmp_path).stdout


def test_the_timeout_is_honoured_by_pip_run_and_verify_and_the_option_wins(venv, holder, tmp_path):
    h = holder(venv.lock_path)
    h.hold("exclusive")
    env = venv.env(PIPLOCKHOOK_TIMEOUT="0.3")
    for program, args, status in (
        ("pip", ["list"], 1),
        ("piplockhook", ["run", "--", "true"], 1),
        ("piplockhook", ["verify", "--quick"], 1),  # the same event, the same status
    ):
        result = start(venv, program, args, env, tmp_path)
        assert result.returncode == status, (args, result.stderr)
        assert "ERROR: piplockhook: timed out after 0.3s (PIPLOCKHOOK_TIMEOUT) waiting for the " in result.stderr
    result = start(venv, "piplockhook", ["run", "--timeout", "0.2", "--", "true"], env, tmp_path)
    assert "timed out after 0.2s (--timeout)" in result.stderr


def test_the_lockfile_and_debug_settings_reach_every_locking_entry_point(venv, tmp_path):
    path = str(tmp_path / "elsewhere" / "x.lock")
    env = venv.env(PIPLOCKHOOK_LOCKFILE=path, PIPLOCKHOOK_DEBUG="1")
    for program, args in (("pip", ["list"]), ("piplockhook", ["run", "--", "true"]), ("piplockhook", ["verify"])):
        result = start(venv, program, args, env, tmp_path)
        assert result.returncode == 0, (args, result.stderr)
        assert f"lock {path} (waited" in result.stderr, (args, result.stderr)
    info = json.loads(start(venv, "piplockhook", ["status", "--json"], env, tmp_path).stdout)
    assert info["lock_path"] == path
    assert path.rsplit(os.sep, 1)[0] in start(venv, "piplockhook", ["check"], env, tmp_path).stdout


def test_a_switched_on_run_locks_where_the_default_is_off(venv, holder, tmp_path):
    assert start(venv, "piplockhook", ["disable"], venv.env(), tmp_path).returncode == 0
    try:
        h = holder(venv.lock_path)
        h.hold("exclusive")
        env = venv.env(PIPLOCKHOOK="1", PIPLOCKHOOK_TIMEOUT="0.3")
        assert venv.pip("list", env=env, check=False).returncode == 1  # locked: it timed out
        assert venv.pip("list", env=venv.env(PIPLOCKHOOK_TIMEOUT="0.3")).returncode == 0  # the default: off
        # `run` locks whatever the default: it is an explicit request.
        assert (
            start(venv, "piplockhook", ["run", "--timeout", "0.3", "--", "true"], venv.env(), tmp_path).returncode == 1
        )
    finally:
        start(venv, "piplockhook", ["enable"], venv.env(), tmp_path)


def test_run_keeps_its_lock_under_the_opt_out_and_its_pips_stay_out(venv, holder):
    # run is an explicit request: PIPLOCKHOOK=0 does not drop its lock (it waits
    # for the holder); the pips it runs inherit PIPLOCKHOOK=0 and take none.
    h = holder(venv.lock_path)
    h.hold("exclusive")
    proc = Background(
        [os.path.join(venv.bin, "piplockhook"), "run", "--", os.path.join(venv.bin, "pip"), "list"],
        venv.env(PIPLOCKHOOK="0", PIPLOCKHOOK_DEBUG="1"),
    )
    proc.expect(r"piplockhook: waiting for exclusive lock on")
    assert proc.running()
    h.release()
    rc, out, err = proc.finish(timeout=60)
    assert rc == 0 and "Package" in out, err
    assert "acquired exclusive lock" in err and "shared lock" not in err, err  # the pip inside took none
