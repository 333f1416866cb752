"""The modules of ours a real hooked pip loads: exactly the ones its cost is
counted for (tests/support/layers.py), seen at run time with `-X importtime`
(tests/fast/test_layers.py follows the same set through the source)."""

import re
import sys

import pytest
from layers import PIP_PROCESS, ROOT
from packages import SMALL

# Loaded only where they apply: uv's lock name outside venvs, Windows' primitive
# on Windows, who holds a lock when a reader waits (a writer loads it up front),
# what changes once pip writes, and the journal where there is none to restore
# (both loaded as a command that writes starts).
ELSEWHERE = {"uvlock", "lock._windows"}
READER_SKIPS = {"lock.holders", "pip.writing", "pip.journaling", "journal", "journal.restore", "journal.wheelplan"}


def ours_loaded(venv, *pip_args):
    result = venv.run([venv.python, "-X", "importtime", "-m", "pip", *pip_args])
    names = set(re.findall(r"\|\s+(piplockhook(?:\.[\w.]+)?)\s*$", result.stderr, re.M))
    return {ROOT if n == "piplockhook" else n[len("piplockhook.") :] for n in names}


@pytest.mark.skipif(sys.platform == "win32", reason="the set for Linux and macOS")
def test_a_reading_pip_loads_the_counted_modules_and_no_more(venv):
    assert ours_loaded(venv, "list") == PIP_PROCESS - ELSEWHERE - READER_SKIPS


@pytest.mark.skipif(sys.platform == "win32", reason="the set for Linux and macOS")
def test_a_writing_pip_loads_the_counted_modules_and_no_more(venv):
    assert ours_loaded(venv, "install", SMALL) == PIP_PROCESS - ELSEWHERE
