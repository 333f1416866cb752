"""A pip whose internals moved: the hook locks more, never less, and pip works.

The venvs here get a pip whose source the test edits to rename an internal the
hook patches, as a future pip might.
"""

import glob
import os
import re

import pytest

pytestmark = pytest.mark.slow


def rename_in_pip(venv, module, pattern, replacement):
    path = os.path.join(venv.site_packages, "pip", *module.split(".")[1:]) + ".py"
    if not os.path.exists(path):
        path = path[:-3] + os.sep + "__init__.py"
    with open(path) as f:
        text = f.read()
    new = re.sub(pattern, replacement, text)
    assert new != text, f"{pattern} not found in {path}"
    with open(path, "w") as f:
        f.write(new)
    stem = os.path.splitext(os.path.basename(path))[0]
    for compiled in glob.glob(os.path.join(os.path.dirname(path), "__pycache__", stem + ".*.pyc")):
        os.remove(compiled)


def fallback_lines(stderr):
    return [line for line in stderr.splitlines() if "fallback" in line]


def test_without_install_given_reqs_the_whole_install_is_exclusive(make_venv, holder, background):
    venv = make_venv()
    rename_in_pip(venv, "pip._internal.req", r"\binstall_given_reqs\b", "install_given_reqs_v2")
    rename_in_pip(venv, "pip._internal.commands.install", r"\binstall_given_reqs\b", "install_given_reqs_v2")
    h = holder(venv.lock_path)
    h.hold("shared")
    proc = background(venv, "install", "plhsmall==1.0", PIPLOCKHOOK_DEBUG=1)
    proc.expect("waiting for exclusive lock")  # from the start: no shared phase
    h.release()
    rc, out, err = proc.finish()
    assert rc == 0, out + err
    assert "to take it exclusive" not in err  # no shared phase to leave
    assert len(fallback_lines(err)) == 1 and "install_given_reqs" in fallback_lines(err)[0]
    assert venv.installed()["plhsmall"] == "1.0"


def test_without_command_main_all_of_pip_is_exclusive(make_venv, holder, background):
    venv = make_venv()
    rename_in_pip(venv, "pip._internal.cli.base_command", r"def main\(self", "def main_v2(self")
    rename_in_pip(venv, "pip._internal.cli.main", r"command\.main\(", "command.main_v2(")
    h = holder(venv.lock_path)
    h.hold("shared")
    proc = background(venv, "list", PIPLOCKHOOK_DEBUG=1)
    proc.expect("waiting for exclusive lock")  # a list, locked exclusively
    h.release()
    rc, out, err = proc.finish()
    assert rc == 0, out + err
    assert "plhsmall" not in out and "pip" in out
    assert len(fallback_lines(err)) == 1 and "Command.main" in fallback_lines(err)[0]
    # Bad configuration is still reported, with status 2.
    bad = venv.pip("list", env=venv.env(PIPLOCKHOOK_TIMEOUT="never"), check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("ERROR: piplockhook: PIPLOCKHOOK_TIMEOUT=")
