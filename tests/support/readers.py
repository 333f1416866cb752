"""Overlapping shared holders of one lock file, for the starvation tests.

    python readers.py PATH KIND HOLD COUNT STOPFILE DEADLINE

COUNT processes each loop: take the lock shared, hold it HOLD seconds, let it
go, again at once, until STOPFILE exists or DEADLINE seconds have passed. They
start HOLD/COUNT apart, so some reader holds the lock at every moment.
KIND "piplockhook" takes the lock as pip does (through the turnstile), KIND
"flock" with a bare fcntl.flock (a reader that knows no turnstile).
"""

import fcntl
import os
import subprocess
import sys
import time


def reader(path, kind, hold, stopfile, deadline):
    if kind == "piplockhook":
        from piplockhook.locations import LockLocation
        from piplockhook.lock.environment import EnvironmentLock
        from piplockhook.report import Reporter

        def take():
            lock = EnvironmentLock(LockLocation(path, "test"), reporter=Reporter(False))
            lock.acquire("shared")
            return lock.close
    else:

        def take():
            f = open(path, "a")
            fcntl.flock(f, fcntl.LOCK_SH)
            return f.close

    end = time.monotonic() + deadline
    while time.monotonic() < end and not os.path.exists(stopfile):
        release = take()
        time.sleep(hold)
        release()
        os.environ.pop("PIPLOCKHOOK_HELD", None)


def main():
    path, kind, hold, count, stopfile, deadline = sys.argv[1:7]
    if len(sys.argv) > 7:  # one reader
        reader(path, kind, float(hold), stopfile, float(deadline))
        return
    procs = []
    for _i in range(int(count)):
        procs.append(subprocess.Popen([sys.executable, __file__, *sys.argv[1:7], "one"]))
        time.sleep(float(hold) / int(count))
    print("started", flush=True)
    for p in procs:
        p.wait()


if __name__ == "__main__":
    main()
