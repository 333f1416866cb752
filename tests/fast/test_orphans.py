"""tests/support/procs.py's Orphans: the slow tests' teardown kills the commands
they orphaned, and never a process that later got one of their pids."""

import subprocess
import sys

import pytest
from procs import Orphans

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_an_orphan_still_running_is_killed():
    sleeper = subprocess.Popen(["sleep", "60"])
    orphans = Orphans()
    orphans.append(sleeper.pid)
    orphans.kill()
    assert sleeper.wait(timeout=10) == -9


def test_a_pid_given_to_another_process_is_left_alone():
    other = subprocess.Popen(["sleep", "60"])
    try:
        orphans = Orphans()
        orphans._started.append((other.pid, "0"))  # the same pid, an earlier process's start time
        orphans.kill()
        assert other.poll() is None
    finally:
        other.kill()
        other.wait(timeout=10)
