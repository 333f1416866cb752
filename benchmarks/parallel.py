"""P3: parallel installs into one venv, hook vs unlocked vs fully serialized.

6 concurrent `pip install` of distinct local wheels, and 4 concurrent installs
of distinct local sdists that need a build (build isolation). Each batch runs
with the hook, with PIPLOCKHOOK=0 (unlocked: fast but unsafe), and with each
pip wrapped in `piplockhook run -x` (serialized: what sage-flock -x or uv's
exclusive lock give). Wall time of the whole batch, median of --rounds.

    python benchmarks/parallel.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time

from _common import build_wheelhouse, describe_machine, make_venv, packages, summary

WHEELS = [f"plhpar{i}" for i in range(6)]
SDISTS = [f"plhbuild{i}" for i in range(4)]


def add_distributions(house: str) -> None:
    for name in WHEELS:
        packages.write_wheel(house, name, "1.0", packages.demo_files(name, "1.0", 150))
    for name in SDISTS:
        packages.write_sdist(house, name, "1.0")


def batch(venv, names: list[str], variant: str) -> float:
    pip = os.path.join(venv.bin, "pip")
    env = venv.env(**({"PIPLOCKHOOK": "0"} if variant == "unlocked" else {}))
    subprocess.run([pip, "uninstall", "-y", *names], env=env, capture_output=True)
    prefix = [os.path.join(venv.bin, "piplockhook"), "run", "-x", "--"] if variant == "serialized" else []
    start = time.perf_counter()
    procs = [
        subprocess.Popen([*prefix, pip, "install", name], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for name in names
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        if p.returncode:
            raise SystemExit(f"{variant}: pip failed:\n{err.decode()[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    house = build_wheelhouse()
    add_distributions(house)
    venv = make_venv(house)
    print(f"# P3 parallel installs into one venv, median of {args.rounds} rounds; {describe_machine(venv)}")
    print(
        "| batch | hook | unlocked (PIPLOCKHOOK=0) | serialized (`piplockhook run -x`) | hook ÷ unlocked | hook ÷ serialized |"
    )
    print("|---|---|---|---|---|---|")
    for label, names in (("6 local wheels", WHEELS), ("4 sdists with a build", SDISTS)):
        times = {"hook": [], "unlocked": [], "serialized": []}
        for i in range(args.rounds):
            order = list(times) if i % 2 else list(reversed(times))
            for variant in order:
                times[variant].append(batch(venv, names, variant))
        med = {k: statistics.median(v) for k, v in times.items()}
        print(
            f"| {label} | {summary(times['hook'])} s | {summary(times['unlocked'])} s | "
            f"{summary(times['serialized'])} s | {med['hook'] / med['unlocked']:.3f} | {med['hook'] / med['serialized']:.3f} |"
        )


if __name__ == "__main__":
    main()
