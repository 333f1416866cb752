"""Black-box lock behaviour of real pips against a lock held by another process.

The lock table's rows (tests/support/locktable.py) run here in a real venv
against a bare flock holder (lockholder.py): a pip that waits is proven
blocked by the kernel's list of flock waiters (/proc/locks), and each such row
is paired with the same run under PIPLOCKHOOK=0 finishing while the lock is
still held. Below it, what the table does not say: --target and --prefix,
PIPLOCKHOOK_LOCKFILE, the waiting line, the timeout, Ctrl-C, a replaced file.
"""

import os

import locktable
import pytest
from lockprobe import held_mode
from locktable import assert_does_not_wait, waiting
from procs import lock_waiters, wait_until

pytestmark = pytest.mark.slow


class HostTier:
    """The lock table's rows in this host's venv (see locktable's tier)."""

    bound = 60
    instant = 0.1

    def __init__(self, venv, holder, background, scratch):
        self.venv, self._holder, self._background, self.scratch = venv, holder, background, scratch

    def have(self, version):
        self.venv.pip("install", f"{locktable.PROJECT}=={version}")

    def version(self):
        return self.venv.installed().get(locktable.PROJECT)

    def hold(self, mode):
        h = self._holder(self.venv.lock_path)
        h.hold(mode)
        return h

    def holding(self):
        return held_mode(self.venv.lock_path)

    def start(self, argv, env):
        return self._background(self.venv, *argv, **env)

    def blocked(self, pip):
        wait_until(lambda: pip.proc.pid in lock_waiters(self.venv.lock_path), what="pip blocked in flock")

    def pkg_resources_at_start(self, command):
        argv = [self.venv.python, "-c", locktable.STARTS_PKG_RESOURCES, command]
        return self.venv.run(argv, env=self.venv.env(PIPLOCKHOOK="0")).stdout.strip() == "True"


@pytest.mark.parametrize(("row", "hook"), locktable.cases())
def test_a_pip_waits_as_the_lock_table_says(venv, holder, background, tmp_path, row, hook):
    locktable.check_row(HostTier(venv, holder, background, str(tmp_path)), row, hook)


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
    proc.expect(waiting("shared"))
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
    proc.expect(waiting("shared"))
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
    proc.expect(waiting())
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
    proc.expect(waiting())
    os.unlink(venv.lock_path)
    h2 = holder(venv.lock_path)  # a new file at the same path, held exclusively
    h2.hold("exclusive")
    h.release()
    wait_until(lambda: proc.proc.pid in lock_waiters(venv.lock_path), what="pip waiting on the new file")
    assert proc.running()
    h2.release()
    assert proc.finish()[0] == 0
