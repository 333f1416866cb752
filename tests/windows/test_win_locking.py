"""The lock table on Windows: real pips of the official Windows CPython
under Wine against a lock that another Windows process holds (LockFileEx).

Each "waits" case is proven by the pip's waiting line, the holder still
holding (a third process's probe), nothing changed meanwhile, and the pip
finishing only after release; each is paired with the same run under
PIPLOCKHOOK=0 finishing while the lock is still held.
"""

import json
import os

import pytest
from winprocs import winpath

pytestmark = pytest.mark.slow

WAITING = r"piplockhook: waiting for {} lock on"


def assert_waits(win, proc, mode, holder):
    proc.expect(WAITING.format(mode), timeout=90)
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


def test_status_names_the_lock_of_this_kind_of_environment(win):
    result = win.cli("status", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    status = json.loads(result.stdout)
    assert status["active"] is True, status
    assert status["lock_path"].lower() == winpath(win.lock_path).lower()
    expected = ".lock" if win.kind == "venv" else ".piplockhook.lock"
    assert status["lock_path"].endswith("\\" + expected)


def test_a_pip_run_takes_the_lock(win):
    result = win.pip("list", env=win.env(PIPLOCKHOOK_DEBUG=1))
    assert f"acquired shared lock {winpath(win.lock_path)}".lower() in result.stderr.lower(), result.stderr
    assert os.path.exists(win.lock_path)


@pytest.mark.parametrize("hook", ["on", "0"])
def test_list_waits_for_an_exclusive_holder(win, win_holder, win_background, hook):
    h = win_holder(win, win.lock_path)
    h.hold("exclusive")
    proc = win_background(win, "list", PIPLOCKHOOK=hook)
    if hook == "0":
        assert_does_not_wait(proc)  # finished while the lock is still held
        assert win.probe(win.lock_path) == "exclusive"
        h.release()
    else:
        out, err = assert_waits(win, proc, "shared", h)
        assert "piplockhook" in out
        assert "left no holder file, so probably not piplockhook" in err  # a raw LockFileEx holder


@pytest.mark.parametrize("command", ["list", "freeze", "show pip", "check"])
def test_readers_do_not_wait_for_a_shared_holder(win, win_holder, win_background, command):
    h = win_holder(win, win.lock_path)
    h.hold("shared")
    assert_does_not_wait(win_background(win, *command.split()))
    h.release()


@pytest.mark.parametrize("hook", ["on", "0"])
def test_uninstall_waits_for_a_shared_holder(win, win_holder, win_background, hook):
    win.pip("install", "plhsmall==1.0")
    h = win_holder(win, win.lock_path)
    h.hold("shared")
    proc = win_background(win, "uninstall", "-y", "plhsmall", PIPLOCKHOOK=hook)
    if hook == "0":
        assert_does_not_wait(proc)
        h.release()
    else:
        proc.expect(WAITING.format("exclusive"), timeout=90)
        assert "plhsmall" in win.installed()  # nothing removed while waiting
        assert_waits(win, proc, "exclusive", h)
    assert "plhsmall" not in win.installed()


@pytest.mark.parametrize("hook", ["on", "0"])
def test_install_resolves_under_a_shared_holder_and_waits_to_write(win, win_holder, win_background, hook):
    h = win_holder(win, win.lock_path)
    h.hold("shared")
    proc = win_background(win, "install", "plhsmall==2.0", PIPLOCKHOOK=hook, PIPLOCKHOOK_DEBUG=1)
    if hook == "0":
        assert_does_not_wait(proc)
        h.release()
    else:
        proc.expect(r"acquired shared lock .* \(waited 0\.0", timeout=90)  # resolving did not wait
        proc.expect(r"released shared lock .* \(to take it exclusive\)", timeout=90)
        proc.expect(WAITING.format("exclusive"), timeout=90)
        assert any("plhsmall" in line for line in proc.lines["stdout"])
        assert not any("Installing collected packages" in line for line in proc.lines["stdout"])
        assert "plhsmall" not in win.installed()
        assert_waits(win, proc, "exclusive", h)
    assert win.installed()["plhsmall"] == "2.0"


def test_dry_run_takes_shared_and_creates_no_lock_file(win, tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    result = win.pip("install", "--dry-run", "--target", winpath(target), "plhsmall", env=win.env(PIPLOCKHOOK_DEBUG=1))
    assert "Would install plhsmall" in result.stdout
    assert list(target.iterdir()) == []
    assert "exclusive" not in result.stderr


def test_target_and_prefix_lock_their_own_directory(win, tmp_path, win_holder, win_background):
    h = win_holder(win, win.lock_path)
    h.hold("shared")
    target = tmp_path / "t"
    assert_does_not_wait(win_background(win, "install", "--target", winpath(target), "plhsmall"))
    assert (target / ".lock").exists() and (target / "plhsmall").is_dir()
    h.release()
    prefix = tmp_path / "p"
    prefix.mkdir()
    h2 = win_holder(win, str(prefix / ".lock"))
    h2.hold("exclusive")
    proc = win_background(win, "install", "--prefix", winpath(prefix), "plhsmall")
    proc.expect(WAITING.format("shared"), timeout=90)
    assert win.probe(str(prefix / ".lock")) == "exclusive"
    h2.release()
    assert proc.finish()[0] == 0
    assert (prefix / "Lib" / "site-packages" / "plhsmall").is_dir()


def test_timeout_ends_pip_with_a_clear_error_and_changes_nothing(win, win_holder):
    h = win_holder(win, win.lock_path)
    h.hold("exclusive")
    before = win.installed()
    result = win.pip("install", "plhsmall", env=win.env(PIPLOCKHOOK_TIMEOUT="0.5"), check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "timed out after 0.5s (PIPLOCKHOOK_TIMEOUT) waiting for the shared lock" in result.stderr
    h.release()
    assert win.installed() == before
