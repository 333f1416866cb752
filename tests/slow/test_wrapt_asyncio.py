"""Issues 22 and 27 in a real venv: the hook takes wrapt's FunctionWrapper (the
newest wrapt, from the wheelhouse) from its C extension alone, without asyncio,
and nothing changes for other code in the pip process. A second .pth file, which runs after piplockhook.pth when PLH_PROBE
is set, stands for such code: it uses the hook's wrapt, decorates a coroutine
function with wrapt's `synchronized`, and runs it when pip exits -- inside
pip 26.3's install phase, where every new import is blocked, for an install.
The pip is the newest (unless the tox matrix sets one)."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

PROBE_PTH = (  # once: a venv's .pth files run twice
    "import os, sys; exec(os.environ['PLH_PROBE'], {'os': os}) if os.environ.get('PLH_PROBE')"
    " and not hasattr(sys, '_plh_probe') and not setattr(sys, '_plh_probe', 1) else None\n"
)
PROBE = """
import atexit, sys
import wrapt
synchronized = wrapt.synchronized  # wrapt whole, as others' code imports it after the hook
seen = dict(asyncio_loaded="asyncio" in sys.modules, same=wrapt.FunctionWrapper is sys.modules['wrapt._wrappers'].FunctionWrapper, version=wrapt.__version__)
if os.environ.get("PLH_PROBE_EARLY"):  # what pip 26.3 asks of code that runs during an install
    import asyncio

@wrapt.synchronized
async def twice(x):
    return 2 * x

def at_exit():
    proxy = wrapt.ObjectProxy(1)  # read first here: inside pip 26.3's install phase
    import asyncio
    real = type(asyncio) is type(sys) and sys.modules["asyncio"] is asyncio and bool(asyncio.__file__)
    result = asyncio.run(twice(21))
    replaced = sys.modules["wrapt.synchronization"].asyncio is asyncio
    sys.stderr.write(f"PROBE {seen} real={real} result={result} replaced={replaced} proxy={proxy == 1}\\n")

atexit.register(at_exit)
"""


@pytest.fixture(scope="module")
def probed(make_venv, tmp_path_factory):
    venv = make_venv()
    if not os.environ.get("PLH_TEST_PIP"):  # the newest pip, the one that blocks late imports
        folder = str(tmp_path_factory.mktemp("newest-pip"))
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--dest", folder, "pip"],
            check=True,
            capture_output=True,
            timeout=600,
        )
        venv.run([venv.python, "-m", "pip", "install", "--upgrade", "--find-links", folder, "pip"])
    with open(os.path.join(venv.site_packages, "zzz_plh_probe.pth"), "w") as f:
        f.write(PROBE_PTH)
    return venv


def probe_line(result):
    lines = [line for line in result.stderr.splitlines() if line.startswith("PROBE ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def newest_wrapt(venv):
    version = venv.run([venv.python, "-c", "import wrapt; print(wrapt.__version__)"]).stdout.strip()
    return tuple(int(part) for part in version.split(".")[:2]) >= (2, 2)


def test_pip_list_loads_no_asyncio_and_a_later_import_gets_the_real_one(probed):
    result = probed.pip("list", env=probed.env(PLH_PROBE=PROBE))
    line = probe_line(result)
    # The probe's own `import wrapt` loads asyncio from wrapt 2.2 on, as without the hook.
    assert f"'asyncio_loaded': {newest_wrapt(probed)}" in line and "'same': True" in line, line
    assert "real=True result=42 replaced=True proxy=True" in line, line


def test_a_synchronized_coroutine_runs_inside_pips_install_phase(probed):
    env = probed.env(PLH_PROBE=PROBE, PLH_PROBE_EARLY="1")
    result = probed.pip("install", "plhsmall==1.0", env=env, check=False)
    assert result.returncode == 0 and "Blocked import" not in result.stderr, result.stderr
    assert "plhsmall" in probed.installed()
    line = probe_line(result)
    assert "'same': True" in line and "real=True result=42 replaced=True proxy=True" in line, line
    probed.pip("uninstall", "-y", "plhsmall")


def test_the_hook_loads_no_asyncio(probed):
    # The same pip list without the probe: asyncio is never loaded at all.
    check = "import atexit, sys; atexit.register(lambda: sys.stderr.write(f'LOADED {\"asyncio\" in sys.modules}\\n'))"
    env = probed.env(PLH_PROBE=check)
    result = probed.run([probed.python, "-m", "pip", "list"], env=env)
    assert "piplockhook" in result.stdout
    # Unless bare pip loads asyncio itself (pip 21 on 3.9 does).
    bare = probed.run([probed.python, "-m", "pip", "list"], env=probed.env(PLH_PROBE=check, PIPLOCKHOOK="0"))
    pip_loads_it = "LOADED True" in bare.stderr
    assert f"LOADED {pip_loads_it}" in result.stderr, (result.stderr, bare.stderr)
