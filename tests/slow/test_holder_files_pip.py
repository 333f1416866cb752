"""Holder files with real processes (Linux): a waiting pip names a `piplockhook
run` holder from its record; a killed holder's record is never shown and gone
after the next wait or `status`; no record outlives its holder; a holder in
another pid namespace is named by the pid a user here can use."""

import os
import re
import shutil
import signal
import subprocess
import sys

import pytest
from procs import lock_holders, wait_until

from piplockhook.lock.holderfiles import INFIX

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux")]

WAIT_FOR_A_LINE = "import sys; print('holding', flush=True); sys.stdin.readline()"


def records(venv):
    return sorted(e for e in os.listdir(venv.path) if e.startswith(".lock" + INFIX))


@pytest.fixture
def run_holder(venv):
    """start(*prefix) -> a `piplockhook run -x` holding until told (send a line), under `prefix`."""
    started = []

    def start(*prefix):
        args = [*prefix, os.path.join(venv.bin, "piplockhook"), "run", "-x", "--", venv.python, "-c", WAIT_FOR_A_LINE]
        proc = venv.start(args)
        started.append(proc)
        proc.expect("holding", stream="stdout")
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.proc.stdin.close()  # the command under `run` ends on end of input


def waiting_line(proc):
    return proc.expect(r"waiting for shared lock .*, held by (.*)$").group(1)


def test_a_waiting_pip_names_a_run_holder_and_no_record_outlives_a_pip(venv, run_holder, background):
    holder = run_holder()
    assert len(records(venv)) == 1
    pip = background(venv, "list")
    held_by = waiting_line(pip)
    assert re.match(rf"pid {holder.proc.pid} \(exclusive, running \d+s\): .*piplockhook run -x -- ", held_by), held_by
    holder.send("")
    assert holder.finish()[0] == 0 and pip.finish()[0] == 0
    venv.pip("install", "plhsmall==1.0")  # shared, then exclusive: two records, both removed
    assert records(venv) == []


def test_a_killed_holder_s_record_is_never_shown_and_gone_after_the_next_wait(venv, run_holder, background):
    dead = run_holder()
    os.kill(dead.proc.pid, signal.SIGKILL)
    dead.proc.wait(timeout=10)
    dead.proc.stdin.close()  # its command kept the lock after run's SIGKILL: it ends on end of input
    wait_until(lambda: not lock_holders(venv.lock_path), what="the killed run's command to end")
    assert len(records(venv)) == 1  # at most one stale record
    alive = run_holder()
    pip = background(venv, "list")
    held_by = waiting_line(pip)
    assert held_by.startswith(f"pid {alive.proc.pid} (exclusive") and str(dead.proc.pid) not in held_by
    assert len(records(venv)) == 1  # the waiter removed the dead one's
    alive.send("")
    assert alive.finish()[0] == 0 and pip.finish()[0] == 0
    assert records(venv) == []


def test_status_removes_a_killed_holder_s_record(venv, run_holder):
    dead = run_holder()
    os.kill(dead.proc.pid, signal.SIGKILL)
    dead.proc.wait(timeout=10)
    dead.proc.stdin.close()  # its command kept the lock after run's SIGKILL: it ends on end of input
    wait_until(lambda: not lock_holders(venv.lock_path), what="the killed run's command to end")
    assert len(records(venv)) == 1
    out = venv.run([os.path.join(venv.bin, "piplockhook"), "status"]).stdout
    assert "held by: nobody" in out and records(venv) == []


def _unshare_works(*flags):
    if not shutil.which("unshare"):
        return False
    try:
        argv = ["unshare", "--pid", "--fork", *flags, "true"]
        return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not _unshare_works(), reason="unshare --pid needs root (or user namespaces)")
def test_a_holder_in_another_pid_namespace_is_named_by_the_pid_seen_here(venv, run_holder, background):
    holder = run_holder("unshare", "--pid", "--fork", "--kill-child")
    (pid,) = lock_holders(venv.lock_path)  # the kernel's pid for it here; in its namespace it is 1
    assert pid != holder.proc.pid
    pip = background(venv, "list")
    held_by = waiting_line(pip)
    assert re.match(rf"pid {pid} \(exclusive, running \d+s\): .*piplockhook run -x -- ", held_by), held_by
    holder.send("")
    assert pip.finish()[0] == 0


@pytest.mark.skipif(not _unshare_works("--mount-proc"), reason="unshare --mount-proc fails here (a chroot?)")
def test_a_pip_in_another_pid_namespace_names_a_holder_outside_it(venv, run_holder):
    holder = run_holder()
    inside = venv.start(
        ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", os.path.join(venv.bin, "pip"), "list"]
    )
    try:
        held_by = waiting_line(inside)
        # Its own /proc/locks shows pid 0; the record gives the holder's pid and says where it is.
        assert held_by.startswith(f"pid {holder.proc.pid} in another pid namespace (exclusive, running "), held_by
        holder.send("")
        assert inside.finish()[0] == 0
    finally:
        inside.kill()
