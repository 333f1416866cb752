"""The test suite's root: tests/fast (pure logic, the lock in one process,
stand-ins for pip: `pytest tests/fast`, or `-m "not slow"`), tests/slow (real
venvs and real pips: marked slow by this folder), tests/windows and tests/nfs
(their tiers, collected only when .ci/wine or .ci/nfs runs them). What they
share is tests/support/, put on sys.path here: the processes (procs), the test
distributions (packages, plh_backend), the stress driver (stress), the lock
table every tier runs (locktable), the lock holders and probes, a pip that
stops itself mid-write (stopwriting), and the session fixtures (fixtures.py,
imported here).
"""

import os
import signal
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUPPORT = os.path.join(ROOT, "tests", "support")
if SUPPORT not in sys.path:
    sys.path.insert(0, SUPPORT)

from fixtures import *  # noqa: E402, F403  (the session fixtures and hooks, for every tier)

# `python -m pytest` in a venv where piplockhook is installed imports its gate
# (the .pth line runs for every `-m`) from site-packages, before pytest puts
# src/ first on sys.path: forget that copy, so the unit tests import this
# checkout's code.
_SRC = os.path.join(ROOT, "src", "")
for _name in [m for m in sys.modules if m == "piplockhook" or m.startswith("piplockhook.")]:
    if not (getattr(sys.modules[_name], "__file__", None) or "").startswith(_SRC):
        del sys.modules[_name]


# Started in the background by a non-interactive shell (`pytest &`, as .ci/run
# runs two suites side by side), pytest inherits SIGINT ignored, and so would
# every pip it starts: Python installs no KeyboardInterrupt handler then, and
# the tests of Ctrl-C would wait in vain. Give this process (and so its
# children) SIGINT's usual handling, as at a terminal.
if sys.platform != "win32" and signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


SLOW = os.path.join(ROOT, "tests", "slow", "")


def pytest_collection_modifyitems(config, items):
    """The folder is the tier: every test under tests/slow is marked slow."""
    for item in items:
        if str(item.fspath).startswith(SLOW):
            item.add_marker(pytest.mark.slow)
