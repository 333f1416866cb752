"""The race on Windows: concurrent Windows pips into one environment.

With the hook: zero problems and `piplockhook verify` clean. The same
scenario with PIPLOCKHOOK=0 must show problems within a bounded number of
rounds, or this test proves nothing. The driver is tests/support/stress.py's, the
one of every tier, with Windows processes (winprocs.WindowsProcesses).
"""

import pytest
import stress
from winprocs import make_venv

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def winpy(win_wheelhouse, tmp_path_factory):
    """One virtual environment (the race does not depend on the kind; the
    lock table runs in both)."""
    folder = tmp_path_factory.mktemp("win-race")
    return make_venv(str(folder / "venv"), str(folder / "base"), win_wheelhouse)


WORKERS, OPS = 4, 5
CONTROL_ROUNDS = 3


def run_round(win, seed, hook):
    return stress.run_round(win, workers=WORKERS, ops=OPS, seed=seed, hook=hook)


def report(capsys, win, kind, rounds):
    with capsys.disabled():
        for i, problems in enumerate(rounds):
            print(f"\nwindows race ({win.kind}, {kind}): round {i + 1}: {dict(problems) or 'no problems'}")


def test_with_the_hook_nothing_breaks(win, capsys):
    problems, samples = run_round(win, seed=1, hook=True)
    report(capsys, win, "hook", [problems])
    stress.repair(win)
    assert not problems, f"{dict(problems)}\n" + "\n---\n".join(samples)


def test_without_the_hook_the_same_scenario_breaks(win, capsys):
    rounds = stress.until_broken(win, lambda seed: run_round(win, seed=seed, hook=False), CONTROL_ROUNDS)
    report(capsys, win, "PIPLOCKHOOK=0", rounds)
    assert rounds[-1], f"no problem in {CONTROL_ROUNDS} unlocked rounds: the stress scenario proves nothing"
