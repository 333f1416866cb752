"""A bug of ours must never break pip. With a fault injected into one of
piplockhook's internals of a real venv, every pip command still does its job,
and says in one warning line that it ran unlocked, with no traceback.

The fault comes in through a second .pth file, which runs after
piplockhook.pth and replaces one function with one that raises, only when
PLH_FAULT is set.
"""

import os

import pytest

pytestmark = pytest.mark.slow

FAULT_PTH = "import os; exec(os.environ['PLH_FAULT']) if os.environ.get('PLH_FAULT') else None\n"
RAISE = "def broken(*args, **kwargs):\n    raise RuntimeError('injected fault')\n"

FAULTS = {
    "reading the configuration": "import piplockhook.pip.patches as m\nm.read = broken",
    "finding the lock file": "import piplockhook.pip as m\nm.location_for_options = broken",
    "taking the lock": "import piplockhook.lock.environment as m\nm.EnvironmentLock.acquire = broken",
    "releasing the lock": "import piplockhook.lock.environment as m\nm.EnvironmentLock.close = broken",
    "re-reading what is installed": "import piplockhook.pip as m\nm.refresh_working_sets = broken",
}


@pytest.fixture(scope="module")
def faulty(module_venv):
    with open(os.path.join(module_venv.site_packages, "zzz_plh_fault.pth"), "w") as f:
        f.write(FAULT_PTH)
    return module_venv


@pytest.mark.parametrize("fault", FAULTS)
def test_pip_works_and_warns_when_piplockhook_breaks(faulty, fault):
    env = faulty.env(PLH_FAULT=RAISE + FAULTS[fault])
    for args, check in (
        (("install", "plhsmall"), lambda: "plhsmall" in faulty.installed()),
        (("list",), lambda: True),
        (("uninstall", "-y", "plhsmall"), lambda: "plhsmall" not in faulty.installed()),
    ):
        result = faulty.pip(*args, env=env, check=False)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr and "injected fault" in result.stderr, (args, result.stderr)
        warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING: piplockhook: ")]
        # One line names the fault. A lock that could not be released is
        # still held by this process: a later request of the same pip then
        # says, in a second line, that it goes on under that hold.
        assert warnings and "injected fault" in warnings[0], (args, result.stderr)
        assert len(warnings) == 1 or (fault == "releasing the lock" and len(warnings) == 2), (args, result.stderr)
        assert check(), (args, result.stdout)


def test_the_fault_is_really_injected(faulty):
    # The same fault in a process that is not pip: the injection itself works.
    env = faulty.env(PLH_FAULT=RAISE + FAULTS["taking the lock"])
    probe = "import piplockhook.lock.environment as m; m.EnvironmentLock.acquire(None, 'shared')"
    result = faulty.run([faulty.python, "-c", probe], env=env, check=False)
    assert "injected fault" in result.stderr
