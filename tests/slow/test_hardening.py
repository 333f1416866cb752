"""Faults and hostile input: the hook never breaks pip and never lets two writers in."""

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest
from procs import Venv, lock_holders, wait_until

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "variable, value",
    [
        ("PIPLOCKHOOK", "yes please"),
        ("PIPLOCKHOOK", "-1"),
        ("PIPLOCKHOOK", b"\xff\xfe"),
        ("PIPLOCKHOOK_TIMEOUT", "1e999"),
        ("PIPLOCKHOOK_TIMEOUT", "-0.5"),
        ("PIPLOCKHOOK_TIMEOUT", "9" * 400),
        ("PIPLOCKHOOK_TIMEOUT", b"\xff"),
        ("PIPLOCKHOOK_DEBUG", b"\xc3\x28"),
        ("PIPLOCKHOOK_DEBUG", "2"),
    ],
)
def test_bad_values_of_every_kind(venv, variable, value):
    env = venv.env()
    env[variable] = value  # bytes: a value that is not UTF-8
    result = subprocess.run(
        [os.path.join(venv.bin, "pip"), "install", "plhsmall"],
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ERROR: piplockhook: {variable}="), result.stderr
    assert "plhsmall" not in venv.installed()


def test_lock_path_that_is_a_symlink_locks_its_target(venv, tmp_path, holder, background):
    real = tmp_path / "real.lock"
    real.touch()
    link = tmp_path / "link.lock"
    link.symlink_to(real)
    h = holder(str(real))
    h.hold("exclusive")
    proc = background(venv, "list", PIPLOCKHOOK_LOCKFILE=str(link))
    proc.expect("waiting for shared lock")
    h.release()
    assert proc.finish()[0] == 0


def test_holder_killed_by_sigkill_frees_the_lock_at_once(venv):
    venv.pip("install", "plhsmall==1.0")
    env = venv.env()
    env.pop("PIP_NO_INPUT")
    pip = subprocess.Popen(
        [os.path.join(venv.bin, "pip"), "uninstall", "plhsmall"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(
            lambda: lock_holders(venv.lock_path).get(pip.pid) == "exclusive", what="pip holding the lock at its prompt"
        )
        waiter = subprocess.Popen(
            [os.path.join(venv.bin, "pip"), "list"],
            env=venv.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_until(lambda: waiter.pid in __import__("procs").lock_waiters(venv.lock_path), what="list waiting")
        pip.kill()
        _out, err = waiter.communicate(timeout=60)
        assert waiter.returncode == 0
        assert (
            f"held by pid {pip.pid} (exclusive" in err and "uninstall plhsmall" in err
        )  # the prompt's holder was named
        assert "acquired shared lock after waiting" in err
    finally:
        pip.kill()
        pip.wait(timeout=10)
    assert venv.installed()["plhsmall"] == "1.0"  # nothing half-done: it was at the prompt


def test_sigterm_while_waiting_ends_promptly(venv, holder, background):
    h = holder(venv.lock_path)
    h.hold("exclusive")
    proc = background(venv, "install", "plhsmall")
    proc.expect("waiting for shared lock")
    proc.proc.send_signal(signal.SIGTERM)
    rc, _, err = proc.finish(timeout=20)
    assert rc == -signal.SIGTERM and "Traceback" not in err
    h.release()
    assert "plhsmall" not in venv.installed()


def _others_can_reach(path):
    path = os.path.realpath(path)
    while path != "/":
        path = os.path.dirname(path)
        if not os.stat(path).st_mode & 0o001:
            return False
    return True


def _interpreter_others_can_run():
    # The venv's python links to its base interpreter, which `nobody` must be
    # able to run (pyenv's live under /root here): same version as ours.
    version = "%d.%d" % sys.version_info[:2]
    base = getattr(sys, "_base_executable", sys.executable)
    for candidate in (base, f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"):
        if os.path.exists(candidate) and _others_can_reach(candidate):
            probe = subprocess.run(
                [candidate, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
            )
            if probe.stdout.strip() == version:
                return candidate
    pytest.skip(f"no Python {version} that another user can run")


@pytest.fixture(scope="module")
def shared_venv(make_venv, wheelhouse):
    """A root-owned venv that the user `nobody` can read but not write."""
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    python = _interpreter_others_can_run()
    base = tempfile.mkdtemp(prefix="plh-shared-")
    os.chmod(base, 0o755)
    house = os.path.join(base, "wheels")
    shutil.copytree(wheelhouse, house)
    path = os.path.join(base, "venv")
    subprocess.run([python, "-m", "venv", path], check=True, timeout=300)
    venv = Venv(path, house)
    venv.run([venv.python, "-m", "pip", "install", "piplockhook"])
    for folder, dirs, files in os.walk(base):
        for name in dirs + files:
            p = os.path.join(folder, name)
            if not os.path.islink(p):
                os.chmod(p, os.stat(p).st_mode | 0o444 | (0o111 if os.path.isdir(p) else 0))
    yield venv
    shutil.rmtree(base, ignore_errors=True)


def as_nobody(venv, *pip_args, **env):
    environment = venv.env(HOME="/tmp", **env)
    return subprocess.run(
        [os.path.join(venv.bin, "pip"), *pip_args],
        env=environment,
        user="nobody",
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/tmp",
    )


def test_other_user_without_a_lock_file_runs_unlocked_and_is_told_why(shared_venv):
    if os.path.exists(shared_venv.lock_path):
        os.remove(shared_venv.lock_path)
    result = as_nobody(shared_venv, "list", PIPLOCKHOOK_DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert "running unlocked, without the shared lock" in result.stderr and "cannot create" in result.stderr
    assert "Traceback" not in result.stderr


def test_other_user_shares_a_0644_lock_file_for_reading(shared_venv, holder, tmp_path):
    shared_venv.pip("list")  # root creates the lock file as a pip run would
    mode = os.stat(shared_venv.lock_path).st_mode & 0o777
    assert mode & 0o044 == 0o044  # readable by others: flock works on a read-only descriptor
    h = holder(shared_venv.lock_path)
    h.hold("exclusive")
    env = shared_venv.env(HOME="/tmp")
    proc = subprocess.Popen(
        [os.path.join(shared_venv.bin, "pip"), "list"],
        env=env,
        user="nobody",
        cwd="/tmp",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(
            lambda: proc.pid in __import__("procs").lock_waiters(shared_venv.lock_path), what="nobody's pip waiting"
        )
        h.release()
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "piplockhook" in out, err
    finally:
        proc.kill()


def test_other_user_cannot_install_and_gets_pips_own_message(shared_venv):
    result = as_nobody(shared_venv, "install", "plhsmall")
    assert result.returncode != 0
    assert "Permission denied" in result.stderr or "--user" in result.stderr
    assert "Traceback" not in result.stderr and "WARNING: piplockhook" not in result.stderr


def assert_failure_is_pips(stderr, unlocked_because=None):
    # pip itself prints a traceback when moving the --target tree fails; the
    # exception must be raised by pip, not by the hook, and the hook says
    # nothing but, where no lock could be had, that it runs unlocked and why.
    if "Traceback" in stderr:
        innermost = stderr.split("Traceback")[-1].split('File "')[-1]
        assert "piplockhook" not in innermost and "wrapt" not in innermost, stderr
    ours = [line for line in stderr.splitlines() if line.startswith("WARNING: piplockhook")]
    if unlocked_because is None:
        assert ours == [], stderr
    else:
        assert (
            len(ours) == 1
            and ours[0].startswith("WARNING: piplockhook: running unlocked: ")
            and unlocked_because in ours[0]
        ), stderr


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 256 KiB tmpfs mounted for one test (root only)."""
    point = tmp_path / "small"
    point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def test_disk_full_fails_with_pips_error_and_releases_the_lock(venv, small_tmpfs):
    target = small_tmpfs / "target"
    result = venv.pip(
        "install", "--target", str(target), "plhdemo==3.0", env=venv.env(PIPLOCKHOOK_DEBUG="1"), check=False
    )
    assert result.returncode != 0
    assert "No space left on device" in result.stderr
    assert_failure_is_pips(result.stderr)
    assert "released exclusive lock" in result.stderr
    assert not lock_holders(str(target / ".lock"))


def test_read_only_target_runs_unlocked_and_pip_says_why_it_fails(venv, small_tmpfs):
    target = small_tmpfs / "target"
    target.mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    result = venv.pip("install", "--target", str(target), "plhsmall", env=venv.env(PIPLOCKHOOK_DEBUG="1"), check=False)
    assert result.returncode != 0
    assert "Read-only file system" in result.stderr
    # The lock file could not be created, and pip cannot write there either:
    # pip's own error speaks, the reason is a debug line only (issue 29, item 6).
    assert_failure_is_pips(result.stderr)
    assert f"piplockhook: running unlocked: cannot create {target / '.lock'}: Read-only file system" in result.stderr
