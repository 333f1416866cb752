"""The host side of tests/nfs: commands on the lab's hosts, barriers in /lab.

The lab itself (its hosts, their command agents, mounts, crashes) is
.ci/nfslab.py, imported here: `.ci/nfs` and these tests drive it alike.
"""

import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, ".ci"))
import nfslab  # noqa: E402

DIR = nfslab.DIR
LAB = nfslab.LAB
LEASE = nfslab.LEASE
SITE = "/nfs/venv/lib/python3.11/site-packages"
GUEST = "python3 /lab/py/guest.py"
BOUND = 300  # every guest command is bounded by this (the agent's timeout)


def _command(host, command, bound):
    """A nfslab.Command, or the one line `.ci/nfs run` would have failed with."""
    try:
        return nfslab.Command(host, command, timeout=bound), None
    except nfslab.LabError as exc:
        return None, (1, "", f"nfs: {exc}\n")


def run(host, command, *, check=True, bound=BOUND):
    """Run `command` on `host`; the CompletedProcess (text)."""
    job, failed = _command(host, command, bound)
    status, out, err = failed or job.wait(bound + 60)
    result = subprocess.CompletedProcess([host, command], status, out, err)
    if check and result.returncode != 0:
        raise AssertionError(f"{host}: {command!r} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def nfs(what, *args, bound=BOUND):
    """What `.ci/nfs mount|crash|boot ...` does; an error raises nfslab.LabError."""
    if what == "mount":
        nfslab.mount(*args, timeout=bound)
    elif what == "crash":
        nfslab.crash(*args)
    elif what == "boot":
        nfslab.boot(*args)
    else:
        raise ValueError(what)


class Job:
    """A command running on a host in the background."""

    def __init__(self, host, command, bound=BOUND):
        self.command = command
        self.run, self.failed = _command(host, command, bound)

    def done(self):
        return self.failed is not None or self.run.poll() is not None

    def wait(self, timeout=BOUND):
        return self.failed or self.run.wait(timeout)

    def kill(self):
        if self.failed is None:
            self.run.abandon()


def path(name):
    return os.path.join(LAB, name)


def flag(name):
    with open(path(name), "w"):
        pass


def read(name):
    try:
        with open(path(name)) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.1)


def clear():
    """Empty /lab but for the guest scripts."""
    for entry in os.listdir(LAB):
        if entry != "py":
            os.remove(path(entry))


def install_guest_scripts():
    target = path("py")
    os.makedirs(target, exist_ok=True)
    for name in ("stress.py", "packages.py", "plh_backend.py"):
        shutil.copy(nfslab.tests_file(name), target)
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "guest.py"), target)


class Holder:
    """A lock holder on a host: `guest.py hold` (flock on the venv's lock, or
    `piplockhook run`), released through /lab."""

    def __init__(self, host, mode, name, *, pip_style=False, lockpath=None):
        self.name = name
        if pip_style:  # the product's own holder
            flag_ = "-x" if mode == "exclusive" else "-s"
            command = f"piplockhook run {flag_} -- sh -c 'touch /lab/{name}.held; while [ ! -e /lab/{name}.release ]; do sleep 0.1; done'"
        else:
            command = f"{GUEST} hold {mode} {name}" + (f" {lockpath}" if lockpath else "")
        self.job = Job(host, command)
        wait_for(lambda: os.path.exists(path(name + ".held")) or self.job.done(), 120, f"{name} holds the lock")
        assert not self.job.done(), self.job.wait()

    def release(self):
        flag(self.name + ".release")
        status, out, err = self.job.wait(120)
        assert status == 0, (out, err)
