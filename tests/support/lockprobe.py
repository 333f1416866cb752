"""Stand-in for the commands the docs' samples wrap (a build step, pytest,
make): records how the lock in $PROBE_LOCK is held while it runs, as the
kernel reports it (procs.lock_holders).

    python lockprobe.py NAME   ->  appends "NAME exclusive|shared|free" to $PROBE_LOG
"""

import os
import sys

from procs import lock_holders


def held_mode(path):
    modes = set(lock_holders(path).values())
    return "exclusive" if "exclusive" in modes else "shared" if modes else "free"


if __name__ == "__main__":
    with open(os.environ["PROBE_LOG"], "a") as log:
        log.write(f"{sys.argv[1]} {held_mode(os.environ['PROBE_LOCK'])}\n")
