"""A blocking wait for a lock still acts on a signal that did not interrupt it.

Python runs a signal handler in the main thread, between bytecodes. A signal
that lands just before a blocking flock() begins (a Ctrl-C at a waiting pip)
is therefore not acted on until the lock comes. The same happens, here made
deterministic, when the signal is delivered to another thread of the process
while the main thread sleeps: the handler is due, and the sleep goes on.
"""

import os
import signal
import sys
import threading
import time

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock and pthread_kill are POSIX")

RELEASE_AFTER = 8.0  # bounds the test when the wait misses the signal


class Interrupted(Exception):
    pass


def _raise_interrupted(_signum, _frame):
    raise Interrupted


def _sleeping(tid):
    with open(f"/proc/self/task/{tid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "S"


def test_a_signal_due_while_waiting_ends_the_wait(tmp_path):
    import fcntl

    from piplockhook.lock import _posix

    path = str(tmp_path / "lock")
    holder = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    waiter = os.open(path, os.O_RDWR)
    main_tid = threading.get_native_id()

    def deliver_once_main_sleeps():
        deadline = time.monotonic() + RELEASE_AFTER
        while not _sleeping(main_tid) and time.monotonic() < deadline:  # a state probe, not a guess
            time.sleep(0.005)
        signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)  # to this thread: the handler is due

    release = threading.Timer(RELEASE_AFTER, fcntl.flock, (holder, fcntl.LOCK_UN))
    signaller = threading.Thread(target=deliver_once_main_sleeps)
    previous = signal.signal(signal.SIGUSR1, _raise_interrupted)
    release.start()
    start = time.monotonic()
    try:
        signaller.start()
        with pytest.raises(Interrupted):
            _posix.lock(waiter, exclusive=True)
        waited = time.monotonic() - start
    finally:
        signal.signal(signal.SIGUSR1, previous)
        signaller.join(RELEASE_AFTER + 2)
        release.cancel()
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
        os.close(waiter)
    assert waited < RELEASE_AFTER / 2, f"the handler ran only when the lock came ({waited:.1f}s)"


def test_a_wait_given_up_leaves_the_lock_free(tmp_path):
    import fcntl

    from piplockhook.lock import _posix

    path = str(tmp_path / "lock")
    holder = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    waiter = os.open(path, os.O_RDWR)
    previous = signal.signal(signal.SIGALRM, _raise_interrupted)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    try:
        with pytest.raises(Interrupted):
            _posix.lock(waiter, exclusive=True)
        # The helper thread still sleeps in flock() for the abandoned wait; once
        # the holder lets go it takes the lock, and must not keep it through
        # `waiter`. Probe after it has ended, so that the probe cannot win the
        # lock before it.
        (helper,) = [t for t in threading.enumerate() if t.name == "piplockhook-flock"]
        fcntl.flock(holder, fcntl.LOCK_UN)
        helper.join(10)
        assert not helper.is_alive()
        prober = os.open(path, os.O_RDWR)
        try:
            assert _posix.try_lock(prober, exclusive=True), "the abandoned wait kept the lock"
        finally:
            os.close(prober)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        os.close(holder)
        os.close(waiter)


def test_without_a_thread_the_wait_happens_in_place(tmp_path, monkeypatch):
    from piplockhook.lock import _posix

    class NoThread:
        def __init__(self, *args, **kwargs):
            pass

        def start(self):
            raise RuntimeError("can't start new thread")

    monkeypatch.setattr(_posix.threading, "Thread", NoThread)
    path = str(tmp_path / "lock")
    ours = os.open(path, os.O_RDWR | os.O_CREAT)
    other = os.open(path, os.O_RDWR)
    try:
        _posix.lock(ours, exclusive=True)
        assert not _posix.try_lock(other, exclusive=False)
    finally:
        os.close(ours)
        os.close(other)
