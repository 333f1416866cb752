"""P1: what the .pth costs every Python process that is not pip.

`python -c pass` in one venv with piplockhook installed, run in interleaved
pairs with our .pth present (A) and renamed away (B), same for setuptools'
`distutils-precedence.pth` where the venv has it. Prints medians and the
median of the paired ratios, for wall and CPU time.

    python benchmarks/startup.py [--pairs 200]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import time

from _common import build_wheelhouse, describe_machine, make_venv, summary


def timed(argv: list[str], env: dict) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def paired(venv, files: list[str], pairs: int, env: dict) -> dict:
    """Interleave runs with `files` present and renamed away."""
    argv = [venv.python, "-c", "pass"]
    results = {"with": [], "without": []}
    for i in range(pairs + 5):
        sample = {}
        for state in (("with", "without") if i % 2 else ("without", "with")):
            for f in files:
                present = os.path.exists(f)
                if (state == "with") != present:
                    os.rename(f + ".off", f) if state == "with" else os.rename(f, f + ".off")
            sample[state] = timed(argv, env)
        if i >= 5:  # warm-up
            for state, value in sample.items():
                results[state].append(value)
    for f in files:
        if not os.path.exists(f):
            os.rename(f + ".off", f)
    return results


def report(name: str, results: dict) -> None:
    for index, unit in ((0, "wall"), (1, "cpu")):
        with_ = [r[index] * 1000 for r in results["with"]]
        without = [r[index] * 1000 for r in results["without"]]
        ratios = [a / b for a, b in zip(with_, without) if b > 0]
        print(f"| {name} | {unit} | {summary(with_)} ms | {summary(without)} ms | {statistics.median(ratios):.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200)
    args = parser.parse_args()
    house = build_wheelhouse()
    venv = make_venv(house)
    env = venv.env()
    site = venv.site_packages
    ours = [os.path.join(site, n) for n in ("piplockhook.pth", "piplockhook.start")]
    print(f"# P1 startup, {args.pairs} interleaved pairs of `python -c pass`; {describe_machine(venv)}")
    print("| .pth | time | with (median, min, max) | without | median paired ratio |")
    print("|---|---|---|---|---|")
    report("piplockhook.pth", paired(venv, ours, args.pairs, env))
    setuptools_pth = os.path.join(site, "distutils-precedence.pth")
    if os.path.exists(setuptools_pth):
        for f in ours:
            os.rename(f, f + ".off")
        try:
            report("distutils-precedence.pth (setuptools)", paired(venv, [setuptools_pth], args.pairs, env))
        finally:
            for f in ours:
                os.rename(f + ".off", f)
    probe = "import sys; print(sorted(m for m in sys.modules if m.startswith(('piplockhook', 'wrapt'))))"
    loaded = venv.run([venv.python, "-c", probe]).stdout.strip()
    print(f"\nmodules of piplockhook or wrapt loaded by `python -c`: {loaded}")


if __name__ == "__main__":
    main()
