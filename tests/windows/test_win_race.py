"""The race on Windows: concurrent Windows pips into one environment.

With the hook: zero problems and `piplockhook verify` clean. The same
scenario with PIPLOCKHOOK=0 must show problems within a bounded number of
rounds, or this test proves nothing. The operations are tests/support/stress.py's
(seeded), run as Windows processes.
"""

import collections
import concurrent.futures
import json
import random
import re
import subprocess

import pytest
import stress
from packages import DEMO, SMALL
from winprocs import make_venv, winpath

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def winpy(win_wheelhouse, tmp_path_factory):
    """One virtual environment (the race does not depend on the kind; the
    lock table runs in both)."""
    folder = tmp_path_factory.mktemp("win-race")
    return make_venv(str(folder / "venv"), str(folder / "base"), win_wheelhouse)


WORKERS, OPS = 4, 5
CONTROL_ROUNDS = 3

# What a broken run prints on Windows beyond tests/support/stress.py's words: a
# file gone ([WinError 2]/[WinError 3]), one another pip holds open
# ([WinError 32], access denied).
PROBLEMS = {
    **stress.OUTPUT_PROBLEMS,
    "no-such-file": re.compile(
        r"No such file or directory|FileNotFoundError|WinError [23]\]|cannot find the (file|path)"
    ),
    "file-in-use": re.compile(r"WinError (5|32)\]|PermissionError|being used by another process"),
}
IMPORT = f"import {DEMO}; {DEMO}.verify()"


def _run_op(win, env, label, args, hook):
    if args is None:  # an import that checks every file of the installed version is there
        check = [
            winpath(win.python),
            "-c",
            f"try:\n import {DEMO}\nexcept ModuleNotFoundError:\n pass\nelse:\n {DEMO}.verify()",
        ]
        argv = [win.exe("piplockhook.exe"), "run", "-s", "--", *check] if hook else [win.python, *check[1:]]
    else:
        argv = [win.exe("pip.exe"), *args]
    try:
        result = win.run(argv, env=env, check=False, timeout=stress.OP_TIMEOUT)
    except subprocess.TimeoutExpired:
        return ["timeout"], f"{label}: timed out"
    text = result.stdout + result.stderr
    found = [name for name, regex in PROBLEMS.items() if regex.search(text)]
    if result.returncode != 0 and label != "check":
        found.append(f"exit-status:{label}")
    return found, f"{label} rc={result.returncode}\n{text[-1500:]}" if found else ""


def _worker(win, env, seed, hook):
    rng = random.Random(seed)
    problems, samples = collections.Counter(), []
    for _ in range(OPS):
        label, args = stress.operations(rng)
        found, sample = _run_op(win, env, label, args, hook)
        problems.update(found)
        if sample and len(samples) < 3:
            samples.append(sample)
    return problems, samples


def integrity_problems(win):
    problems = collections.Counter()
    verify = win.cli("verify", "--json", timeout=stress.OP_TIMEOUT)
    if verify.returncode in (0, 1):
        problems.update(f"verify:{p['kind']}" for p in json.loads(verify.stdout)["problems"])
    else:
        problems["verify-failed"] += 1
    if win.pip("check", env=win.env(PIPLOCKHOOK="0"), check=False).returncode != 0:
        problems["pip-check"] += 1
    return +problems


def run_round(win, seed, hook):
    env = win.env(**({} if hook else {"PIPLOCKHOOK": "0"}))
    problems, samples = collections.Counter(), []
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(_worker, win, env, seed * 1000 + i, hook) for i in range(WORKERS)]
        for future in futures:
            found, some = future.result()
            problems.update(found)
            samples.extend(some)
    problems.update(integrity_problems(win))
    return problems, samples


def repair(win):
    import os
    import shutil

    for entry in os.listdir(win.site_packages):
        if entry.startswith("~") or entry.lower().startswith((DEMO, SMALL)):
            path = os.path.join(win.site_packages, entry)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


def report(capsys, win, kind, rounds):
    with capsys.disabled():
        for i, problems in enumerate(rounds):
            print(f"\nwindows race ({win.kind}, {kind}): round {i + 1}: {dict(problems) or 'no problems'}")


def test_with_the_hook_nothing_breaks(win, capsys):
    problems, samples = run_round(win, seed=1, hook=True)
    report(capsys, win, "hook", [problems])
    repair(win)
    assert not problems, f"{dict(problems)}\n" + "\n---\n".join(samples)


def test_without_the_hook_the_same_scenario_breaks(win, capsys):
    rounds = []
    try:
        for seed in range(1, CONTROL_ROUNDS + 1):
            problems, _ = run_round(win, seed=seed, hook=False)
            rounds.append(problems)
            if problems:
                break
            repair(win)
    finally:
        repair(win)
    report(capsys, win, "PIPLOCKHOOK=0", rounds)
    assert rounds[-1], f"no problem in {CONTROL_ROUNDS} unlocked rounds: the stress scenario proves nothing"
