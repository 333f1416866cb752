"""Issue 28: a big upgrade (plhbig, 3000 modules) killed at a random time, or
interrupted with Ctrl-C while it writes, leaves the environment whole: after
the kill, the next `pip list` restores the tree before or after the upgrade,
exactly; after Ctrl-C, pip itself does before it exits. Each with its control:
the same signal to a pip with PIPLOCKHOOK=0 leaves damage."""

import os
import random
import re
import signal
import subprocess
import sys

import pytest
import stopwriting
import trees
from journalsweep import set_state, unhooked
from plh_backend import write_wheel
from procs import TIMEOUT, wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals (Windows: TerminateProcess, not here)")

UPGRADE = ["install", "plhbig==2.0"]
KILL_AFTER = (0.02, 0.6)  # seconds after the journal appears: the stash moves to the last files (26.3: ~0.6 s)
RESTORED = "WARNING: piplockhook: restored this environment after a pip died while changing it"
INTERRUPTED = "WARNING: piplockhook: this pip stopped before it finished changing the environment"


@pytest.fixture(scope="module")
def big(make_venv, wheelhouse):
    """A venv, and the trees before and after the upgrade of plhbig 1.0 to 2.0."""
    trees.build(wheelhouse)
    venv = make_venv()
    set_state(venv, ["plhbig==2.0"])
    after = trees.tree(venv)
    set_state(venv, ["plhbig==1.0"])
    return venv, trees.tree(venv), after


def start(venv, **env):
    return subprocess.Popen(
        [os.path.join(venv.bin, "pip"), *UPGRADE],
        env=venv.env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process):
    try:
        return process.communicate(timeout=TIMEOUT)[1]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def new_files(venv):
    """How many of 2.0's modules are written (its package folder, once 1.0's is stashed)."""
    package = os.path.join(venv.site_packages, trees.BIG)
    if any(n.startswith("~") for n in os.listdir(venv.site_packages)) and os.path.isdir(package):
        return len(os.listdir(package))
    return 0


def writing(venv, **env):
    """A pip upgrading plhbig, stopped (SIGSTOP, by itself: tests/support/stopwriting.py)
    once it has written 300 of 2.0's 3000 modules, whatever the machine's load. The
    caller sends its signal (and SIGCONT, for one the process must handle)."""
    pip = start(venv, **stopwriting.env(os.path.join(venv.site_packages, trees.BIG), 300), **env)
    try:
        stopwriting.wait_stopped(pip, TIMEOUT, "pip writing plhbig 2.0")
    except BaseException:
        finish(pip)
        raise
    assert new_files(venv) == 300
    return pip


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_sigkill_at_a_random_time_is_undone_by_the_next_pip(big, seed):
    venv, before, after = big
    delay = random.Random(seed).uniform(*KILL_AFTER)
    set_state(venv, ["plhbig==1.0"])
    pip = start(venv)
    try:
        wait_until(lambda: os.path.exists(venv.lock_path + ".journal") or pip.poll() is not None, what="the journal")
        try:
            pip.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            pip.send_signal(signal.SIGKILL)
    finally:
        finish(pip)
    # A kill after pip removed its journal (its work done, the process not yet gone) leaves nothing to restore.
    journal_left = os.path.exists(venv.lock_path + ".journal")
    listed = venv.pip("list")
    actual = trees.tree(venv)
    outcome = "before" if actual == before else "after" if actual == after else None
    assert outcome, f"seed {seed}, killed {delay:.2f}s in: {trees.differences(actual, before)[:10]}"
    assert journal_left or outcome == "after"
    assert (RESTORED in listed.stderr) == journal_left, listed.stderr
    print(f"seed {seed}: killed {delay:.2f}s after the journal appeared (rc {pip.returncode}): {outcome}")


def test_sigkill_while_writing_without_the_journal_leaves_damage(big):
    venv, before, after = big
    set_state(venv, ["plhbig==1.0"])
    pip = writing(venv, PIPLOCKHOOK="0")
    try:
        pip.send_signal(signal.SIGKILL)
    finally:
        finish(pip)
    venv.pip("list")
    assert trees.tree(venv) not in (before, after)


def test_the_restore_line_is_the_one_the_docs_show(big):
    # docs/journal.md's sample, with this run's pid, venv and time.
    venv, before, _after = big
    set_state(venv, ["plhbig==1.0"])
    pip = writing(venv)
    try:
        pip.send_signal(signal.SIGKILL)
    finally:
        finish(pip)
    listed = venv.pip("list")
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "journal.md"), encoding="utf-8") as f:
        (sample,) = re.findall(r"^\$ pip list\n(WARNING: piplockhook: restored .*)$", f.read(), re.M)
    shape = re.escape(sample)
    shape = shape.replace("pid\\ 4242", r"pid\ \d+").replace(re.escape("/venv/bin/python "), r".+/bin/python[\d.]*\ ")
    shape = shape.replace(re.escape("/venv"), ".+")
    shape = shape.replace(re.escape("2026-12-07 08:31:02"), r"\d{4}-\d\d-\d\d\ \d\d:\d\d:\d\d")
    assert any(re.fullmatch(shape, line) for line in listed.stderr.splitlines()), (shape, listed.stderr)
    assert re.search(r"^plhbig +1\.0$", listed.stdout, re.M)
    assert trees.tree(venv) == before


@pytest.mark.parametrize("hooked", [True, False])
def test_ctrl_c_while_writing_leaves_the_environment_whole(big, hooked):
    venv, before, after = big
    set_state(venv, ["plhbig==1.0"])
    pip = writing(venv) if hooked else writing(venv, PIPLOCKHOOK="0")
    try:
        pip.send_signal(signal.SIGINT)
        pip.send_signal(signal.SIGCONT)
    finally:
        stderr = finish(pip)
    assert pip.returncode != 0
    assert "Traceback" not in stderr, stderr
    if hooked:
        assert INTERRUPTED in stderr, stderr
        assert not os.path.exists(venv.lock_path + ".journal")
        assert trees.tree(venv) == before, trees.differences(trees.tree(venv), before)[:10]
    else:  # pip rolls back only on an Exception: KeyboardInterrupt is not one
        assert trees.tree(venv) not in (before, after)
    unhooked(venv, "list")


def test_a_pip_error_halfway_leaves_the_old_version_and_no_journal(big, tmp_path):
    """Not a kill: pip's own error handling (its rollback) runs, then ours finds
    nothing half-done it did not put back, and the journal goes."""
    venv, _, _ = big
    files = trees.files_of("plhj", "3.0")
    files["plhj-3.0.data/data/lib"] = "a file where the venv has a folder: pip fails writing it\n"
    write_wheel(str(tmp_path), "plhj", "3.0", files, entry_points="[console_scripts]\nplhj = plhj.cli:main\n")
    set_state(venv, ["plhj==1.0"])
    before = trees.tree(venv)
    result = venv.pip("install", "--find-links", str(tmp_path), "plhj==3.0", check=False)
    assert result.returncode == 1 and "Is a directory" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert trees.tree(venv) == before, trees.differences(trees.tree(venv), before)[:10]
    assert not os.path.exists(venv.lock_path + ".journal")
