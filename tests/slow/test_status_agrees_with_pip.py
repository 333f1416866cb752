"""`piplockhook status` and `check` say what a real pip here does (issue 29):
a lock path that is a directory stops pip, a user who may only read the
environment is locked for reading, PIPLOCKHOOK in this shell speaks for this
shell, a system Python's `pip install --user` lock is shown, and the exit
status tells a script whether a pip here is locked. Each case runs the real
pips beside status and check, and every NOT line's hint is followed to show
that it fixes the case."""

import json
import os
import subprocess

import pytest
from procs import lock_waiters, wait_until
from test_hardening import as_nobody, shared_venv  # noqa: F401  (shared_venv: a root-owned venv `nobody` reads)

pytestmark = pytest.mark.slow

STATUS_LOCKED, STATUS_NOT_LOCKED = 0, 1


def cli(venv, *args, env=None, user=None):
    return subprocess.run(
        [os.path.join(venv.bin, "piplockhook"), *args],
        env=env or venv.env(),
        user=user,
        cwd="/tmp" if user else None,
        capture_output=True,
        text=True,
        timeout=120,
    )


def status_json(venv, env=None, user=None):
    result = cli(venv, "status", "--json", env=env, user=user)
    return result.returncode, json.loads(result.stdout)


def ours(stderr):
    return [line for line in stderr.splitlines() if "piplockhook" in line]


def locked_by_debug(venv, *pip_args, env):
    """Did this pip take the environment's lock (PIPLOCKHOOK_DEBUG's line)?"""
    result = venv.pip(*pip_args, env=dict(env, PIPLOCKHOOK_DEBUG="1"))
    return f"acquired shared lock {venv.lock_path}" in result.stderr


def test_a_directory_in_place_of_the_lock_file_stops_pip_and_status_and_check_say_so(venv):
    venv.pip("install", "plhsmall==1.0")
    if os.path.exists(venv.lock_path):
        os.remove(venv.lock_path)
    os.mkdir(venv.lock_path)
    try:
        error = f"ERROR: piplockhook: the lock path {venv.lock_path} is a directory"
        for pip_args in (("list",), ("install", "plhsmall==2.0"), ("uninstall", "-y", "plhsmall")):
            result = venv.pip(*pip_args, check=False)
            assert result.returncode == 1 and ours(result.stderr) == [error], (pip_args, result.stderr)
        assert venv.installed()["plhsmall"] == "1.0"  # nothing changed

        said = f"NOT locked: the lock path {venv.lock_path} is a directory; pip stops with an ERROR here"
        hint = f"  hint: remove or rename the directory {venv.lock_path}, or set PIPLOCKHOOK_LOCKFILE"
        status = cli(venv, "status")
        assert status.returncode == STATUS_NOT_LOCKED, status.stdout
        lines = status.stdout.splitlines()
        assert lines[1].startswith(said) and lines[2].startswith(hint), status.stdout
        assert "pip runs unlocked" not in status.stdout
        rc, info = status_json(venv)
        assert rc == STATUS_NOT_LOCKED and info["pip_here"] == "error" and info["hints"][0] in lines[2]
        check = cli(venv, "check")
        assert check.returncode == 1 and check.stdout.splitlines()[:2] == [
            f"locking does NOT work: {lines[1][len('NOT locked: ') :]}",
            lines[2],
        ], check.stdout

        # The hint's second way: another lock file.
        elsewhere = venv.env(PIPLOCKHOOK_LOCKFILE=os.path.join(venv.path, "elsewhere.lock"))
        assert cli(venv, "status", env=elsewhere).returncode == STATUS_LOCKED
        assert venv.pip("list", env=elsewhere).returncode == 0
    finally:
        os.rmdir(venv.lock_path)  # the hint's first way
    assert cli(venv, "status").returncode == STATUS_LOCKED
    assert venv.pip("uninstall", "-y", "plhsmall").returncode == 0


def test_a_user_who_may_only_read_is_locked_for_reading_and_told_so(shared_venv, holder):  # noqa: F811
    shared_venv.pip("list")  # root makes the lock file, as any pip run of root's does
    env = shared_venv.env(HOME="/tmp")
    check = cli(shared_venv, "check", env=env, user="nobody")
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"locking works on {shared_venv.lock_path}" in check.stdout and "read-only" in check.stdout
    truth = f"this user may only read {shared_venv.path}: its pip runs that read"
    assert truth in check.stdout and "writing is root's" in check.stdout
    assert "NOT" not in check.stdout and "Permission denied" not in check.stdout

    h = holder(shared_venv.lock_path)
    h.hold("exclusive")  # root's writer
    rc, info = status_json(shared_venv, env=env, user="nobody")
    assert rc == STATUS_LOCKED and info["pip_here"] == "locked" and info["read_only"], info
    assert truth in info["lock_note"] and [x["pid"] for x in info["holders"]] == [h.proc.pid]
    # ... and it is so: nobody's pip list waits for root's holder (here until its timeout).
    waited = as_nobody(shared_venv, "list", PIPLOCKHOOK_TIMEOUT="0.5")
    assert waited.returncode == 1 and "ERROR: piplockhook: timed out after 0.5s" in waited.stderr, waited.stderr
    h.release()
    assert as_nobody(shared_venv, "list").returncode == 0


