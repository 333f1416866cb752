"""`piplockhook run` holds its lock exactly as long as its command runs: killing
`run` itself, SIGKILL included, frees nothing while the command lives (as
flock(1)), and pips nested in the command still never wait for it."""

import ast
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from procs import Background, Orphans, lock_holders, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX: the command inherits flock's descriptor"),
]

# The command run holds the lock for: says its pid and marker, then on "pip"
# runs a nested `pip list` (a fresh process: close_fds, so it sees the lock only
# through the marker) and reports how it went; any other line ends it.
COMMAND = textwrap.dedent(
    """
    import os, subprocess, sys
    print("ready", os.getpid(), repr(os.environ.get("PIPLOCKHOOK_HELD", "")), flush=True)
    for line in sys.stdin:
        if line.strip() != "pip":
            break
        env = dict(os.environ, PIPLOCKHOOK_DEBUG="1", PIPLOCKHOOK_TIMEOUT="5")
        pip = subprocess.run([sys.argv[1], "list"], capture_output=True, text=True, timeout=60, env=env)
        print("pip", pip.returncode, "nested" if "nested" in pip.stderr else repr(pip.stderr), flush=True)
    """
)

# Today's run before the fix, in miniature: the lock on a close-on-exec
# descriptor, the command started without it.
OLD_RUN = textwrap.dedent(
    """
    import fcntl, os, subprocess, sys
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_CLOEXEC)
    fcntl.flock(fd, fcntl.LOCK_EX)
    child = subprocess.Popen(sys.argv[2:])
    child.wait()
    """
)


def can_lock(path, mode):
    """Could another process take the lock on `path` in `mode` right now?"""
    probe = (
        "import fcntl, sys; f = open(sys.argv[1], 'a'); "
        f"fcntl.flock(f, fcntl.LOCK_{'EX' if mode == 'exclusive' else 'SH'} | fcntl.LOCK_NB)"
    )
    return subprocess.run([sys.executable, "-c", probe, path], capture_output=True, timeout=30).returncode == 0


def kill_run(run):
    run.proc.send_signal(signal.SIGKILL)
    run.proc.wait(timeout=10)


def start_command(venv, runner, script):
    """`runner` + COMMAND in the background; (its process, the command's pid, the command's marker)."""
    args = [*runner, sys.executable, str(script), os.path.join(venv.bin, "pip")]
    proc = Background(args, venv.env())
    ready = proc.expect(r"^ready (\d+) (.*)$", stream="stdout")
    return proc, int(ready.group(1)), ast.literal_eval(ready.group(2))


@pytest.fixture
def command_script(tmp_path):
    script = tmp_path / "command.py"
    script.write_text(COMMAND)
    return script


@pytest.fixture
def orphans():
    """Pids of commands whose parent the test kills: ended at teardown."""
    pids = Orphans()
    yield pids
    pids.kill()


def test_killed_run_keeps_the_lock_while_its_command_runs(venv, command_script, orphans):
    piplockhook = os.path.join(venv.bin, "piplockhook")
    run, command_pid, marker = start_command(venv, [piplockhook, "run", "-x", "--"], command_script)
    orphans.append(command_pid)
    try:
        kill_run(run)
        assert os.path.exists(f"/proc/{command_pid}")

        # The lock is still held, by the command now: nobody gets it in either mode.
        assert not can_lock(venv.lock_path, "shared")
        assert not can_lock(venv.lock_path, "exclusive")
        status = json.loads(
            subprocess.run(
                [piplockhook, "status", "--json"], env=venv.env(), capture_output=True, text=True, timeout=60
            ).stdout
        )
        (named,) = status["holders"]
        assert (named["pid"], named["heir"], named["mode"]) == (run.proc.pid, command_pid, "exclusive"), named
        text = subprocess.run([piplockhook, "status"], env=venv.env(), capture_output=True, text=True, timeout=60)
        assert f"pid {command_pid} (exclusive" in text.stdout and f"(pid {run.proc.pid}, gone)" in text.stdout

        # A pip inside the command does not wait for the lock the command holds...
        run.send("pip")
        assert run.expect(r"^pip ", stream="stdout").string.split()[1:] == ["0", "nested"]
        # ...but the same marker in a process outside it opens nothing.
        outside = venv.pip("list", env=venv.env(PIPLOCKHOOK_HELD=marker, PIPLOCKHOOK_TIMEOUT="1"), check=False)
        assert outside.returncode == 1 and "timed out" in outside.stderr, outside.stderr

        # The lock is freed when the command ends.
        run.send("exit")
        wait_until(lambda: not os.path.exists(f"/proc/{command_pid}"), what="the command to end")
        wait_until(lambda: not lock_holders(venv.lock_path), what="the lock to be freed")
        assert can_lock(venv.lock_path, "exclusive")
    finally:
        run.kill()


def test_control_a_run_that_keeps_the_lock_to_itself_loses_it_when_killed(venv, tmp_path, command_script, orphans):
    # The same steps, with run before the fix: killing it frees the lock under the running command.
    old_run = tmp_path / "old_run.py"
    old_run.write_text(OLD_RUN)
    run, command_pid, _ = start_command(venv, [sys.executable, str(old_run), venv.lock_path], command_script)
    orphans.append(command_pid)
    try:
        assert not can_lock(venv.lock_path, "exclusive")
        kill_run(run)
        assert os.path.exists(f"/proc/{command_pid}")
        assert can_lock(venv.lock_path, "exclusive")
    finally:
        run.kill()


def test_run_ended_normally_frees_the_lock_and_its_holder_file(venv):
    def holder_files():
        return {n for n in os.listdir(venv.path) if n.startswith(".lock.holder-")}

    before = holder_files()  # a killed holder's stays until a waiter or status reads it
    piplockhook = os.path.join(venv.bin, "piplockhook")
    result = subprocess.run([piplockhook, "run", "--", "true"], env=venv.env(), capture_output=True, timeout=60)
    assert result.returncode == 0
    assert can_lock(venv.lock_path, "exclusive")
    assert holder_files() <= before
