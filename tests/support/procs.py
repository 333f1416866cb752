"""Real processes for the tests: venvs, pips in the background, lock holders.

Every process is bounded in time and killed on cleanup.
"""

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time

HERE = SUPPORT = os.path.dirname(os.path.abspath(__file__))  # tests/support
TIMEOUT = 120  # seconds any single pip may take before a test fails


def controlled_env(wheelhouse, **extra):
    """The environment pips under test run in: this machine's PIP_* and
    PIPLOCKHOOK* settings removed, only the local wheelhouse as index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PIPLOCKHOOK"))}
    env.update(
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=wheelhouse,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        PIP_NO_CACHE_DIR="1",  # no wheel built by one test may skip another's build
        PYTHONUNBUFFERED="1",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Venv:
    def __init__(self, path, wheelhouse):
        self.path = path
        self.wheelhouse = wheelhouse
        bindir = "Scripts" if sys.platform == "win32" else "bin"
        self.bin = os.path.join(path, bindir)
        self.python = os.path.join(self.bin, "python")
        self.scripts = self.bin  # where pip puts console scripts
        self.lock_path = os.path.join(path, ".lock")

    @property
    def pip_version(self):
        out = self.run([self.python, "-m", "pip", "--version"], env=self.env(PIPLOCKHOOK="0")).stdout
        return tuple(int(p) for p in out.split()[1].split(".")[:2])

    @property
    def site_packages(self):
        out = self.run([self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
        return out.stdout.strip()

    def env(self, **extra):
        return controlled_env(self.wheelhouse, **extra)

    def run(self, args, env=None, timeout=TIMEOUT, check=True, **kwargs):
        result = subprocess.run(args, env=env or self.env(), capture_output=True, text=True, timeout=timeout, **kwargs)
        if check and result.returncode != 0:
            raise AssertionError(f"{args} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def pip(self, *args, env=None, check=True, timeout=TIMEOUT):
        return self.run([os.path.join(self.scripts, "pip"), *args], env=env, check=check, timeout=timeout)

    def start(self, args, env=None):
        return Background(args, env or self.env())

    def start_pip(self, *args, env=None):
        return self.start([os.path.join(self.scripts, "pip"), *args], env)

    def installed(self):
        out = self.pip("list", "--format=freeze", env=self.env(PIPLOCKHOOK="0")).stdout
        return dict(line.split("==") for line in out.split() if "==" in line)


class Standalone(Venv):
    """A real interpreter that is not a virtual environment (sys.prefix ==
    sys.base_prefix), as a system, Docker or conda Python is, but in a
    temporary directory the tests may write: a copy of this Python's program
    beside links to its standard library, and its own pip from `pip_wheel`
    (Debian's ensurepip refuses a system Python). With `conda`, a conda-meta/
    folder makes it a conda-shaped environment."""

    def __init__(self, path, wheelhouse, pip_wheel, conda=False):
        super().__init__(path, wheelhouse)
        self.conda = conda
        version = "python%d.%d" % sys.version_info[:2]
        self.names = [os.path.join(self.bin, n) for n in ("python", "python3", version)]
        if not os.path.exists(self.python):
            self._build(version, pip_wheel)
        self.lock_path = os.path.join(path, ".lock") if conda else os.path.join(self.site_packages, ".piplockhook.lock")
        scripts = self.run([self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['scripts'])"])
        self.scripts = scripts.stdout.strip()  # Debian's: <prefix>/local/bin

    def _build(self, version, pip_wheel):
        os.makedirs(self.bin, exist_ok=True)
        shutil.copy2(os.path.realpath(sys.executable), os.path.join(self.bin, version))  # a venv's is a link
        for name in ("python", "python3"):
            os.symlink(version, os.path.join(self.bin, name))
        stdlib = sysconfig.get_paths()["stdlib"]  # the base interpreter's, also from a venv
        lib = os.path.join(self.path, "lib", version)
        os.makedirs(lib)
        skip = {"site-packages", "dist-packages", "EXTERNALLY-MANAGED"}  # ours to fill; Debian's marker
        for entry in os.listdir(stdlib):
            if entry not in skip:
                os.symlink(os.path.join(stdlib, entry), os.path.join(lib, entry))
        if self.conda:
            os.makedirs(os.path.join(self.path, "conda-meta"))
        self.run(
            [self.python, os.path.join(pip_wheel, "pip"), "install", pip_wheel], timeout=300
        )  # pip runs from its wheel
        info = self.run(
            [self.python, "-c", "import sys; print(sys.prefix == sys.base_prefix == sys.argv[1])", self.path]
        )
        assert info.stdout.strip() == "True", f"{self.path} is not a standalone interpreter: {info.stdout}"


class Background:
    """A process whose stdout/stderr lines are collected as they come."""

    def __init__(self, args, env):
        self.args = args
        self.proc = subprocess.Popen(
            args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines = {"stdout": [], "stderr": []}
        self._events = queue.Queue()
        self._ended = set()  # the streams whose end `expect` saw
        self._readers = [
            threading.Thread(target=self._read, args=(name, stream), daemon=True)
            for name, stream in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr))
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, name, stream):
        for line in stream:
            self.lines[name].append(line)
            self._events.put((name, line))
        self._events.put((name, None))

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, pattern, stream="stderr", timeout=60):
        """Wait (bounded) for a line matching `pattern`; return the match. Fails at
        once when the process has ended without one, else after `timeout`, saying which."""
        regex = re.compile(pattern)
        for line in self.lines[stream]:
            if regex.search(line):
                return regex.search(line)
        deadline = time.monotonic() + timeout
        while len(self._ended) < len(self._readers):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                name, line = self._events.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                self._ended.add(name)
            elif name == stream and regex.search(line):
                return regex.search(line)
        raise AssertionError(
            f"no line matching {pattern!r} on {stream} of {self.args}: {self.state(timeout)}:\n{self.output()}"
        )

    def state(self, timeout):
        """Why `expect` gave up, for its message: the process ended (how), or still runs."""
        if len(self._ended) == len(self._readers):
            try:
                return f"it ended, exit status {self.proc.wait(timeout=10)}"
            except subprocess.TimeoutExpired:
                return "it closed its output and still runs"
        return f"still running after {timeout}s"

    def running(self):
        return self.proc.poll() is None

    def finish(self, timeout=TIMEOUT):
        """Wait for the end; return (returncode, stdout, stderr)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.args} did not finish within {timeout}s:\n{self.output()}") from None
        for reader in self._readers:
            reader.join(timeout=10)
        return self.proc.returncode, "".join(self.lines["stdout"]), "".join(self.lines["stderr"])

    def output(self):
        return "".join(self.lines["stdout"]) + "".join(self.lines["stderr"])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class LockHolder(Background):
    """Holds a lock file from another process (tests/lockholder.py), or from
    the process `args` start when given (tests/windows: a Windows holder)."""

    WHO = "lock holder"
    ANSWER_SECONDS = 30  # how long an answer to hold/release may take
    QUIT_SECONDS = 10

    def __init__(self, path, args=None, env=None):
        super().__init__(args or [sys.executable, os.path.join(HERE, "lockholder.py"), path], env or dict(os.environ))

    def hold(self, mode, timeout=None):
        count = len(self.lines["stdout"])
        self.send(mode)
        self._await(count, f"held {mode}", timeout or self.ANSWER_SECONDS)

    def release(self, timeout=None):
        count = len(self.lines["stdout"])
        self.send("release")
        self._await(count, "released", timeout or self.ANSWER_SECONDS)

    def _await(self, count, text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(line.strip() == text for line in self.lines["stdout"][count:]):
                return
            time.sleep(0.01)
        raise AssertionError(f"{self.WHO} did not answer {text!r} within {timeout}s:\n{self.output()}")

    def close(self):
        try:
            if self.running():
                self.send("quit")
                self.proc.wait(timeout=self.QUIT_SECONDS)
        except Exception:
            pass
        self.kill()


def _flocks(path, waiting):
    st = os.stat(path)
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    found = {}
    with open("/proc/locks") as f:
        for line in f:
            fields = line.split()
            if ("->" in fields) != waiting:
                continue
            if waiting:
                fields.remove("->")
            if fields[1] == "FLOCK" and fields[5] == device:
                found[int(fields[4])] = "exclusive" if fields[3] == "WRITE" else "shared"
    return found


def lock_waiters(path):
    """Pids blocked in flock on `path`, from the kernel (/proc/locks, Linux)."""
    return set(_flocks(path, waiting=True))


def lock_holders(path):
    """{pid: mode} of the processes holding a flock on `path` (/proc/locks)."""
    return _flocks(path, waiting=False)


class Orphans:
    """Pids of commands whose parent a test kills, each with its start time: at
    teardown (``kill``) each one still that process is SIGKILLed; a pid the
    machine has since given to another process is left alone (Linux: /proc)."""

    def __init__(self):
        self._started = []

    def append(self, pid):
        self._started.append((pid, _start_time(pid)))

    def kill(self):
        for pid, start in self._started:
            if start is not None and _start_time(pid) == start:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _start_time(pid):
    """When process `pid` started (/proc/PID/stat's 22nd field, in clock ticks); None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except OSError:
        return None


def wait_until(predicate, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
