"""The piplockhook command, run as a real process in a venv that has the hook."""

import json
import os
import re
import signal
import sys

import pytest
from procs import Background

pytestmark = pytest.mark.slow

PROBE = "import fcntl, sys; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_{}|fcntl.LOCK_NB)"


def cli(venv, *args, env=None, check=False, **kwargs):
    return venv.run([os.path.join(venv.bin, "piplockhook"), *args], env=env or venv.env(), check=check, **kwargs)


def can_lock(venv, path, mode):
    """Could another process take the lock on `path` in `mode` right now?"""
    probe = venv.run([sys.executable, "-c", PROBE.format("EX" if mode == "exclusive" else "SH"), path], check=False)
    return probe.returncode == 0


def start_cli(venv, *args, **env):
    return Background([os.path.join(venv.bin, "piplockhook"), *args], venv.env(**env))


WAIT_FOR_STDIN = [sys.executable, "-c", "import sys; print('ready', flush=True); sys.stdin.readline()"]


@pytest.mark.parametrize("flag, blocked", [("-x", "shared"), ("-s", "exclusive")])
def test_run_holds_the_lock_for_the_whole_command(venv, flag, blocked):
    # The command runs in a child process, started after the lock was taken:
    # unlike sage-flock's exec, the lock survives it.
    proc = start_cli(venv, "run", flag, "--", *WAIT_FOR_STDIN)
    try:
        proc.expect("ready", stream="stdout")
        assert not can_lock(venv, venv.lock_path, blocked)
        if flag == "-s":
            assert can_lock(venv, venv.lock_path, "shared")
        proc.send("done")
        assert proc.finish()[0] == 0
        assert can_lock(venv, venv.lock_path, "exclusive")
    finally:
        proc.kill()


def test_run_returns_the_exit_status(venv):
    assert cli(venv, "run", "--", "sh", "-c", "exit 3").returncode == 3
    assert cli(venv, "run", "sh", "-c", "kill -TERM $$").returncode == 128 + signal.SIGTERM
    assert cli(venv, "run", "--", "no-such-command-xyz").returncode == 127


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_forwards_sigterm_and_sigint(venv, signum):
    child = (
        "import signal, sys, time\n"
        f"signal.signal({int(signum)}, lambda *a: (print('got', {int(signum)}, flush=True), sys.exit(7)))\n"
        "print('ready', flush=True)\n"
        # Short sleeps: a signal landing after the print but before a long
        # sleep began would only be handled when that sleep ended.
        "for _ in range(600): time.sleep(0.1)\n"
    )
    proc = start_cli(venv, "run", "--", sys.executable, "-c", child)
    try:
        proc.expect("ready", stream="stdout")
        proc.proc.send_signal(signum)
        rc, out, _err = proc.finish(timeout=30)
        assert f"got {int(signum)}" in out
        assert rc == 7
        assert can_lock(venv, venv.lock_path, "exclusive")
    finally:
        proc.kill()


def test_run_forwards_a_signal_that_arrives_while_the_command_starts(venv):
    # The command signals `run` as its first act, before `run` may have had time
    # to set up forwarding: the signal must still reach the command, not kill `run`
    # and leave the command running unlocked (seen once in CI under 3.15).
    script = (
        'trap "echo got TERM; exit 7" TERM; kill -TERM $PPID; i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done'
    )
    result = cli(venv, "run", "--", "sh", "-c", script, timeout=60)
    assert "got TERM" in result.stdout
    assert result.returncode == 7
    assert can_lock(venv, venv.lock_path, "exclusive")


