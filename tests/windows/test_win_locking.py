"""The lock table on Windows: real pips of the official Windows CPython
under Wine against a lock that another Windows process holds (LockFileEx).

The table's rows (tests/support/locktable.py) run in both kinds of
environment: a pip that waits is proven blocked by its waiting line naming a
holder that is no pip (winholder.py), the holder still holding (a third
process's probe), nothing changed meanwhile, and the pip finishing only after
release; each such row is paired with the same run under PIPLOCKHOOK=0
finishing while the lock is still held.
"""

import json
import os

import locktable
import pytest
from locktable import assert_does_not_wait, waiting
from winprocs import winpath

pytestmark = pytest.mark.slow


class WineTier:
    """The lock table's rows in a Windows interpreter under Wine (see locktable's tier)."""

    bound = 90
    instant = 0.1

    def __init__(self, win, win_holder, win_background, scratch):
        self.win, self._holder, self._background = win, win_holder, win_background
        self.scratch = winpath(scratch)

    def have(self, version):
        self.win.pip("install", f"{locktable.PROJECT}=={version}")

    def version(self):
        return self.win.installed().get(locktable.PROJECT)

    def hold(self, mode):
        h = self._holder(self.win, self.win.lock_path)
        h.hold(mode)
        return h

    def holding(self):
        return self.win.probe(self.win.lock_path)

    def start(self, argv, env):
        return self._background(self.win, *argv, **env)

    def blocked(self, pip):
        # No /proc/locks here: the line names a raw LockFileEx holder, and the
        # pip still runs after the probe that follows (check_row).
        assert "left no holder file, so probably not piplockhook" in pip.output()

    def pkg_resources_at_start(self, command):
        out = self.win.py("-c", locktable.STARTS_PKG_RESOURCES, command, env=self.win.env(PIPLOCKHOOK="0")).stdout
        return out.strip() == "True"


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


@pytest.mark.parametrize(("row", "hook"), locktable.cases())
def test_a_pip_waits_as_the_lock_table_says(win, win_holder, win_background, tmp_path, row, hook):
    locktable.check_row(WineTier(win, win_holder, win_background, tmp_path), row, hook)


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
    proc.expect(waiting("shared"), timeout=90)
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
