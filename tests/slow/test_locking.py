"""Black-box lock behaviour of real pips against a lock held by another process.

Each "waits" case is proven by the pip's own waiting line, the kernel's list of
blocked flock waiters (/proc/locks), and the pip finishing only after release;
each is paired with the same run under PIPLOCKHOOK=0 finishing while the lock
is still held.
"""

import os

import pytest
from procs import lock_waiters, wait_until

pytestmark = pytest.mark.slow

WAITING = r"piplockhook: waiting for (shared|exclusive) lock on"


def assert_waits(venv, proc, mode, holder):
    proc.expect(WAITING.replace("(shared|exclusive)", mode))
    wait_until(lambda: proc.proc.pid in lock_waiters(venv.lock_path), what="pip blocked in flock")
    assert proc.running()
    holder.release()
    rc, out, err = proc.finish()
    assert rc == 0, out + err
    assert f"acquired {mode} lock after waiting" in err
    return out, err


def assert_does_not_wait(proc):
    rc, out, err = proc.finish()
    assert rc == 0, out + err
    assert "waiting for" not in err
    return out, err


@pytest.mark.parametrize("hook", ["on", "0"])
def test_list_waits_for_an_exclusive_holder(venv, holder, background, hook):
    h = holder(venv.lock_path)
    h.hold("exclusive")
    proc = background(venv, "list", PIPLOCKHOOK=hook)
    if hook == "0":
        assert_does_not_wait(proc)  # finished while the lock is still held
        h.release()
    else:
        out, _ = assert_waits(venv, proc, "shared", h)
        assert "piplockhook" in out


@pytest.mark.parametrize("command", ["list", "freeze", "show pip", "check"])
def test_readers_do_not_wait_for_a_shared_holder(venv, holder, background, command):
    h = holder(venv.lock_path)
    h.hold("shared")
    assert_does_not_wait(background(venv, *command.split()))
    h.release()


@pytest.mark.parametrize("hook", ["on", "0"])
def test_uninstall_waits_for_a_shared_holder(venv, holder, background, hook):
    venv.pip("install", "plhsmall==1.0")
    h = holder(venv.lock_path)
    h.hold("shared")
    proc = background(venv, "uninstall", "-y", "plhsmall", PIPLOCKHOOK=hook)
    if hook == "0":
        assert_does_not_wait(proc)
        h.release()
    else:
        assert "plhsmall" in venv.installed()  # nothing removed while waiting
        assert_waits(venv, proc, "exclusive", h)
    assert "plhsmall" not in venv.installed()


@pytest.mark.parametrize("hook", ["on", "0"])
def test_install_resolves_under_a_shared_holder_and_waits_to_write(venv, holder, background, hook):
    venv.pip("uninstall", "-y", "plhsmall", check=False)
    h = holder(venv.lock_path)
    h.hold("shared")
    proc = background(venv, "install", "plhsmall==2.0", PIPLOCKHOOK=hook, PIPLOCKHOOK_DEBUG=1)
    if hook == "0":
        assert_does_not_wait(proc)
        h.release()
    else:
        proc.expect(r"acquired shared lock .* \(waited 0\.0")  # resolving did not wait
        proc.expect(r"released shared lock .* \(to take it exclusive\)")
        proc.expect(WAITING.replace("(shared|exclusive)", "exclusive"))
        # It resolved and prepared the wheel, and wrote nothing yet.
        assert any("plhsmall" in line for line in proc.lines["stdout"])
        assert not any("Installing collected packages" in line for line in proc.lines["stdout"])
        assert "plhsmall" not in venv.installed()
        assert_waits(venv, proc, "exclusive", h)
    assert venv.installed()["plhsmall"] == "2.0"


def test_already_satisfied_install_stays_shared(venv, holder, background):
    venv.pip("install", "plhsmall==1.0")
    h = holder(venv.lock_path)
    h.hold("shared")
    _, err = assert_does_not_wait(background(venv, "install", "plhsmall==1.0", PIPLOCKHOOK_DEBUG=1))
    assert "exclusive" not in err
    h.release()


