"""The host side of tests/nfs: commands on the lab's hosts, barriers in /lab."""

import os
import shutil
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NFS = os.path.join(ROOT, ".ci", "nfs")
DIR = os.environ.get("PLH_NFS_DIR", "/var/tmp/piplockhook-nfs")
LAB = os.path.join(DIR, "run", "lab")
LEASE = int(os.environ.get("PLH_NFS_LEASE", "10"))
SITE = "/nfs/venv/lib/python3.11/site-packages"
GUEST = "python3 /lab/py/guest.py"
BOUND = 300  # every guest command is bounded by this (the agent's timeout)


def env(bound=BOUND):
    return dict(os.environ, PLH_NFS_TIMEOUT=str(bound))


def run(host, command, *, check=True, bound=BOUND):
    """Run `command` on `host`; the CompletedProcess (text)."""
    result = subprocess.run(
        [NFS, "run", host, command], env=env(bound), capture_output=True, text=True, timeout=bound + 60
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{host}: {command!r} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def nfs(*args, bound=BOUND):
    subprocess.run([NFS, *args], env=env(bound), check=True, timeout=bound + 60)


class Job:
    """A command running on a host in the background."""

    def __init__(self, host, command, bound=BOUND):
        self.command = command
        self.proc = subprocess.Popen(
            [NFS, "run", host, command], env=env(bound), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def done(self):
        return self.proc.poll() is not None

    def wait(self, timeout=BOUND):
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


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
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for name in ("stress.py", "packages.py", "plh_backend.py"):
        shutil.copy(os.path.join(tests, name), target)
    shutil.copy(os.path.join(tests, "nfs", "guest.py"), target)


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