def test_a_user_who_cannot_create_the_lock_file_is_told_who_can(shared_venv):  # noqa: F811
    for name in (".lock", ".lock.turnstile"):
        path = os.path.join(shared_venv.path, name)
        if os.path.exists(path):
            os.remove(path)
    env = shared_venv.env(HOME="/tmp")
    why = f"cannot create {shared_venv.lock_path}: Permission denied"
    listing = as_nobody(shared_venv, "list", PIPLOCKHOOK_DEBUG="1")
    assert listing.returncode == 0 and f"running unlocked: {why}" in listing.stderr, listing.stderr
    status = cli(shared_venv, "status", env=env, user="nobody")
    lines = status.stdout.splitlines()
    assert status.returncode == STATUS_NOT_LOCKED and lines[1] == f"NOT locked: {why}; pip runs unlocked here"
    assert lines[2].startswith("  hint: ask root to create it once (any pip run of theirs there does, or `touch ")
    check = cli(shared_venv, "check", env=env, user="nobody")
    assert check.returncode == 1 and check.stdout.splitlines() == [
        f"locking does NOT work: {lines[1][len('NOT locked: ') :]}",
        lines[2],
    ]
    shared_venv.pip("list")  # the hint, followed by root
    assert cli(shared_venv, "status", env=env, user="nobody").returncode == STATUS_LOCKED


def test_status_speaks_for_this_shell_where_the_switch_is_set(venv):
    plain = venv.env()
    # PIPLOCKHOOK=0 where the default is on: this shell's pips run unlocked, others lock.
    opted_out = venv.env(PIPLOCKHOOK="0")
    status = cli(venv, "status", env=opted_out)
    assert status.returncode == STATUS_NOT_LOCKED
    assert status.stdout.splitlines()[1:4] == [
        "NOT active for pip here (pip runs unlocked):",
        "  - PIPLOCKHOOK=0 in this shell opts its pip runs out (pip runs without it take the lock)",
        "    hint: unset PIPLOCKHOOK to lock this shell's pip runs",
    ]
    assert not locked_by_debug(venv, "list", env=opted_out) and locked_by_debug(venv, "list", env=plain)
    assert cli(venv, "status").returncode == STATUS_LOCKED

    assert cli(venv, "disable").returncode == 0
    try:
        # PIPLOCKHOOK=1 where the default is off: only runs with the variable lock.
        opted_in = venv.env(PIPLOCKHOOK="1")
        status = cli(venv, "status", env=opted_in)
        assert status.returncode == STATUS_LOCKED
        assert status.stdout.splitlines()[1:3] == [
            "active for this shell's pip runs (PIPLOCKHOOK=1); the environment's default is off, "
            "so pip runs without PIPLOCKHOOK=1 are NOT locked",
            "  hint: `piplockhook enable` locks every pip run here, not only those with PIPLOCKHOOK=1",
        ]
        rc, info = status_json(venv, env=opted_in)
        assert (rc, info["switch"], info["default"], info["pip_here"]) == (0, "1", "off", "locked")
        assert locked_by_debug(venv, "list", env=opted_in) and not locked_by_debug(venv, "list", env=plain)
        status = cli(venv, "status")
        assert status.returncode == STATUS_NOT_LOCKED and status.stdout.splitlines()[2:4] == [
            "  - the environment's default is off (`piplockhook disable`)",
            "    hint: `piplockhook enable` locks every pip run here; PIPLOCKHOOK=1 locks one run",
        ]
    finally:
        assert cli(venv, "enable").returncode == 0  # the hint, followed
    assert cli(venv, "status").returncode == STATUS_LOCKED and locked_by_debug(venv, "list", env=plain)
    assert cli(venv, "status", env=venv.env(PIPLOCKHOOK="maybe")).returncode == 2


def test_a_system_python_s_status_shows_the_lock_of_pip_install_user(make_standalone, holder, tmp_path):
    interpreter = make_standalone()
    user_base = tmp_path / "userbase"
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = interpreter.env(PYTHONUSERBASE=str(user_base), TMPDIR=str(temp))
    user_lock = str(user_base / ".piplockhook.lock")
    status = [interpreter.python, "-m", "piplockhook", "status"]

    info = json.loads(interpreter.run([*status, "--json"], env=env).stdout)
    locks = [(lock["kind"], lock["taken_by"], lock["path"]) for lock in info["locks"]]
    assert locks[0] == ("piplockhook", "pip", interpreter.lock_path) and locks[-1] == (
        "piplockhook",
        "pip --user",
        user_lock,
    )
    assert {kind for kind, _, _ in locks[1:-1]} == {"uv"} and not info["locks"][-1]["exists"], locks

    user_base.mkdir()
    h = holder(user_lock)
    h.hold("exclusive")
    text = interpreter.run(status, env=env).stdout
    assert f"lock of pip --user: {user_lock}\nheld by:\n  pid {h.proc.pid} (exclusive, running " in text, text
    # ... the very file pip install --user waits for.
    pip = interpreter.start(
        [interpreter.python, "-m", "pip", "install", "--user", "plhsmall"], env=dict(env, PIPLOCKHOOK_DEBUG="1")
    )
    try:
        wait_until(lambda: pip.proc.pid in lock_waiters(user_lock), what="pip install --user waiting")
        h.release()
        rc, _, err = pip.finish()
        assert rc == 0 and f"acquired shared lock {user_lock} " in err, err
    finally:
        pip.kill()
    assert list(user_base.glob("lib/python*/site-packages/plhsmall*"))
