"""The docs' runnable samples, run: Getting started and the README demo."""

import os
import re
import subprocess

import pytest

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh_blocks(name, containing):
    with open(os.path.join(ROOT, name)) as f:
        blocks = re.findall(r"```sh\n(.*?)```", f.read(), re.S)
    return [b for b in blocks if containing in b]


def run_in(venv, script, **env):
    environment = venv.env(**env)
    environment["PATH"] = venv.bin + os.pathsep + environment["PATH"]
    return subprocess.run(["bash", "-c", script], env=environment, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("page", ["README.md", "docs/index.md"])
def test_the_demonstration_shows_pip_waiting(venv, page):
    (demo,) = sh_blocks(page, "fcntl.flock")
    result = run_in(venv, demo)
    assert result.returncode == 0, result.stderr
    assert re.search(r"piplockhook: waiting for shared lock on .*held by pid \d+ \(exclusive", result.stderr)
    assert re.search(r"piplockhook: acquired shared lock after waiting [5-9]\.\ds", result.stderr)
    assert "piplockhook" in result.stdout


def test_getting_started_status_and_switches(venv):
    (status,) = sh_blocks("docs/index.md", "piplockhook status")
    assert "active: every pip run" in run_in(venv, status).stdout
    (switches,) = sh_blocks("docs/index.md", "PIPLOCKHOOK=0")
    # Run each line with `pip list` in place of `pip install x`, and check what it did.
    lines = [line.split("#")[0].strip().replace("pip install x", "pip list") for line in switches.splitlines()]
    try:
        for line in filter(None, lines):
            result = run_in(venv, line, PIPLOCKHOOK_DEBUG="1")
            assert result.returncode == 0, (line, result.stderr)
            if line.startswith("PIPLOCKHOOK=0"):
                assert "acquired" not in result.stderr
            if line.startswith("PIPLOCKHOOK=1"):
                assert "acquired shared lock" in result.stderr
    finally:
        run_in(venv, "piplockhook enable")
    assert "default: on" in run_in(venv, "piplockhook status").stdout
