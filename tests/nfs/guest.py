"""Run inside the lab's guests (python3 /lab/py/guest.py WHAT ...), by tests/nfs.

Barriers are files in /lab, one host directory every guest sees through 9p
(no attribute cache), so the host and both guests see them at once.
"""

import errno
import fcntl
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

VENV = "/nfs/venv"
LOCK = os.path.join(VENV, ".lock")
LAB = "/lab"
BOUND = 300  # no guest helper outlives this


def flag(name):
    with open(os.path.join(LAB, name), "w"):
        pass


def wait_flag(name, bound=BOUND):
    deadline = time.monotonic() + bound
    while not os.path.exists(os.path.join(LAB, name)):
        if time.monotonic() > deadline:
            sys.exit(f"guest: {name} not released within {bound}s")
        time.sleep(0.05)


def hold(mode, name, path=LOCK):
    """flock `path` (mode shared|exclusive), flag NAME.held, wait for NAME.release."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX if mode == "exclusive" else fcntl.LOCK_SH)
    flag(name + ".held")
    wait_flag(name + ".release")
    fcntl.flock(fd, fcntl.LOCK_UN)
    print("released")


def try_lock(mode, path=LOCK):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if mode == "exclusive" else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except OSError as exc:
        print("refused", errno.errorcode.get(exc.errno, exc.errno))
        return
    print("got")


def acquire(mode, path=LOCK):
    """Blocking flock; print how long it took."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    start = time.monotonic()
    fcntl.flock(fd, fcntl.LOCK_EX if mode == "exclusive" else fcntl.LOCK_SH)
    print(f"acquired {time.monotonic() - start:.2f}")


def probe(path=LOCK):
    """How another process holds `path` now: free, shared or exclusive (two LOCK_NB tries)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    for answer, operation in (("free", fcntl.LOCK_EX), ("shared", fcntl.LOCK_SH)):
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            continue
        fcntl.flock(fd, fcntl.LOCK_UN)
        print(answer)
        return
    print("exclusive")


FLOCK = 73  # flock(2)'s number on x86-64: the first field of /proc/PID/task/TID/syscall


def _asleep_in_flock(path):
    """(pid, command line) of the processes with a thread inside flock(2) on `path`."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                    call = f.read().split()  # "running", or the number and its arguments
                if call[0] == str(FLOCK) and os.readlink(f"/proc/{pid}/fd/{int(call[1], 16)}") == path:
                    with open(f"/proc/{pid}/cmdline") as f:
                        yield pid, f.read().replace("\0", " ").strip()
        except (OSError, IndexError, ValueError):
            continue  # it ended, or left the call, meanwhile


def blocked(path=LOCK, bound=60):
    """Wait (bounded) until a process here sleeps in flock(2) on `path`:
    print its pid and command line. (/proc/locks shows no NFS waiter: the
    client sleeps in the call, asks the server again, and records the lock
    only once granted.)"""
    deadline = time.monotonic() + float(bound)
    while time.monotonic() < deadline:
        for pid, command in _asleep_in_flock(path):
            print(pid, command)
            return
        time.sleep(0.05)
    sys.exit(f"guest: nothing sleeps in flock(2) on {path} after {bound}s")


def read_only_exclusive(path):
    """An exclusive flock on a read-only descriptor: NFSv4 refuses it (EBADF)."""
    open(path, "a").close()
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        print("refused", errno.errorcode.get(exc.errno, exc.errno))
        return
    print("got")


def _exclusive_holders(path):
    inode = os.stat(path).st_ino
    with open("/proc/locks") as f:
        return [line for line in f if "FLOCK" in line and "WRITE" in line and f":{inode} " in line]


def watch_mid_install(site, stash, bound=BOUND):
    """Flag `mid` once this host holds the exclusive lock and pip's stash
    (`stash`, e.g. ~lhdemo) exists in `site`: an upgrade is half done."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if _exclusive_holders(LOCK) and os.path.exists(os.path.join(site, stash)):
            flag("mid")
            return
        time.sleep(0.02)
    flag("missed")


class GuestVenv:
    """What tests/stress.py needs of a venv."""

    def __init__(self, path):
        self.path = path
        self.bin = os.path.join(path, "bin")
        self.python = os.path.join(self.bin, "python")
        self.site_packages = os.path.join(path, "lib", "python%d.%d" % sys.version_info[:2], "site-packages")

    def env(self, **extra):
        return dict(os.environ, **extra)


def stress(seed, workers, ops, hook):
    import collections
    import concurrent.futures

    import stress as st

    # The guests are emulated: a pip may wait minutes behind five others.
    # Killed by the harness's 120 s bound, it would leave damage of its own.
    st.OP_TIMEOUT = 900
    venv = GuestVenv(VENV)
    env = venv.env(**({} if hook == "1" else {"PIPLOCKHOOK": "0"}))
    problems, samples = collections.Counter(), []
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(int(workers)) as pool:
        futures = [pool.submit(st._worker, venv, env, int(seed) * 1000 + i, int(ops)) for i in range(int(workers))]
        for future in futures:
            found, some = future.result()
            problems.update(found)
            samples.extend(some)
    print(json.dumps({"problems": problems, "samples": samples[:4], "seconds": time.monotonic() - start}))


def integrity():
    import stress as st

    print(json.dumps(st.integrity_problems(GuestVenv(VENV))))


def repair():
    import stress as st

    st.repair(GuestVenv(VENV))


if __name__ == "__main__":
    what, args = sys.argv[1], sys.argv[2:]
    {
        "hold": hold,
        "try": try_lock,
        "probe": probe,
        "blocked": blocked,
        "acquire": acquire,
        "ro-exclusive": read_only_exclusive,
        "watch-mid-install": watch_mid_install,
        "stress": stress,
        "integrity": integrity,
        "repair": repair,
    }[what](*args)
