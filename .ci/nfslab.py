"""The NFS lab's orchestration: three qemu hosts, commands on them, mounts, crashes.

`.ci/nfs` builds the guest (bash, .ci/nfs-guest/) and then runs this module
with its own arguments (`up`, `run HOST CMD...`, `mount KIND [HOST...]`,
`crash HOST`, `boot HOST`, `down`, `test [--short] [PYTEST ARGS]`; see its
header); tests/nfs/lab.py imports it and calls the same functions. Stdlib only.

The hosts are linked over unix-domain sockets only (-netdev stream): server
eth0 10.20.1.1 <-> a 10.20.1.2, server eth1 10.20.2.1 <-> b 10.20.2.2, no route
anywhere else, no user network. qemu runs the guest with software emulation
(-accel tcg). Each host has 9p shares: its command queue (/share), the
wheelhouse (/wheels, read-only) and /lab, one host directory all three see
(barriers). The guest's agent (.ci/nfs-guest/init) runs each
/share/q/ID.cmd in the background and writes ID.out, ID.err and ID.rc.
NFSv4 lease and grace times are $PLH_NFS_LEASE seconds (default 10).
"""

import itertools
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIR = os.environ.get("PLH_NFS_DIR", "/var/tmp/piplockhook-nfs")
MAX_AGE_DAYS = int(os.environ.get("PLH_NFS_MAX_AGE_DAYS", "7"))
LEASE = int(os.environ.get("PLH_NFS_LEASE", "10"))
MEMORY = os.environ.get("PLH_NFS_MEMORY", "1536")
RUN_TIMEOUT = int(os.environ.get("PLH_NFS_TIMEOUT", "900"))
GUEST = os.path.join(DIR, "guest")
RUN = os.path.join(DIR, "run")
LAB = os.path.join(RUN, "lab")
HOSTS = ("server", "a", "b")
CLIENTS = ("a", "b")
BOOT_BOUND = 240  # seconds a host may take to boot
MOUNT_OPTIONS = {
    "v4": "vers=4.2",
    "v3": "vers=3",
    "local": "vers=3,local_lock=all",  # NFSv4 ignores local_lock (measured: local_lock=none in /proc/mounts)
}
USAGE = (
    ".ci/nfs up | run HOST CMD... | mount v4|v3|local [HOST...] | crash HOST | boot HOST | down"
    " | test [--short] [PYTEST ARGS]"
)


class LabError(Exception):
    """Why the lab cannot do what it was asked: one line (`.ci/nfs` prints it and exits 1)."""


def say(text):
    print(f"nfs: {text}", file=sys.stderr, flush=True)


