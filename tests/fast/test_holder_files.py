"""Holder files in one process and its small children (the fast tier): what a
record says, that a dead holder's record is removed and never shown, and that a
record that cannot be written changes nothing of the lock. Real pips and
pid namespaces: test_holder_records_pip.py."""

import os
import signal
import subprocess
import sys
import time

import pytest
from inprocess import fresh_process

from piplockhook.locations import LockLocation
from piplockhook.lock import EXCLUSIVE, holderfiles, holders
from piplockhook.lock.environment import EnvironmentLock
from piplockhook.report import Reporter

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src")
HOLD = (
    "import sys; from piplockhook.lock.holderfiles import OwnHolderFile; r = OwnHolderFile(sys.argv[1], 'exclusive');"
    "print(r.path, flush=True); sys.stdin.readline(); r.remove()"
)


@pytest.fixture
def recorder():
    """hold(lock_path) -> (process, record path): a child that keeps a record locked until told."""
    started = []

    def hold(lock_path):
        env = dict(os.environ, PYTHONPATH=SRC)
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, lock_path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        started.append(proc)
        return proc, proc.stdout.readline().strip()

    yield hold
    for proc in started:
        proc.kill()
        proc.wait(timeout=10)


def records(lock_path):
    folder, name = os.path.split(lock_path)
    return sorted(e for e in os.listdir(folder) if e.startswith(name + holderfiles.INFIX))


def test_a_record_names_its_holder_and_goes_when_it_lets_go(tmp_path, recorder):
    lock = str(tmp_path / ".lock")
    proc, path = recorder(lock)
    assert path and os.path.exists(path)
    (found,) = holders.holders_from_files(lock)
    assert (found.pid, found.mode, found.host, found.other_namespace) == (proc.pid, EXCLUSIVE, "", False)
    assert sys.executable in found.command and found.running_for is not None
    proc.communicate("\n", timeout=30)
    assert records(lock) == []  # removed by its holder, after closing it (no .nfs* file on NFS)


def test_a_killed_holder_s_record_is_never_shown_and_removed_by_the_next_reader(tmp_path, recorder):
    lock = str(tmp_path / ".lock")
    proc, path = recorder(lock)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert records(lock) == [os.path.basename(path)]  # at most one stale record
    assert holders.holders_from_files(lock) == []
    assert records(lock) == []


@pytest.mark.skipif(sys.platform == "win32", reason="the child locks with flock")
def test_another_host_s_record_names_the_host(tmp_path):
    lock = str(tmp_path / ".lock")
    text = "piplockhook-holder 1\nhost=node17\npidns=\npid=4242\nmode=exclusive\nsince=0\ncommand=pip install x\nend\n"
    other = tmp_path / (".lock" + holderfiles.INFIX + "other")
    other.write_text(text)
    hold = (
        "import fcntl,sys; f = open(sys.argv[1], 'r+b'); fcntl.flock(f, fcntl.LOCK_EX); print(1, flush=True); input()"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", hold, str(other)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        child.stdout.readline()
        (found,) = holders.holders_from_files(lock)
        assert found.describe().startswith("pid 4242 on node17 (exclusive, running ")
        assert found.describe().endswith("): pip install x")
    finally:
        child.kill()
        child.wait(timeout=10)


def test_an_unfinished_record_is_not_shown_and_removed_only_once_old(tmp_path):
    lock = str(tmp_path / ".lock")
    unfinished = tmp_path / (".lock" + holderfiles.INFIX + "unfinished")
    unfinished.write_text("piplockhook-holder 1\nhost=x\n")  # its writer may be between create and lock
    assert holders.holders_from_files(lock) == [] and unfinished.exists()
    old = time.time() - holderfiles.UNFINISHED_SECONDS - 5
    os.utime(unfinished, (old, old))
    assert holders.holders_from_files(lock) == [] and not unfinished.exists()


def test_the_kernel_s_holder_and_its_record_are_named_once(tmp_path, recorder):
    lock = str(tmp_path / ".lock")
    proc, _ = recorder(lock)
    kernel = [holders.Holder(proc.pid, EXCLUSIVE, "python -c ...", 99.0)]
    recorded = holders.holders_from_files(lock)
    assert len(recorded) == 1
    merged = holders.merge(recorded, kernel)
    assert len(merged) == 1 and merged[0].pid == proc.pid and sys.executable in merged[0].command


def test_a_record_that_cannot_be_written_leaves_the_lock_as_it_is(tmp_path, monkeypatch):
    fresh_process()
    lines = []

    class Recorder(Reporter):
        def debug(self, event, mode, path, detail=""):
            lines.append((event, detail))

    monkeypatch.setattr(holderfiles, "INFIX", "/not-a-directory/holder-")  # under the lock file: ENOTDIR
    lock = EnvironmentLock(LockLocation(str(tmp_path / ".lock"), str(tmp_path)), reporter=Recorder(True))
    lock.acquire(EXCLUSIVE)
    try:
        assert lock.file.mode == EXCLUSIVE
        assert any(event == "unnamed" and "no holder file" in detail for event, detail in lines), lines
    finally:
        lock.close()
    assert sorted(os.listdir(tmp_path)) == [".lock", ".lock.turnstile"]
    fresh_process()


def test_a_record_keeps_credentials_of_an_index_url_out(monkeypatch):
    argv = ["/venv/bin/python", "-m", "pip", "install", "--index-url", "https://me:s3cret@example.invalid/simple", "x"]
    monkeypatch.setattr(sys, "orig_argv", argv, raising=False)
    command = holderfiles._command()
    assert "s3cret" not in command and "https://***@example.invalid/simple" in command
