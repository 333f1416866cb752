"""Bad configuration: one clear line naming variable and value, exit 2, nothing changed."""

import os

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "variable, value",
    [
        ("PIPLOCKHOOK", "maybe"),
        ("PIPLOCKHOOK", "2"),
        ("PIPLOCKHOOK_TIMEOUT", "-1"),
        ("PIPLOCKHOOK_TIMEOUT", "soon"),
        ("PIPLOCKHOOK_TIMEOUT", "nan"),
        ("PIPLOCKHOOK_TIMEOUT", "inf"),
        ("PIPLOCKHOOK_DEBUG", "verbose"),
    ],
)
def test_bad_value_is_one_line_exit_2_and_changes_nothing(venv, variable, value):
    lock_existed = os.path.exists(venv.lock_path)
    result = venv.pip("install", "plhsmall", env=venv.env(**{variable: value}), check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ERROR: piplockhook: ")
    assert f"{variable}={value!r}" in lines[0]
    assert "plhsmall" not in venv.installed()
    assert os.path.exists(venv.lock_path) == lock_existed


def test_lockfile_that_is_a_directory(venv, tmp_path):
    result = venv.pip("uninstall", "-y", "pip", env=venv.env(PIPLOCKHOOK_LOCKFILE=str(tmp_path)), check=False)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"ERROR: piplockhook: PIPLOCKHOOK_LOCKFILE={str(tmp_path)!r} is not valid: expected a file path, not a directory"
    )
    assert "pip" in venv.installed()


def test_empty_values_mean_unset(venv):
    env = venv.env(PIPLOCKHOOK="", PIPLOCKHOOK_TIMEOUT="", PIPLOCKHOOK_LOCKFILE="", PIPLOCKHOOK_DEBUG="")
    result = venv.pip("list", env=env)
    assert result.returncode == 0 and "piplockhook" in result.stdout
