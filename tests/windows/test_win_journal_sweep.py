"""Issue 28 on Windows: a pip terminated (TerminateProcess, what `taskkill /F`
and a cancelled job do) at every step of its journal is undone by the next
`pip list`: the sweep of tests/slow/test_journal_sweep.py (its driver,
tests/support/journalsweep.py), in a virtualenv, for an upgrade (a package,
a module, a console script `.exe` and a data file replaced) and an uninstall,
each with its control (a kill whose journal is removed leaves damage)."""

import pytest
import trees
from journalsweep import control, sweep
from winprocs import make_venv

pytestmark = pytest.mark.slow

TERMINATED = 15  # os.kill(pid, SIGTERM) on Windows is TerminateProcess(handle, 15)


@pytest.fixture(scope="module")
def win_journal(win_wheelhouse, tmp_path_factory):
    trees.build(win_wheelhouse)
    folder = tmp_path_factory.mktemp("win-journal")
    return make_venv(str(folder / "venv"), str(folder / "base"), win_wheelhouse)


@pytest.mark.parametrize("case", ["upgrade", "uninstall"])
def test_every_kill_point_is_undone_by_the_next_pip_list(win_journal, case):
    kill_points, states = sweep(win_journal, case, TERMINATED)
    damaged = control(win_journal, case, kill_points, states)
    assert damaged is not None, f"{case}: no kill point left damage without the journal"
