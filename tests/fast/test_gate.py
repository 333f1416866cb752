"""The startup gate's decision, as a pure function of the command line."""

import pytest

from piplockhook import is_pip_starting

VENV = "/v/bin/python"


@pytest.mark.parametrize(
    "argv, cmdline",
    [
        (["/v/bin/pip", "install", "x"], []),
        (["/v/bin/pip3", "list"], []),
        (["/v/bin/pip3.11", "list"], []),
        (["C:\\v\\Scripts\\pip.exe", "list"], []),
        (["/v/lib/python3.11/site-packages/pip/__pip-runner__.py", "install"], []),
        (["-m", "list"], [VENV, "-m", "pip", "list"]),
        (["-m", "list"], [VENV, "-mpip", "list"]),
        (["-m", "list"], [VENV, "-Im", "pip", "list"]),
        (["-m", "list"], [VENV, "-Impip", "list"]),
        (["-m", "list"], [VENV, "-u", "-W", "ignore", "-X", "utf8", "-m", "pip", "list"]),
        (["-m"], [VENV, "-m", "pip"]),
        (["-m", "list"], [VENV, "-m", "pip._internal.cli.main", "list"]),
    ],
)
def test_pip_is_recognised(argv, cmdline):
    assert is_pip_starting(argv, cmdline)


@pytest.mark.parametrize(
    "argv, cmdline",
    [
        (["-c"], [VENV, "-c", "import pip"]),
        ([""], [VENV]),
        (["-"], [VENV, "-"]),
        (["/x/script.py"], []),
        (["/v/lib/python3.11/site-packages/pip/_vendor/pyproject_hooks/_in_process/_in_process.py", "build_wheel"], []),
        (["-m", "--help"], [VENV, "-m", "json.tool", "--help"]),
        (["-m", "x"], [VENV, "-m", "pipx", "x"]),
        (["-m", "x"], [VENV, "-m", "pip_audit", "x"]),
        (["/v/bin/pip-compile"], []),
        (["/v/bin/pip3.x"], []),
        ([], []),
        (["-m"], []),
    ],
)
def test_other_processes_are_not_pip(argv, cmdline):
    assert not is_pip_starting(argv, cmdline)
