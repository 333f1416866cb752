"""A bounded stress round: K workers run seeded random pip operations against
one venv at once, then the venv's integrity is checked (`piplockhook verify`, `pip check`).

Used by tests/slow/test_race.py (short) and benchmarks/stress.py (long).
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


def _run_op(venv, env, label, args):
    if args is None:
        argv = [venv.python, "-c", IMPORT_CHECK.format(demo=DEMO)]
    else:
        argv = [os.path.join(venv.bin, "pip"), *args]
    try:
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=OP_TIMEOUT)
    except subprocess.TimeoutExpired:
        return ["timeout"], f"{label}: timed out"
    text = result.stdout + result.stderr
    found = [name for name, regex in OUTPUT_PROBLEMS.items() if regex.search(text)]
    # `pip check` exits 1 for a broken environment: judged by the integrity check.
    if result.returncode != 0 and label != "check":
        found.append(f"exit-status:{label}")
    return found, f"{label} rc={result.returncode}\n{text[-1500:]}" if found else ""


def _worker(venv, env, seed, ops):
    rng = random.Random(seed)
    problems, samples = collections.Counter(), []
    for _ in range(ops):
        label, args = operations(rng)
        found, sample = _run_op(venv, env, label, args)
        problems.update(found)
        if sample and len(samples) < 3:
            samples.append(sample)
    return problems, samples


def integrity_problems(venv):
    """Counter of what is broken in the venv now: `piplockhook verify`'s
    problems by kind, and whether `pip check` complains."""
    problems = collections.Counter()
    verify = subprocess.run(
        [os.path.join(venv.bin, "piplockhook"), "verify", "--json"],
        env=venv.env(),
        capture_output=True,
        text=True,
        timeout=OP_TIMEOUT,
    )
    if verify.returncode in (0, 1):
        problems.update(f"verify:{p['kind']}" for p in json.loads(verify.stdout)["problems"])
    else:
        problems["verify-failed"] += 1
    check = subprocess.run(
        [os.path.join(venv.bin, "pip"), "check"],
        env=venv.env(PIPLOCKHOOK="0"),
        capture_output=True,
        text=True,
        timeout=OP_TIMEOUT,
    )
    if check.returncode != 0:
        problems["pip-check"] += 1
    return +problems


def run_round(venv, *, workers, ops, seed, hook):
    """Run one round; return (problems Counter, sample outputs)."""
    env = venv.env(**({} if hook else {"PIPLOCKHOOK": "0"}))
    problems, samples = collections.Counter(), []
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(_worker, venv, env, seed * 1000 + i, ops) for i in range(workers)]
        for future in futures:
            found, some = future.result()
            problems.update(found)
            samples.extend(some)
    problems.update(integrity_problems(venv))
    return problems, samples


def repair(venv):
    """Bring a broken venv back to a clean state between rounds (unlocked)."""
    site = venv.site_packages
    for entry in os.listdir(site):
        if entry.startswith("~") or entry.lower().startswith((DEMO, SMALL)):
            subprocess.run(["rm", "-rf", os.path.join(site, entry)], check=True)


if __name__ == "__main__":
    sys.exit("use tests/slow/test_race.py or benchmarks/stress.py")
