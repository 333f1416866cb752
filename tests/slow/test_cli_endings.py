"""The command line as a real process: a closed stdout and Ctrl-C end every
command with pip's line and status (or none), never a traceback."""

import glob
import os
import signal
import subprocess

import pytest
from procs import TIMEOUT, Background, lock_waiters, wait_until

CANCELLED = "ERROR: Operation cancelled by user"


def piplockhook(venv):
    return os.path.join(venv.bin, "piplockhook")


@pytest.mark.parametrize(
    "args",
    [["verify", "--json"], ["verify"], ["status", "--json"], ["status"], ["check"], ["--help"], ["help", "verify"]],
)
def test_a_closed_stdout_ends_quietly(venv, args):
    # `piplockhook verify --json | head -1`, made certain: the reader is gone
    # before the first line is written (head's exit only races with it).
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [piplockhook(venv), *args], stdout=write_end, stderr=subprocess.PIPE, env=venv.env(), timeout=TIMEOUT
        )
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (1, b""), result.stderr.decode()


# Ctrl-C at a chosen point of status and check: a real SIGINT, sent by the
# process to itself when the command reaches that function.
INTERRUPT_AT = """\
import os, signal, sys
from piplockhook.cli import main, {module} as command
real = command.{function}
def interrupted(*args):
    os.kill(os.getpid(), signal.SIGINT)
    return real(*args)
command.{function} = interrupted
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    "argv, module, function",
    [
        (["status"], "status", "format_status"),
        (["status", "--json"], "status", "lock_state"),
        (["check"], "check", "verdict_at"),  # once its two processes are done
    ],
)
def test_ctrl_c_is_pip_s_one_line(venv, argv, module, function):
    code = INTERRUPT_AT.format(module=module, function=function)
    result = venv.run([venv.python, "-c", code, *argv], check=False)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", CANCELLED + "\n")
    assert glob.glob(os.path.join(venv.path, ".piplockhook-check-*")) == []  # check cleaned up


def test_ctrl_c_while_verify_waits(venv, holder):
    writing = holder(venv.lock_path)
    writing.hold("exclusive")
    waiting = Background([piplockhook(venv), "verify"], venv.env())
    try:
        wait_until(lambda: waiting.proc.pid in lock_waiters(venv.lock_path), what="verify blocked in flock")
        waiting.proc.send_signal(signal.SIGINT)
        code, out, err = waiting.finish()
        assert (code, out) == (1, "")  # pip's status for Ctrl-C, as pip's own waits
        assert err.splitlines()[-1] == CANCELLED and "Traceback" not in err and err.count("ERROR:") == 1, err
    finally:
        waiting.kill()


def test_a_path_that_is_not_utf8_on_a_strict_stdout(venv, tmp_path):
    # A UTF-8 locale's stdout refuses the surrogate that byte 0xff of a file
    # name decodes to: status printed a UnicodeEncodeError traceback.
    lock = os.path.join(str(tmp_path), "\udcff.lock")
    env = venv.env(PIPLOCKHOOK_LOCKFILE=lock, PYTHONIOENCODING="utf-8:strict")
    result = venv.run([piplockhook(venv), "status"], env=env, check=False, errors="backslashreplace")
    assert (result.returncode, result.stderr) == (0, "")
    assert f"lock: {tmp_path}{os.sep}\\udcff.lock (not created yet)" in result.stdout.splitlines()
