"""PIPLOCKHOOK_LOCKFILE means one file to every reader: the pip hook,
`piplockhook run` and `piplockhook status` (settings.parse_lockfile parses it, alone)."""

import json
import os
import re

import pytest

pytestmark = pytest.mark.slow


def locked_paths(stderr):
    return set(re.findall(r"^piplockhook: acquired \w+ lock (\S+)", stderr, re.M))


@pytest.mark.parametrize("kind", ["home", "relative", "symlink"])
def test_status_run_and_pip_name_the_same_lock_file(venv, tmp_path, kind):
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    if kind == "home":
        value, expected = "~/x.lock", home / "x.lock"
    elif kind == "relative":
        value, expected = os.path.join("locks", "x.lock"), cwd / "locks" / "x.lock"
    else:  # named through a symlink: the name as given, the file behind it locked
        (tmp_path / "real.lock").touch()
        (tmp_path / "link.lock").symlink_to(tmp_path / "real.lock")
        value = expected = tmp_path / "link.lock"
    env = venv.env(PIPLOCKHOOK_LOCKFILE=str(value), PIPLOCKHOOK_DEBUG="1", HOME=str(home))
    tool = os.path.join(venv.bin, "piplockhook")

    status = json.loads(venv.run([tool, "status", "--json"], env=env, cwd=str(cwd)).stdout)
    run = venv.run([tool, "run", "--", venv.python, "-c", "pass"], env=env, cwd=str(cwd))
    pip = venv.run([os.path.join(venv.bin, "pip"), "list"], env=env, cwd=str(cwd))

    assert status["lock_path"] == str(expected)
    assert locked_paths(run.stderr) == {str(expected)}, run.stderr
    assert locked_paths(pip.stderr) == {str(expected)}, pip.stderr
    assert os.path.exists(expected)
