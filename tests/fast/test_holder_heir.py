"""A holder that handed its lock to a child (`piplockhook run`'s command): the
holder file names the heir, waiters name it once the holder is gone, and only
the heir's descendants count as covered by the hold. (Real runs killed with
SIGKILL: tests/slow/test_run_outlives_kill.py.)"""

import os
import subprocess
import sys

import pytest

from piplockhook.lock import EXCLUSIVE, holderfiles, holders, primitive
from piplockhook.lock.environment import MARKER, ancestor_mode
from piplockhook.lock.holders import Holder

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="run hands no lock to its command on Windows")

GONE = 2**22 + 12345  # no such process


@pytest.fixture
def stranger():
    """A live process that is no ancestor of this one (a child)."""
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    yield proc.pid
    proc.kill()
    proc.wait(timeout=10)


def dead_holders_file(lock_path, heir, locked=True):
    """The holder file a killed run leaves: its pid gone, locked through its heir's descriptor."""
    fields = holderfiles._text(EXCLUSIVE).replace(f"pid={os.getpid()}\n", f"pid={GONE}\n")
    path = lock_path + holderfiles.INFIX + "killedrun"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, holderfiles.contents(f"{fields}heir={heir}\n"))
    if locked:
        assert primitive.try_lock(fd, True, holderfiles.HOLDER_BYTE)
    return fd


def test_the_heir_is_written_into_the_holder_file(tmp_path):
    lock = str(tmp_path / ".lock")
    own = holderfiles.OwnHolderFile(lock, EXCLUSIVE)
    try:
        assert holders.heir_of(lock, os.getpid()) == 0
        own.name_heir(4242)
        assert holders.heir_of(lock, os.getpid()) == 4242
        assert holders.heir_of(lock, os.getpid() + 1) == 0
    finally:
        own.remove()


def test_a_gone_holder_is_named_by_its_heir(tmp_path):
    lock = str(tmp_path / ".lock")
    fd = dead_holders_file(lock, os.getpid())
    try:
        (found,) = holders.holders_from_files(lock)
        assert (found.pid, found.heir) == (GONE, os.getpid())
        text = found.describe()
        assert text.startswith(f"pid {os.getpid()} (exclusive") and text.endswith(f"(pid {GONE}, gone)"), text
        assert found.as_dict()["heir"] == os.getpid()
    finally:
        os.close(fd)


def test_a_live_holder_is_named_itself():
    holder = Holder(os.getpid(), EXCLUSIVE, "piplockhook run -- make", 1.0)
    assert holder.describe() == f"pid {os.getpid()} (exclusive, running 1s): piplockhook run -- make"


def test_the_heirs_descendants_are_covered_and_no_one_else(tmp_path, monkeypatch, stranger):
    lock = str(tmp_path / ".lock")
    monkeypatch.setenv(MARKER, f"{GONE} exclusive {lock}")
    assert ancestor_mode(lock) is None  # no holder file: a stray marker
    fd = dead_holders_file(lock, os.getpid())
    try:
        assert ancestor_mode(lock) == EXCLUSIVE  # this process is the heir (or its descendant)
    finally:
        os.close(fd)
    assert ancestor_mode(lock) is None  # the heir let go: the holder file is stale
    fd = dead_holders_file(lock, stranger)
    try:
        assert ancestor_mode(lock) is None  # a live heir, but not ours
    finally:
        os.close(fd)
