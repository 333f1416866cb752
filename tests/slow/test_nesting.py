"""Nested pips never wait for a lock their ancestor holds."""

import os
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

PARENT = textwrap.dedent(
    """
    import fcntl, os, subprocess, sys
    path, mode, marker_pid = sys.argv[1], sys.argv[2], sys.argv[3]
    f = open(path, "a")
    fcntl.flock(f, fcntl.LOCK_EX if mode == "exclusive" else fcntl.LOCK_SH)
    pid = os.getpid() if marker_pid == "self" else int(marker_pid)
    os.environ["PIPLOCKHOOK_HELD"] = f"{pid} {mode} {path}"
    child = subprocess.run(sys.argv[4:], capture_output=True, text=True, timeout=60)
    sys.stdout.write(child.stdout)
    sys.stderr.write(child.stderr)
    sys.exit(child.returncode)
    """
)


def run_under_parent(venv, tmp_path, mode, *pip_args, marker_pid="self", timeout=60):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    pip = os.path.join(venv.bin, "pip")
    return venv.run(
        [sys.executable, str(script), venv.lock_path, mode, marker_pid, pip, *pip_args],
        env=venv.env(PIPLOCKHOOK_DEBUG="1"),
        check=False,
        timeout=timeout,
    )


def test_sdist_with_build_isolation_installs_under_the_hook(venv):
    # pip's build-dependency child (__pip-runner__.py install --prefix <tmp>
    # --target '') runs while the parent holds the lock: it must not deadlock.
    result = venv.pip("install", "plhsdist", env=venv.env(PIPLOCKHOOK_DEBUG="1"), timeout=120)
    assert "Successfully installed plhsdist-1.0" in result.stdout
    assert "acquired exclusive lock" in result.stderr


def test_child_of_an_exclusive_holder_does_not_wait(venv, tmp_path):
    result = run_under_parent(venv, tmp_path, "exclusive", "list")
    assert result.returncode == 0, result.stderr
    assert "skipped shared lock" in result.stderr
    assert "nested" in result.stderr
    assert "waiting" not in result.stderr


def test_child_needing_more_than_its_parent_warns_and_goes_on(venv, tmp_path):
    venv.pip("install", "plhsmall==1.0")
    result = run_under_parent(venv, tmp_path, "shared", "uninstall", "-y", "plhsmall")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING: ")]
    assert len(warnings) == 1 and "piplockhook run -x" in warnings[0]
    assert "plhsmall" not in venv.installed()


def test_stray_marker_does_not_open_the_lock(venv, holder):
    h = holder(venv.lock_path)
    h.hold("exclusive")
    env = venv.env(PIPLOCKHOOK_HELD=f"{h.proc.pid} exclusive {venv.lock_path}", PIPLOCKHOOK_TIMEOUT="1")
    result = venv.pip("list", env=env, check=False)
    assert result.returncode != 0
    assert "timed out" in result.stderr
    h.release()
