"""The stress harness: K workers x N seeded random pip operations against one
venv (install, upgrade, downgrade, --force-reinstall, uninstall, list, freeze,
check, an import that verifies its own files), then an integrity check of
site-packages (`piplockhook verify` by kind of problem, and whether `pip check`
complains); with the hook and with PIPLOCKHOOK=0, side by side.

    python benchmarks/stress.py                       # the long run
    python benchmarks/stress.py --workers 4 --ops 10  # what the test suite runs
    python benchmarks/stress.py --pip-version 21.3.1 --seed 7

The test suite (tests/slow/test_race.py) runs the short mode of the same harness
(tests/stress.py).
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import time

from _common import build_wheelhouse, describe_machine, make_venv  # puts tests/ on sys.path

# isort: split
import stress as harness  # tests/stress.py, not this script: _common must come first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--ops", type=int, default=25, help="operations per worker per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pip-version", help="install this pip into the venvs first")
    args = parser.parse_args()
    house = build_wheelhouse()
    if args.pip_version:
        subprocess.run(
            ["python", "-m", "pip", "download", "--no-deps", "-d", house, f"pip=={args.pip_version}"],
            check=True,
            capture_output=True,
        )
    print(f"# stress: {args.workers} workers x {args.ops} ops x {args.rounds} rounds, seed {args.seed}")
    for hook in (True, False):
        venv = make_venv(house)
        if args.pip_version:
            venv.run([venv.python, "-m", "pip", "install", f"pip=={args.pip_version}"])
        if hook:
            print(f"# {describe_machine(venv)}")
        total, broken_rounds, seconds = collections.Counter(), 0, []
        for r in range(args.rounds):
            start = time.perf_counter()
            problems, _ = harness.run_round(venv, workers=args.workers, ops=args.ops, seed=args.seed + r, hook=hook)
            seconds.append(time.perf_counter() - start)
            total.update(problems)
            broken_rounds += bool(problems)
            harness.repair(venv)
        label = "hook" if hook else "PIPLOCKHOOK=0"
        ops = args.workers * args.ops * args.rounds
        print(
            f"\n{label}: {ops} operations, {broken_rounds}/{args.rounds} rounds with problems, "
            f"{sum(seconds):.0f}s in all"
        )
        for name, count in sorted(total.items(), key=lambda kv: -kv[1]) or [("(none)", 0)]:
            print(f"  {name:28} {count}")


if __name__ == "__main__":
    main()
