"""A bounded stress round: K workers run seeded random pip operations against
one venv at once, then the venv's integrity is checked (`piplockhook verify`, `pip check`).

The one race driver of every tier: tests/slow/test_race.py (short),
benchmarks/stress.py (long), the NFS lab's guests (tests/nfs/guest.py) and
the Windows tier (tests/windows/test_win_race.py). How an operation becomes a
process is a platform's `Processes` (here: a venv of this host; Windows'
are in tests/windows/winprocs.py), given by `venv.stress_processes()` where
the venv has one.
"""

import collections
import concurrent.futures
import json
import os
import random
import re
import subprocess
import sys

from packages import DEMO, DEMO_VERSIONS, SMALL, SMALL_VERSIONS

OP_TIMEOUT = 120

# An import that checks every file of the installed version is present. With
# the hook on it reads under a shared lock, as `piplockhook run -s` would.
IMPORT_CHECK = """
import fcntl, os, sys
lock = None
if os.environ.get("PIPLOCKHOOK") != "0":
    lock = open(os.path.join(sys.prefix, ".lock"), "a+")  # NFSv4 refuses LOCK_SH on a write-only fd (EBADF)
    fcntl.flock(lock, fcntl.LOCK_SH)
try:
    import {demo}
except ModuleNotFoundError:
    sys.exit(0)  # not installed right now: fine
{demo}.verify()
"""


def operations(rng):
    """One seeded random operation: (label, argv tail)."""
    demo = rng.choice(DEMO_VERSIONS)
    choices = [
        ("install", ["install", f"{DEMO}=={demo}"]),
        ("install", ["install", f"{DEMO}=={demo}"]),
        ("force-reinstall", ["install", "--force-reinstall", f"{DEMO}=={demo}"]),
        ("uninstall", ["uninstall", "-y", DEMO]),
        ("install-small", ["install", f"{SMALL}=={rng.choice(SMALL_VERSIONS)}"]),
        ("uninstall-small", ["uninstall", "-y", SMALL]),
        ("list", ["list"]),
        ("freeze", ["freeze"]),
        ("check", ["check"]),
        ("import", None),
    ]
    return rng.choice(choices)


OUTPUT_PROBLEMS = {
    "traceback": re.compile(r"Traceback \(most recent call last\)"),
    "invalid-distribution": re.compile(r"Ignoring invalid distribution"),
    "files-missing": re.compile(r"files missing"),
    "no-such-file": re.compile(r"No such file or directory|FileNotFoundError"),
}


class Processes:
    """How the driver runs things in a venv of this host (Linux, macOS, an NFS guest)."""

    problems = OUTPUT_PROBLEMS  # what a broken run prints, by name

    def __init__(self, venv):
        self.venv = venv

    def argv(self, label, args, hook):
        if args is None:  # IMPORT_CHECK locks by itself unless PIPLOCKHOOK=0
            return [self.venv.python, "-c", IMPORT_CHECK.format(demo=DEMO)]
        return [os.path.join(self.venv.bin, "pip"), *args]

    def run(self, argv, env):
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=OP_TIMEOUT)

    def verify(self):
        return self.run([os.path.join(self.venv.bin, "piplockhook"), "verify", "--json"], self.venv.env())

    def pip_check(self):
        return self.run([os.path.join(self.venv.bin, "pip"), "check"], self.venv.env(PIPLOCKHOOK="0"))

    def remove(self, path):
        subprocess.run(["rm", "-rf", path], check=True)


def processes_of(venv):
    made = getattr(venv, "stress_processes", None)
    return made() if made is not None else Processes(venv)


def _run_op(processes, env, label, args, hook):
    argv = processes.argv(label, args, hook)
    try:
        result = processes.run(argv, env)
    except subprocess.TimeoutExpired:
        return ["timeout"], f"{label}: timed out"
    text = result.stdout + result.stderr
    found = [name for name, regex in processes.problems.items() if regex.search(text)]
    # `pip check` exits 1 for a broken environment: judged by the integrity check.
    if result.returncode != 0 and label != "check":
        found.append(f"exit-status:{label}")
    return found, f"{label} rc={result.returncode}\n{text[-1500:]}" if found else ""


def _worker(venv, env, seed, ops, hook=True, choose=operations):
    """`ops` operations, each `choose(rng)`, one after another."""
    processes = processes_of(venv)
    rng = random.Random(seed)
    problems, samples = collections.Counter(), []
    for _ in range(ops):
        label, args = choose(rng)
        found, sample = _run_op(processes, env, label, args, hook)
        problems.update(found)
        if sample and len(samples) < 3:
            samples.append(sample)
    return problems, samples


def integrity_problems(venv):
    """Counter of what is broken in the venv now: `piplockhook verify`'s
    problems by kind, and whether `pip check` complains."""
    processes = processes_of(venv)
    problems = collections.Counter()
    verify = processes.verify()
    if verify.returncode in (0, 1):
        problems.update(f"verify:{p['kind']}" for p in json.loads(verify.stdout)["problems"])
    else:
        problems["verify-failed"] += 1
    if processes.pip_check().returncode != 0:
        problems["pip-check"] += 1
    return +problems


def run_round(venv, *, workers, ops, seed, hook):
    """Run one round; return (problems Counter, sample outputs)."""
    env = venv.env(**({} if hook else {"PIPLOCKHOOK": "0"}))
    problems, samples = collections.Counter(), []
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(_worker, venv, env, seed * 1000 + i, ops, hook) for i in range(workers)]
        for future in futures:
            found, some = future.result()
            problems.update(found)
            samples.extend(some)
    problems.update(integrity_problems(venv))
    return problems, samples


def repair(venv):
    """Bring a broken venv back to a clean state between rounds (unlocked)."""
    site, processes = venv.site_packages, processes_of(venv)
    for entry in os.listdir(site):
        if entry.startswith("~") or entry.lower().startswith((DEMO, SMALL)):
            processes.remove(os.path.join(site, entry))


def until_broken(venv, play, rounds):
    """The control: `play(seed)` (an unlocked round: its problems Counter,
    samples) for seeds 1..rounds until one shows problems, the venv repaired
    between rounds and after the last; returns each round's problems."""
    found = []
    try:
        for seed in range(1, rounds + 1):
            found.append(play(seed)[0])
            if found[-1]:
                break
            repair(venv)
    finally:
        repair(venv)
    return found


if __name__ == "__main__":
    sys.exit("use tests/slow/test_race.py or benchmarks/stress.py")