def test_pip_inside_run_does_not_wait(venv):
    result = cli(
        venv, "run", "-x", "--", os.path.join(venv.bin, "pip"), "list", env=venv.env(PIPLOCKHOOK_DEBUG="1"), timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "skipped shared lock" in result.stderr and "nested" in result.stderr


def test_pip_needing_more_than_run_holds_warns_once_and_goes_on(venv):
    venv.pip("install", "plhsmall==1.0")
    result = cli(venv, "run", "-s", "--", os.path.join(venv.bin, "pip"), "uninstall", "-y", "plhsmall", timeout=60)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING: ")]
    assert len(warnings) == 1 and "-x" in warnings[0]
    assert "plhsmall" not in venv.installed()


def test_run_waits_with_the_words_pip_uses(venv, holder, tmp_path):
    path = str(tmp_path / "a" / "b" / "sage.lock")  # parents are created
    assert cli(venv, "run", "--lockfile", path, "--", "true").returncode == 0
    h = holder(path)
    h.hold("shared")
    proc = start_cli(venv, "run", "--lockfile", path, "--", "true")
    try:
        # The waiting line comes after a second of waiting, the acquired line once it is had.
        proc.expect("piplockhook: waiting for exclusive lock on ")
        h.release()
        rc, _, err = proc.finish()
        assert rc == 0
        assert re.search(
            r"^piplockhook: waiting for exclusive lock on .*/b \(.*sage\.lock\), held by pid \d+ \(shared", err, re.M
        ), err
        assert re.search(r"^piplockhook: acquired exclusive lock after waiting \d+\.\ds$", err, re.M), err
    finally:
        proc.kill()


def test_run_is_an_explicit_request_that_piplockhook_0_does_not_drop(venv):
    # PIPLOCKHOOK=0 opts pip runs out; run was asked for its lock and takes it
    # (before: it ran COMMAND unlocked, saying nothing, and this probe got the lock).
    proc = start_cli(venv, "run", "-x", "--", *WAIT_FOR_STDIN, PIPLOCKHOOK="0", PIPLOCKHOOK_DEBUG="1")
    try:
        proc.expect("ready", stream="stdout")
        assert not can_lock(venv, venv.lock_path, "shared")
        proc.send("done")
        rc, _, err = proc.finish()
        assert rc == 0
        acquired = rf"^piplockhook: acquired exclusive lock {re.escape(venv.lock_path)} \(waited "
        assert re.search(acquired, err, re.M), err
        assert "  " not in err and "skipped" not in err, err
        assert can_lock(venv, venv.lock_path, "exclusive")
    finally:
        proc.kill()


def test_ctrl_c_on_a_waiting_run_says_what_pip_says(venv, holder):
    h = holder(venv.lock_path)
    h.hold("exclusive")
    proc = start_cli(venv, "run", "--", "touch", os.path.join(venv.path, "ran"))
    try:
        proc.expect("piplockhook: waiting for exclusive lock on ")  # after its second of patience
        proc.proc.send_signal(signal.SIGINT)
        rc, _, err = proc.finish(timeout=30)
        assert rc == 1  # pip's status for a cancelled command
        assert err.splitlines()[-1] == "ERROR: Operation cancelled by user", err
        assert "Traceback" not in err and not os.path.exists(os.path.join(venv.path, "ran"))
    finally:
        proc.kill()
        h.release()


def test_run_timeout(venv, holder):
    h = holder(venv.lock_path)
    h.hold("exclusive")
    result = cli(venv, "run", "--timeout", "0.3", "--", "true")
    assert result.returncode == 1
    assert "ERROR: piplockhook: timed out after 0.3s (--timeout)" in result.stderr
    h.release()


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--bogus", "--", "true"], "unrecognized arguments"),
        (["run", "--"], "no COMMAND to run"),
        (["run"], "no COMMAND to run"),
        (["run", "-s", "-x", "true"], "not allowed with argument"),
        (["run", "--timeout", "-1", "true"], "--timeout='-1' is not valid: expected a number of seconds, 0 or more"),
        (["nope"], "invalid choice"),
    ],
)
def test_usage_errors_are_one_line_exit_2(venv, args, message):
    result = cli(venv, *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: piplockhook") and message in lines[0], result.stderr


def test_lockfile_that_is_a_directory_is_a_usage_error(venv, tmp_path):
    result = cli(venv, "run", "--lockfile", str(tmp_path), "--", "true")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "not a directory" in result.stderr
    assert result.stderr.startswith(f"ERROR: piplockhook: --lockfile='{tmp_path}' is not valid")


def test_help_for_every_subcommand_has_examples(venv):
    for sub in ("run", "status", "enable", "disable", "check", "verify"):
        result = cli(venv, sub, "--help")
        assert result.returncode == 0 and "example" in result.stdout, sub


def test_status_shows_a_live_holder_and_hides_a_dead_one(venv, holder):
    h = holder(venv.lock_path)
    h.hold("shared")
    info = json.loads(cli(venv, "status", "--json", check=True).stdout)
    assert [(x["pid"], x["mode"]) for x in info["holders"]] == [(h.proc.pid, "shared")]
    assert "lockholder.py" in info["holders"][0]["command"]
    assert f"pid {h.proc.pid} (shared, running " in cli(venv, "status").stdout
    h.proc.kill()  # SIGKILL: the kernel drops its lock, status must not show it
    h.proc.wait(timeout=10)
    info = json.loads(cli(venv, "status", "--json", check=True).stdout)
    assert info["holders"] == []


def test_status_json_keys_are_stable(venv):
    info = json.loads(cli(venv, "status", "--json", check=True).stdout)
    assert sorted(info) == sorted(
        [
            "version",
            "python",
            "site_packages",
            "installed",
            "default",
            "switch",
            "active",
            "reasons",
            "pip_here",
            "hints",
            "environment",
            "lock_path",
            "lock_file_exists",
            "lock_note",
            "locked",
            "unlocked_reason",
            "read_only",
            "holders",
            "holders_known",
            "leftovers",
            "journal",
            "journal_line",
            "locks",
        ]
    )
    assert (info["journal"], info["journal_line"]) == ("", "")  # no journal beside the lock
    assert info["installed"] and info["active"] and info["reasons"] == [] and info["pip_here"] == "locked"
    assert info["lock_path"] == venv.lock_path
    # In a venv uv locks <venv>/.lock too, and pip refuses --user: one file
    # (test_uv_system.py and test_status_agrees_with_pip.py: the others).
    assert [(lock["path"], lock["kind"]) for lock in info["locks"]] == [(venv.lock_path, "piplockhook")]
    assert sorted(info["locks"][0]) == ["exists", "for", "holders", "kind", "note", "path", "taken_by"]


def test_status_reports_leftovers_of_a_killed_pip(venv):
    leftover = os.path.join(venv.site_packages, "~lhdemo")
    os.mkdir(leftover)
    try:
        info = json.loads(cli(venv, "status", "--json", check=True).stdout)
        assert info["leftovers"] == [leftover]
        text = cli(venv, "status").stdout
        assert "leftovers of interrupted pip runs" in text
        # A stash may be the only copy (issue 28): status never calls it deletable.
        assert "delete" not in text and "piplockhook verify --repair" in text
    finally:
        os.rmdir(leftover)


def test_status_says_why_it_is_not_active(venv):
    result = cli(venv, "status", "--json", env=venv.env(PIPLOCKHOOK="0"))
    info = json.loads(result.stdout)
    assert result.returncode == 1 and not info["active"] and "PIPLOCKHOOK=0" in info["reasons"][0]
    assert info["pip_here"] == "unlocked" and info["hints"] == ["unset PIPLOCKHOOK to lock this shell's pip runs"]


def test_disable_enable_round_trip_seen_by_real_pip(venv):
    def events(**env):
        return "acquired shared lock" in venv.pip("list", env=venv.env(PIPLOCKHOOK_DEBUG="1", **env)).stderr

    try:
        assert cli(venv, "disable", check=True).returncode == 0
        result = cli(venv, "status", "--json")
        info = json.loads(result.stdout)
        assert result.returncode == 1 and info["default"] == "off" and not info["active"]
        assert not events()
        assert events(PIPLOCKHOOK="1")
    finally:
        assert cli(venv, "enable", check=True).returncode == 0
    assert json.loads(cli(venv, "status", "--json", check=True).stdout)["active"]
    assert events()
    assert not events(PIPLOCKHOOK="0")


def test_check_proves_locking_works_here(venv):
    result = cli(venv, "check", check=True)
    assert "locking works in" in result.stdout


def test_python_dash_m_piplockhook(venv):
    result = venv.run([venv.python, "-m", "piplockhook", "status"])
    assert "active: every pip run" in result.stdout
