"""status's and check's pure logic, called directly: when pip allows --user,
what a pip does where the lock cannot be had, and check's test on the lock
file itself, which never waits (its real-process twin:
tests/slow/test_status_agrees_with_pip.py)."""

import fcntl
import os
import sys

import pytest

from piplockhook.cli import status
from piplockhook.cli.check import contend_on

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="flock")


@pytest.mark.parametrize(
    ("cfg", "allowed"),
    [
        ("home = /usr/bin\ninclude-system-site-packages = false\n", False),
        ("include-system-site-packages = true\n", True),
        ("home = /usr/bin\n", True),  # pip: only "false" hides the system site-packages
        (None, False),  # no pyvenv.cfg: pip assumes none
    ],
)
def test_pip_allows_user_installs_as_pip_decides(tmp_path, cfg, allowed):
    if cfg is not None:
        (tmp_path / "pyvenv.cfg").write_text(cfg)
    assert status.user_installs_allowed(str(tmp_path)) is allowed  # tmp_path is no sys.base_prefix: a venv
    assert status.user_installs_allowed(getattr(sys, "base_prefix", sys.prefix))  # not a venv


def test_a_directory_stops_pip_a_missing_file_runs_it_unlocked(tmp_path):
    does, pip_here, hint = status.unlocked_effect(str(tmp_path))
    assert pip_here == status.ERROR and "stops with an ERROR" in does and f"rename the directory {tmp_path}" in hint
    does, pip_here, hint = status.unlocked_effect(str(tmp_path / "a" / "x.lock"))  # ours to make
    assert (does, pip_here, hint) == ("pip runs unlocked here", status.UNLOCKED, status.ANOTHER_FILE)


@posix_only
def test_check_on_the_lock_file_itself_proves_exclusion_without_waiting(tmp_path):
    path = str(tmp_path / ".lock")
    open(path, "w").close()
    os.chmod(path, 0o444)  # as a user who may only read it opens it (root opens it anyway)
    assert contend_on(path) == (True, "")
    with open(path) as holder:  # a writer holds it now: refused, and nothing waits for it
        fcntl.flock(holder, fcntl.LOCK_EX)
        assert contend_on(path, timeout=10) == (True, "")


def test_the_journal_is_a_living_writers_while_it_holds_the_lock_else_a_dead_ones(tmp_path):
    from piplockhook.journal import Journal
    from piplockhook.journal.restore import restore
    from piplockhook.lock.holderfiles import host_name
    from piplockhook.report import Reporter

    lock = str(tmp_path / ".lock")
    assert status.journal_state(lock, []) == ("", "")
    writer = {"pid": 4242, "host": host_name(), "command": "piplockhook run -x -- make", "since": 0, "kind": "run"}
    journal = Journal.start(lock + ".journal", writer)
    journal.append({"op": "blind", "why": "run does not journal what its command changes"})
    journal.release()
    holder = {"pid": 4242, "mode": "exclusive", "host": "", "heir": 4243}  # its command holds the lock on
    state, line = status.journal_state(lock, [holder])
    assert state == status.WRITING and line.startswith(
        "a `piplockhook run -x` command is changing this environment now"
    )
    assert status.journal_state(lock, [{**holder, "mode": "shared"}])[0] == status.TO_RESTORE
    assert status.journal_state(lock, [{**holder, "host": "elsewhere"}])[0] == status.TO_RESTORE
    restore(lock + ".journal", Reporter(False), host_name())
    state, line = status.journal_state(lock, [])
    assert state == "notice" and line.startswith("this environment may still be damaged since")
    info = {"journal": state, "journal_line": line}
    assert "NOT known to be whole: this environment may still be damaged" in status.format_status(
        {**_minimal_status(), **info}
    )


def _minimal_status():
    return {
        "version": "0",
        "site_packages": "/site",
        "active": True,
        "pip_here": status.LOCKED,
        "default": "on",
        "hints": [],
        "locks": [],
        "leftovers": [],
        "holders_known": True,
    }
