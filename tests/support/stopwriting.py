"""A process that stops itself (SIGSTOP) at an exact point of what it writes: after
its first `after` files under `folder`, as it opens the next. What a kill "while pip
writes" needs, without a poll that a loaded machine makes miss its moment: the test
waits for the stop (``wait_stopped``), then sends its signal (and SIGCONT, for one the
process must handle). The hook is stopwriting/sitecustomize.py, reached through
PYTHONPATH: nothing is added to the venv (verify would see a stray file there).
"""

import os

from procs import wait_until

HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stopwriting")


def env(folder, after):
    """The environment variables that make a Python process stop there."""
    return {"PYTHONPATH": HOOK, "PLH_TEST_STOP_IN": os.path.join(folder, ""), "PLH_TEST_STOP_AFTER": str(after)}


def stopped(process):
    """Whether `process` (a child of this one) has stopped; an AssertionError if it ended instead."""
    pid, status = os.waitpid(process.pid, os.WNOHANG | os.WUNTRACED)
    assert pid == 0 or os.WIFSTOPPED(status), f"it ended before it stopped (status {status})"
    return pid != 0


def wait_stopped(process, timeout, what):
    """Until `process` has stopped (``stopped``), bounded by `timeout`."""
    wait_until(lambda: stopped(process), timeout=timeout, what=what)