def _pid(host):
    try:
        with open(os.path.join(RUN, f"{host}.pid")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def alive(host):
    pid = _pid(host)
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- the hosts


def start(host):
    """Start HOST's VM (qemu daemonizes); `wait_ready` waits for its boot."""
    if shutil.which("qemu-system-x86_64") is None:
        raise LabError("no qemu-system-x86_64 (.ci/nfs build installs it)")
    share = os.path.join(RUN, host)
    shutil.rmtree(share, ignore_errors=True)
    os.makedirs(share)
    nets = []
    if host == "server":
        for i, link in enumerate(CLIENTS):
            nets += [
                "-netdev",
                f"stream,id=n{i},server=on,addr.type=unix,addr.path={RUN}/link-{link}.sock",
                "-device",
                f"virtio-net-pci,netdev=n{i},mac=52:54:00:20:0{i + 1}:01",
            ]
        for link in CLIENTS:
            _remove(os.path.join(RUN, f"link-{link}.sock"))
    else:
        sock = os.path.join(RUN, f"link-{host}.sock")
        if not _is_socket(sock):
            raise LabError(f"cannot boot {host}: the server is not up")
        nets = [
            "-netdev",
            f"stream,id=n0,server=off,addr.type=unix,addr.path={sock}",
            "-device",
            f"virtio-net-pci,netdev=n0,mac=52:54:00:20:0{1 if host == 'a' else 2}:02",
        ]
    console = os.path.join(RUN, f"{host}.console")
    command = [
        "qemu-system-x86_64", "-accel", "tcg", "-m", MEMORY, "-smp", "1", "-nodefaults", "-no-user-config",
        "-display", "none",
        "-kernel", os.path.join(GUEST, "vmlinuz"), "-initrd", os.path.join(GUEST, "initrd.cpio"),
        "-append", f"console=ttyS0 rdinit=/init net.ifnames=0 panic=-1 plh.role={host} plh.lease={LEASE}",
        "-serial", f"file:{console}",
        "-virtfs", f"local,path={share},mount_tag=share,security_model=none,id=share",
        "-virtfs", f"local,path={RUN}/wheels,mount_tag=wheels,security_model=none,readonly=on,id=wheels",
        "-virtfs", f"local,path={LAB},mount_tag=lab,security_model=none,id=lab",
        *nets, "-pidfile", os.path.join(RUN, f"{host}.pid"), "-daemonize",
    ]  # fmt: skip
    if subprocess.run(command, stdin=subprocess.DEVNULL).returncode != 0:
        raise LabError(f"qemu could not start {host} (console: {console})")


def wait_ready(*hosts):
    deadline = time.monotonic() + BOOT_BOUND
    for host in hosts:
        console = os.path.join(RUN, f"{host}.console")
        while not os.path.exists(os.path.join(RUN, host, "ready")):
            if not alive(host):
                raise LabError(f"{host} stopped while booting (console: {console})")
            if time.monotonic() > deadline:
                raise LabError(f"{host} did not boot within {BOOT_BOUND} s (console: {console})")
            time.sleep(0.5)


def boot(host):
    """Boot a crashed client again and wait for it (no mount)."""
    if host not in CLIENTS:
        raise LabError("usage: .ci/nfs boot a|b")
    start(host)
    wait_ready(host)


def crash(host):
    """Kill HOST's VM at once (a power cut)."""
    if host not in HOSTS:
        raise LabError("usage: .ci/nfs crash a|b|server")
    pid = _pid(host)
    if pid is None or not alive(host):
        raise LabError(f"{host} is not running")
    os.kill(pid, signal.SIGKILL)
    _remove(os.path.join(RUN, f"{host}.pid"))


def down(quiet=False):
    for host in HOSTS:
        pid = _pid(host)
        if pid is not None and alive(host):
            try:
                os.kill(pid, signal.SIGTERM)
                for _ in range(50):
                    os.kill(pid, 0)
                    time.sleep(0.1)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _remove(os.path.join(RUN, f"{host}.pid"))
    shutil.rmtree(RUN, ignore_errors=True)
    if not quiet:
        say("down")


# -- commands on the hosts

_ids = itertools.count()


class Command:
    """A shell command running on a host through its agent: `poll`, `wait`, `abandon`."""

    def __init__(self, host, command, timeout=None):
        if host not in HOSTS:
            raise LabError("usage: .ci/nfs run a|b|server CMD...")
        if not alive(host):
            raise LabError(f"{host} is not running (.ci/nfs up)")
        self.host, self.command = host, command
        self.timeout = RUN_TIMEOUT if timeout is None else timeout
        self.result = None  # (status, out, err) once it ended
        queue = os.path.join(RUN, host, "q")
        os.makedirs(queue, exist_ok=True)
        self.base = os.path.join(queue, f"{time.time_ns()}-{os.getpid()}-{next(_ids)}")
        with open(self.base + ".new", "w") as f:
            f.write(command + "\n")
        with open(self.base + ".timeout", "w") as f:
            f.write(f"{self.timeout}\n")
        os.rename(self.base + ".new", self.base + ".cmd")
        # The agent bounds the command; beyond that (and 30 s), the host is not answering.
        self.deadline = time.monotonic() + self.timeout + 30

    def poll(self):
        """Its exit status once it ended (255: the host went down or stopped answering), else None."""
        if self.result is None:
            if os.path.exists(self.base + ".rc"):
                out, err = self._read(".out"), self._read(".err")
                status = int(self._read(".rc").strip())
                self._clean()
                self.result = (status, out, err)
            elif not alive(self.host):
                self._clean()
                self.result = (255, "", f"nfs: {self.host} went down while running the command\n")
            elif time.monotonic() > self.deadline:
                self.result = (255, "", f"nfs: no answer from {self.host} within {self.timeout + 30} s\n")
        return None if self.result is None else self.result[0]

    def wait(self, timeout=None):
        """(status, stdout, stderr); TimeoutError if it has not ended within `timeout` seconds."""
        limit = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if limit is not None and time.monotonic() > limit:
                raise TimeoutError(f"{self.host}: {self.command!r} still running after {timeout} s")
            time.sleep(0.05)
        return self.result

    def abandon(self):
        """Stop waiting for it (it runs on in the guest, bounded by its timeout)."""
        if self.result is None:
            self.result = (-signal.SIGKILL, "", "")

    def _read(self, suffix):
        try:
            with open(self.base + suffix, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def _clean(self):
        for suffix in (".cmd", ".sh", ".timeout", ".out", ".err", ".rc", ".rc.new"):
            _remove(self.base + suffix)


def run(host, command, timeout=None):
    """Run `command` on `host`: (status, stdout, stderr)."""
    return Command(host, command, timeout).wait()


def checked(host, command, why, timeout=None):
    status, out, err = run(host, command, timeout)
    if status != 0:
        raise LabError(f"{why} (exit {status}: {err.strip().splitlines()[-1:] or out.strip().splitlines()[-1:]})")
    return out


def mount(kind, *hosts, timeout=None):
    """Remount /nfs on `hosts` (default a and b) as v4, v3 or local."""
    if kind not in MOUNT_OPTIONS:
        raise LabError("usage: .ci/nfs mount v4|v3|local [HOST...]")
    opts = MOUNT_OPTIONS[kind]
    for host in hosts or CLIENTS:
        if host not in CLIENTS:
            raise LabError("usage: .ci/nfs mount v4|v3|local [a|b...]")
        server = f"10.20.{1 if host == 'a' else 2}.1"
        checked(
            host,
            "mountpoint -q /nfs && umount /nfs; mkdir -p /nfs; for i in $(seq 60); do "
            f"mount -t nfs -o {opts},hard,timeo=50,nosharecache {server}:/export /nfs && exit 0; sleep 1; done; exit 1",
            f"cannot mount the export on {host} ({opts})",
            timeout,
        )


# -- the lab


def tests_file(name):
    """A file of tests/ the lab copies or runs (tests/NAME, or tests/support/NAME)."""
    for where in ("tests", os.path.join("tests", "support")):
        candidate = os.path.join(SRC, where, name)
        if os.path.exists(candidate):
            return candidate
    raise LabError(f"no {name} in tests/ or tests/support/")


def _old(path):
    return time.time() - os.stat(path).st_mtime > MAX_AGE_DAYS * 86400


def build_wheelhouse():
    """This checkout's wheel, wrapt for the guest's Python (3.11), the newest pip,
    uv, and the tests' local distributions, into the /wheels share."""
    house, deps = os.path.join(RUN, "wheels"), os.path.join(DIR, "wheel-deps")
    os.makedirs(house, exist_ok=True)
    pip = [sys.executable, "-m", "pip"]
    if not os.path.isdir(deps) or _old(deps):
        shutil.rmtree(deps + ".new", ignore_errors=True)
        os.makedirs(deps + ".new")
        download = [
            *pip, "download", "-q", "--only-binary=:all:", "--platform", "manylinux2014_x86_64",
            "--platform", "manylinux_2_17_x86_64", "--python-version", "3.11", "--implementation", "cp",
            "--abi", "cp311", "--abi", "abi3", "--abi", "none", "-d", deps + ".new", "wrapt", "pip", "uv",
        ]  # fmt: skip
        if subprocess.run(download).returncode != 0:
            raise LabError("cannot download wrapt, pip and uv for the guest")
        shutil.rmtree(deps, ignore_errors=True)
        os.rename(deps + ".new", deps)
    for name in os.listdir(deps):
        if name.endswith(".whl"):
            shutil.copy(os.path.join(deps, name), house)
    wheel = [*pip, "wheel", "-q", "--no-deps", "-w", house, SRC]
    if (
        subprocess.run([*wheel, "--no-build-isolation"], stderr=subprocess.DEVNULL).returncode != 0
        and subprocess.run(wheel).returncode != 0
    ):
        raise LabError("cannot build this checkout's wheel")
    packages = tests_file("packages.py")
    build = "import sys, packages; packages.build_all(sys.argv[1])"
    if subprocess.run([sys.executable, "-c", build, house], cwd=os.path.dirname(packages)).returncode != 0:
        raise LabError("cannot build the tests' distributions")


def up():
    began = time.monotonic()
    if not (os.path.isfile(os.path.join(GUEST, "vmlinuz")) and os.path.isfile(os.path.join(GUEST, "initrd.cpio"))):
        raise LabError(f"no guest in {GUEST} (.ci/nfs build)")
    down(quiet=True)
    os.makedirs(LAB)
    build_wheelhouse()
    start("server")
    for _ in range(100):
        if all(_is_socket(os.path.join(RUN, f"link-{link}.sock")) for link in CLIENTS):
            break
        time.sleep(0.1)
    start("a")
    start("b")
    wait_ready(*HOSTS)
    mount("v4")
    # No ensurepip: the wheelhouse's pip installs itself, wrapt and our wheel in one run.
    checked(
        "a",
        "rm -rf /nfs/venv && python3 -m venv --without-pip /nfs/venv && pip=$(ls /wheels/pip-*.whl | tail -1) "
        '&& /nfs/venv/bin/python "$pip/pip" install -q pip piplockhook',
        "cannot make the venv on the export",
    )
    # The server's own pips use the venv at the path its clients mount (scripts name it).
    checked("server", "mkdir -p /nfs && mount --bind /export /nfs", "cannot bind the export to /nfs on the server")
    say(f"up in {time.monotonic() - began:.0f} s: server, a and b; /nfs/venv on NFSv4.2 (lease {LEASE} s)")


def test(args):
    """The tier: up, tests/nfs with pytest, down. pytest's exit status 5 (no
    tests collected) is a failure here, as in every tier of .ci/."""
    env = dict(os.environ, PLH_NFS="1")
    if args[:1] == ["--short"]:
        env["PLH_NFS_TIER"] = "short"  # the tests marked long skip
        args = args[1:]
    # pytest-timeout too: without it a hung test would have no bound (pyproject's `timeout`)
    if subprocess.run([sys.executable, "-c", "import pytest, pytest_timeout"], stderr=subprocess.DEVNULL).returncode:
        raise LabError("the tier needs pytest and pytest-timeout in python3 (pip install '.[test]')")
    up()
    began = time.monotonic()
    pytest = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m", "nfs", "tests/nfs", *args]
    status = subprocess.run(pytest, cwd=SRC, env=env).returncode
    say(f"tests/nfs ran in {time.monotonic() - began:.0f} s (exit {status})")
    down()
    if status == 5:
        say("pytest collected no tests: that is a failure here")
        return 1
    return status


# -- helpers, and the command line


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _is_socket(path):
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except FileNotFoundError:
        return False


def _run_command(args):
    if len(args) < 2:
        raise LabError("usage: .ci/nfs run a|b|server CMD...")
    status, out, err = run(args[0], " ".join(args[1:]))
    sys.stdout.write(out)
    sys.stdout.flush()
    sys.stderr.write(err)
    return status


def _one(args, usage):
    if len(args) != 1:
        raise LabError(usage)
    return args[0]


COMMANDS = {
    "up": lambda args: up(),
    "run": _run_command,
    "mount": lambda args: mount(*args) if args else mount(""),
    "crash": lambda args: crash(_one(args, "usage: .ci/nfs crash a|b|server")),
    "boot": lambda args: boot(_one(args, "usage: .ci/nfs boot a|b")),
    "down": lambda args: down(),
    "test": test,
}


def main(argv):
    if not argv or argv[0] not in COMMANDS:
        say(f"usage: {USAGE}")
        return 1
    try:
        return COMMANDS[argv[0]](argv[1:]) or 0
    except LabError as exc:
        say(str(exc))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