def test_dry_run_takes_shared_and_creates_no_lock_file(venv, tmp_path):
    if venv.pip_version < (22, 2):
        pytest.skip("pip install --dry-run arrived in pip 22.2")
    target = tmp_path / "target"
    target.mkdir()
    result = venv.pip("install", "--dry-run", "--target", str(target), "plhsmall", env=venv.env(PIPLOCKHOOK_DEBUG=1))
    assert "Would install plhsmall" in result.stdout
    assert list(target.iterdir()) == []
    assert "exclusive" not in result.stderr


def test_target_and_prefix_lock_their_own_directory(venv, tmp_path, holder, background):
    # Writing into --target DIR needs no exclusive lock on the venv (a shared
    # holder of it does not make the install wait); a holder of DIR/.lock does.
    h = holder(venv.lock_path)
    h.hold("shared")
    target = tmp_path / "t"
    assert_does_not_wait(background(venv, "install", "--target", str(target), "plhsmall"))
    assert (target / ".lock").exists() and (target / "plhsmall").is_dir()
    h.release()
    prefix = tmp_path / "p"
    prefix.mkdir()
    h2 = holder(str(prefix / ".lock"))
    h2.hold("exclusive")
    proc = background(venv, "install", "--prefix", str(prefix), "plhsmall")
    proc.expect(WAITING.replace("(shared|exclusive)", "shared"))
    h2.release()
    assert proc.finish()[0] == 0


def test_lockfile_override(venv, tmp_path, holder, background):
    path = tmp_path / "deep" / "er" / "my.lock"  # parents are created
    env = {"PIPLOCKHOOK_LOCKFILE": str(path), "PIPLOCKHOOK_DEBUG": "1"}
    result = venv.pip("list", env=venv.env(**env))
    assert f"acquired shared lock {path}" in result.stderr
    h = holder(str(path))
    h.hold("exclusive")
    proc = background(venv, "list", **env)
    proc.expect(WAITING.replace("(shared|exclusive)", "shared"))
    h.release()
    assert proc.finish()[0] == 0


def test_waiting_line_names_the_holder(venv, holder, background):
    h = holder(venv.lock_path)
    h.hold("exclusive")
    proc = background(venv, "list")
    match = proc.expect(r"held by pid (\d+) \(exclusive")
    assert int(match.group(1)) == h.proc.pid
    assert "lockholder.py" in proc.lines["stderr"][0]
    h.release()
    proc.finish()


def test_timeout_ends_pip_with_a_clear_error_and_changes_nothing(venv, holder):
    h = holder(venv.lock_path)
    h.hold("exclusive")
    before = venv.installed()
    result = venv.pip("install", "plhsmall", env=venv.env(PIPLOCKHOOK_TIMEOUT="0.5"), check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "timed out after 0.5s (PIPLOCKHOOK_TIMEOUT) waiting for the shared lock" in result.stderr
    assert f"held by pid {h.proc.pid}" in result.stderr
    h.release()
    assert venv.installed() == before


def test_ctrl_c_while_waiting_ends_promptly_without_traceback(venv, holder, background):
    import signal

    h = holder(venv.lock_path)
    h.hold("exclusive")
    proc = background(venv, "list")
    proc.expect(WAITING)
    proc.proc.send_signal(signal.SIGINT)
    rc, _out, err = proc.finish(timeout=20)
    assert rc != 0
    assert "Traceback" not in err
    assert "Operation cancelled by user" in err


def test_lock_file_replaced_while_waiting_is_not_trusted(venv, holder, background):
    # A pip waiting on a lock file that gets deleted must lock the file the
    # path names afterwards, where a new holder may already be.
    h = holder(venv.lock_path)
    h.hold("exclusive")
    proc = background(venv, "uninstall", "-y", "plhsmall-not-installed", PIPLOCKHOOK_DEBUG=1)
    proc.expect(WAITING)
    os.unlink(venv.lock_path)
    h2 = holder(venv.lock_path)  # a new file at the same path, held exclusively
    h2.hold("exclusive")
    h.release()
    wait_until(lambda: proc.proc.pid in lock_waiters(venv.lock_path), what="pip waiting on the new file")
    assert proc.running()
    h2.release()
    assert proc.finish()[0] == 0
