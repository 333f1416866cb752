"""Issue 28: a pip killed at every step of its journal is undone by the next `pip list`
(the driver: tests/support/journalsweep.py, which the Windows tier runs too).

For each case the pip under test is SIGKILLed at journal step k = 1, 2, ...
(PIPLOCKHOOK_TEST_JOURNAL_KILL, read only by the journal: step 2j-1 is just
before entry j is written, 2j just after it is durable, the last just before
the journal is removed) until it runs to its end. After each kill, `pip list`
restores, and the tree (paths and hashes of site-packages, bin/, share/,
RECORDs) must be one of what pip leaves when the command fails there: the
state before it, then after each distribution it finished, in its order,
never going back. Then the control: the same kill with the journal gone (as
main's code, which writes none) leaves a tree that is none of them.
"""

import pytest
import trees
from journalsweep import CASES, control, sweep

KILLED = -9  # SIGKILL


@pytest.fixture(scope="module")
def journal_venv(make_venv, wheelhouse):
    trees.build(wheelhouse)
    return make_venv()


@pytest.mark.parametrize("case", list(CASES))
def test_every_kill_point_is_undone_by_the_next_pip_list(journal_venv, case):
    kill_points, states = sweep(journal_venv, case, KILLED)
    # The control: main's code writes no journal; the same kill, its journal removed, leaves damage.
    if case == "install-new":
        return  # every journal step of a new install falls between whole states: see test_journal_random
    assert control(journal_venv, case, kill_points, states) is not None, (
        f"{case}: no kill point left damage without the journal"
    )
