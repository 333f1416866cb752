"""P2: what the hook costs an uncontended pip.

One venv; interleaved pairs of the same pip command with our .pth present (A)
and renamed away (B): `pip list`, `pip install <already satisfied>`, and
`pip install <local wheel>` (uninstalled, untimed, before each run).

    python benchmarks/pip_overhead.py [--pairs 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time

from _common import build_wheelhouse, describe_machine, make_venv, summary

CASES = {
    "pip list": (["list"], None),
    "pip install <already satisfied>": (["install", "plhsmall==1.0"], ["install", "plhsmall==1.0"]),
    "pip install <local wheel>": (["install", "plhdemo==2.0"], ["uninstall", "-y", "plhdemo"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=60)
    args = parser.parse_args()
    venv = make_venv(build_wheelhouse())
    env = venv.env()
    pip = os.path.join(venv.bin, "pip")
    pth = os.path.join(venv.site_packages, "piplockhook.pth")
    print(f"# P2 uncontended pip, {args.pairs} interleaved pairs; {describe_machine(venv)}")
    print("| command | with hook (median, min, max) | without | median paired ratio |")
    print("|---|---|---|---|")
    for name, (command, before) in CASES.items():
        times = {"with": [], "without": []}
        for i in range(args.pairs + 2):
            sample = {}
            for state in (("with", "without") if i % 2 else ("without", "with")):
                if (state == "with") != os.path.exists(pth):
                    os.rename(pth + ".off", pth) if state == "with" else os.rename(pth, pth + ".off")
                if before:
                    subprocess.run([pip, *before], env=env, capture_output=True, check=True)
                start = time.perf_counter()
                subprocess.run([pip, *command], env=env, capture_output=True, check=True)
                sample[state] = time.perf_counter() - start
            if i >= 2:
                for state, value in sample.items():
                    times[state].append(value * 1000)
        if not os.path.exists(pth):
            os.rename(pth + ".off", pth)
        ratios = [a / b for a, b in zip(times["with"], times["without"])]
        print(f"| `{name}` | {summary(times['with'])} ms | {summary(times['without'])} ms | {statistics.median(ratios):.3f} |")


if __name__ == "__main__":
    main()
