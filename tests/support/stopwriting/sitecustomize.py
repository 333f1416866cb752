"""Test-only, reached through PYTHONPATH (stopwriting.py): as this process opens for
writing the file after the first PLH_TEST_STOP_AFTER it writes under PLH_TEST_STOP_IN,
it stops itself (SIGSTOP), at that exact point of its work whatever the machine's load."""

import os
import signal
import sys

_FOLDER = os.environ.get("PLH_TEST_STOP_IN")
_LEFT = [int(os.environ.get("PLH_TEST_STOP_AFTER", "0")) + 1]


def _stop(event, args):
    if event == "open" and isinstance(args[1], str) and "w" in args[1] and str(args[0]).startswith(_FOLDER):
        _LEFT[0] -= 1
        if _LEFT[0] == 0:
            os.kill(os.getpid(), signal.SIGSTOP)


if _FOLDER:
    sys.addaudithook(_stop)
