"""pkg_resources' master working set is built under at least the shared lock.

pip's pkg_resources backend (default before Python 3.11, or with
_PIP_USE_IMPORTLIB_METADATA=0), older pips that import pkg_resources at
start-up, and legacy console scripts that go through
pkg_resources.load_entry_point all build it while a module is imported.
"""

import pytest

pytestmark = pytest.mark.slow

BUILD_LINE = "pkg_resources working set, under this lock"


def uses_pkg_resources_backend(venv, env):
    probe = "from pip._internal.metadata import get_default_environment as g; print(type(g()).__module__)"
    out = venv.run([venv.python, "-c", probe], env=env, check=False).stdout
    return out.strip().endswith("pkg_resources")


def event_order(stderr):
    lines = stderr.splitlines()
    build = next(i for i, line in enumerate(lines) if BUILD_LINE in line)
    return lines, build


@pytest.mark.parametrize("backend_env", [{}, {"_PIP_USE_IMPORTLIB_METADATA": "0"}], ids=["default", "env0"])
def test_pip_working_set_is_built_under_the_lock(venv, holder, background, backend_env):
    if not uses_pkg_resources_backend(venv, venv.env(**backend_env)):
        pytest.skip("this pip and Python use the importlib.metadata backend here")
    h = holder(venv.lock_path)
    h.hold("exclusive")
    proc = background(venv, "list", PIPLOCKHOOK_DEBUG=1, **backend_env)
    proc.expect("waiting for shared lock")
    assert not any(BUILD_LINE in line for line in proc.lines["stderr"])
    h.release()
    rc, _out, err = proc.finish()
    assert rc == 0, err
    lines, build = event_order(err)
    assert any("acquired shared lock" in line for line in lines[:build])
    assert "building shared lock" in lines[build]


LEGACY_SCRIPT = """\
#!{python}
# EASY-INSTALL-ENTRY-SCRIPT: 'pip','console_scripts','pip'
__requires__ = 'pip'
import re
import sys
from pkg_resources import load_entry_point

if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])
    sys.exit(load_entry_point('pip', 'console_scripts', 'pip')())
"""


@pytest.mark.parametrize("hook", ["on", "0"])
def test_legacy_load_entry_point_script_builds_its_working_set_under_the_lock(venv, holder, background, tmp_path, hook):
    if venv.run([venv.python, "-c", "import pkg_resources"], check=False).returncode != 0:
        pytest.skip("no top-level pkg_resources here (setuptools >= 82 or none)")
    script = tmp_path / "legacy" / "pip"
    script.parent.mkdir()
    script.write_text(LEGACY_SCRIPT.format(python=venv.python))
    script.chmod(0o755)
    h = holder(venv.lock_path)
    h.hold("exclusive")
    proc = venv.start([str(script), "list"], env=venv.env(PIPLOCKHOOK=hook, PIPLOCKHOOK_DEBUG=1))
    try:
        if hook == "0":
            rc, out, err = proc.finish()
            assert rc == 0 and "pip" in out and "piplockhook" not in err
            return
        proc.expect("waiting for shared lock")
        h.release()
        rc, out, err = proc.finish()
        assert rc == 0, err
        lines, build = event_order(err)
        assert "building shared lock" in lines[build]
        assert any("acquired shared lock" in line for line in lines[:build])
    finally:
        proc.kill()
