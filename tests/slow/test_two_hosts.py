"""check --hold and --probe as real processes of a hooked venv, on one host.
Where a verdict is wanted, the holder's host name is made another's
(PIPLOCKHOOK_TEST_HOST, read by --hold alone), so that the probe here tries a
real lock held "elsewhere". Between real hosts: tests/nfs."""

import os
import re
import signal
import sys

import pytest
from procs import Background

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.uname().nodename if sys.platform != "win32" else os.environ.get("COMPUTERNAME", "")
FLOCK = "import fcntl, sys; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)"


def piplockhook(venv):
    return os.path.join(venv.bin, "piplockhook")


def check(venv, *args):
    return venv.run([piplockhook(venv), "check", *args], check=False, timeout=60)


@pytest.fixture
def holding(venv):
    """holding(*args, host=None) -> a running `check --hold`, once it said that it holds."""
    started = []

    def hold(*args, host=None):
        env = venv.env(**({"PIPLOCKHOOK_TEST_HOST": host} if host else {}))
        started.append(Background([piplockhook(venv), "check", "--hold", *args], env))
        started[-1].expect(r"^holding ", stream="stdout", timeout=60)
        return started[-1]

    yield hold
    for proc in started:
        proc.kill()


def end(holder, signum=signal.SIGTERM):
    holder.proc.send_signal(signum)
    return holder.finish(timeout=30)


def sample(page, needle):
    with open(os.path.join(ROOT, page), encoding="utf-8") as f:
        (found,) = [b for b in re.findall(r"^```\n(.*?)^```", f.read(), re.S | re.M) if needle in b]
    return found


def as_in_the_docs(text, tmp_path, pid):
    """Real output in the docs' words: the lock at /nfs/venv/.lock, the holder pid 4242, this host plh-b."""
    text = text.replace(str(tmp_path), "").replace(f"pid {pid} ", "pid 4242 ")
    return text.replace(f"({HERE})", "(plh-b)")


def nfs_lock(tmp_path):
    os.makedirs(tmp_path / "nfs" / "venv")
    return str(tmp_path / "nfs" / "venv" / ".lock")


def test_a_holder_on_another_host_excludes_a_probe_here(venv, holding, tmp_path):
    lock = nfs_lock(tmp_path)
    holder = holding("--lockfile", lock, host="plh-a")
    # the probe file, never the lock: pips go on meanwhile
    assert venv.run([sys.executable, "-c", FLOCK, lock], check=False).returncode == 0
    probe = check(venv, "--probe", "--lockfile", lock)
    assert (probe.returncode, probe.stderr) == (0, ""), probe
    assert probe.stdout.count("\n") == 1
    shown = f"$ piplockhook check --hold --lockfile {lock}\n{holder.lines['stdout'][0]}"
    assert as_in_the_docs(shown, tmp_path, holder.proc.pid) == sample("docs/filesystems.md", "exclusively as pid")
    shown = f"$ piplockhook check --probe --lockfile {lock}\n{probe.stdout}"
    assert as_in_the_docs(shown, tmp_path, holder.proc.pid) == sample(
        "docs/filesystems.md", "these hosts exclude each other: /nfs"
    )
    assert os.path.exists(lock + ".probe")  # the probe let go and left it
    assert end(holder)[0] == 0


def test_a_holder_whose_lock_does_not_reach_here(venv, holding, tmp_path):
    # The holder's own token, left without its lock (as on a mount where the lock
    # stays on each host, seen from here): this host is granted the file.
    lock = nfs_lock(tmp_path)
    holder = holding("--lockfile", lock, host="plh-a")
    with open(lock + ".probe") as f:
        token = f.read()
    assert end(holder)[0] == 0
    with open(lock + ".probe", "w") as f:
        f.write(token)
    probe = check(venv, "--probe", "--lockfile", lock)
    assert (probe.returncode, probe.stderr) == (1, ""), probe
    shown = f"$ piplockhook check --probe --lockfile {lock}\n{probe.stdout}"
    assert as_in_the_docs(shown, tmp_path, holder.proc.pid) == sample(
        "docs/filesystems.md", "do NOT exclude each other: /nfs"
    )
    again = Background([piplockhook(venv), "check", "--hold", "--lockfile", lock], venv.env())
    try:  # the probe let go of all it was granted: a holder here has it at once
        again.expect(r"^holding ", stream="stdout", timeout=60)
        assert end(again)[0] == 0
    finally:
        again.kill()


def test_a_probe_on_the_holder_s_host_proves_nothing(venv, holding):
    holder = holding()  # the environment's own lock, and this host's name
    probe = check(venv, "--probe")
    assert (probe.returncode, probe.stdout) == (2, ""), probe
    assert probe.stderr == (
        f"ERROR: piplockhook: check: {venv.lock_path}.probe is held by pid {holder.proc.pid} on {HERE}, this host: "
        "one host proves nothing across hosts; probe from another host that reaches this environment "
        "(see piplockhook check --help)\n"
    )
    assert end(holder)[0] == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_hold_ends_on_sigterm_and_ctrl_c_and_removes_its_file(venv, holding, signum):
    holder = holding()
    code, out, err = end(holder, signum)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == f"released {venv.lock_path}.probe and removed it"
    assert not os.path.exists(venv.lock_path + ".probe")
    probe = check(venv, "--probe")
    assert (probe.returncode, probe.stdout) == (2, "")
    assert probe.stderr.startswith(
        f"ERROR: piplockhook: check: no piplockhook check --hold holds {venv.lock_path}.probe"
    )


def test_hold_started_in_the_background_of_a_script_ends_on_sigint(venv):
    # `piplockhook check --hold &` in a script starts with SIGINT ignored: kill -INT must end it all the same.
    script = f"trap '' INT; exec {piplockhook(venv)} check --hold"
    holder = Background(["bash", "-c", script], venv.env())
    try:
        holder.expect(r"^holding ", stream="stdout", timeout=60)
        code, out, err = end(holder, signal.SIGINT)
        assert (code, err) == (0, ""), out
        assert out.splitlines()[-1] == f"released {venv.lock_path}.probe and removed it"
    finally:
        holder.kill()


def test_hold_for_seconds_ends_by_itself(venv):
    hold = check(venv, "--hold", "--seconds", "0.5")
    assert (hold.returncode, hold.stderr) == (0, ""), hold
    first, last = hold.stdout.splitlines()
    assert " for 0.5s (or until Ctrl-C); on the other host run: piplockhook check --probe --lockfile " in first
    assert last == f"released {venv.lock_path}.probe and removed it"
    assert not os.path.exists(venv.lock_path + ".probe")


def test_one_holder_at_a_time(venv, holding):
    holder = holding(host="plh-a")
    second = check(venv, "--hold", "--seconds", "30")
    assert (second.returncode, second.stdout) == (1, ""), second
    assert second.stderr == (
        f"ERROR: piplockhook: {venv.lock_path}.probe is held already, by pid {holder.proc.pid} on plh-a: "
        "one check --hold at a time (probe it from another host)\n"
    )
    assert os.path.exists(venv.lock_path + ".probe")  # the first one's, left alone
    assert end(holder)[0] == 0
