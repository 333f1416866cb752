"""Stand-in for the commands the docs' samples wrap (a build step, pytest,
make): records how the lock in $PROBE_LOCK is held while it runs.

    python lockprobe.py NAME   ->  appends "NAME exclusive|shared|free" to $PROBE_LOG
"""

import fcntl
import os
import sys


def held_mode(path):
    # Our own descriptor: the holder's is close-on-exec, so it competes.
    with open(path, "rb") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return "exclusive"
        fcntl.flock(f, fcntl.LOCK_UN)
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return "shared"
        return "free"


if __name__ == "__main__":
    with open(os.environ["PROBE_LOG"], "a") as log:
        log.write(f"{sys.argv[1]} {held_mode(os.environ['PROBE_LOCK'])}\n")
