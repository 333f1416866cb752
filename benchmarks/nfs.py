"""Costs across hosts, in the NFS lab (.ci/nfs up first; it stays up).

P5 on NFS: uncontended acquire + release of the environment lock
(EnvironmentLock, as pip takes it) on /nfs/venv/.lock (NFSv4.2 and NFSv3),
beside the same on the guest's own tmpfs. `pip list` with the hook / bare
on the NFS venv: wall-clock, paired (bare and hooked alternate, one run),
medians and the median of the pairs' ratios. The cross-host stress's wall
time with and without the hook (2 hosts x 3 workers).

    .ci/nfs up && python benchmarks/nfs.py [--pairs 7] [--rounds 200] [--stress-ops 4]
    .ci/nfs up && python benchmarks/run_all.py --only nfs.py   # docs/performance.md's section

The guests are software-emulated (qemu TCG, 1 vCPU each, 2 host cores for
three guests): absolute times are many times a real machine's; the ratios
and the NFS-vs-local comparison are what carry over.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "nfs"))

import lab
from lock_cost import FLOCK_ONLY, NO_HOLDER_FILES  # the baselines: the record step a no-op; no OFD part

LOCK_COST = """
import sys, time
from piplockhook.lock.environment import EnvironmentLock
from piplockhook.locations import LockLocation
from piplockhook.report import Reporter
path, rounds, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if sys.argv[4:] == ["nofiles"]:
    exec(NO_HOLDER_FILES)
if sys.argv[4:] == ["flockonly"]:
    exec(FLOCK_ONLY)
out = []
for _ in range(rounds):
    t = time.perf_counter()
    lock = EnvironmentLock(LockLocation(path, "b"), reporter=Reporter(False))
    lock.acquire(mode); lock.close()
    out.append(time.perf_counter() - t)
print(" ".join(map(repr, out)))
"""


def summary(values: list[float], unit: str) -> str:
    return f"{statistics.median(values):.3f} {unit} (min {min(values):.3f}, max {max(values):.3f})"


def lock_cost(path: str, rounds: int, mode: str, variant: str = "") -> list[float]:
    """`variant`: "nofiles" (without holder files) or "flockonly" (without the OFD part)."""
    with open(lab.path("lockcost.py"), "w") as f:
        f.write(f"NO_HOLDER_FILES = {NO_HOLDER_FILES!r}\nFLOCK_ONLY = {FLOCK_ONLY!r}\n{LOCK_COST}")
    out = lab.run("a", f"python /lab/lockcost.py {path} {rounds} {mode} {variant}").stdout
    return [float(v) * 1000 for v in out.split()]


def pip_list_pairs(pairs: int) -> tuple[list[float], list[float]]:
    timer = "python3 -c 'import subprocess, sys, time; t = time.perf_counter(); subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); print(time.perf_counter() - t)'"
    bare, hooked = [], []
    lab.run("a", "pip list >/dev/null")  # warm the client's caches once
    for _ in range(pairs):
        bare.append(float(lab.run("a", f"PIPLOCKHOOK=0 {timer} pip list").stdout))
        hooked.append(float(lab.run("a", f"{timer} pip list").stdout))
    return bare, hooked


def stress(ops: int) -> dict[str, float]:
    walls = {}
    for hook in (1, 0):
        start = time.monotonic()
        jobs = [lab.Job(h, f"{lab.GUEST} stress {300 + i} 3 {ops} {hook}", bound=1200) for i, h in enumerate("ab")]
        for job in jobs:
            status, _out, err = job.wait(1260)
            if status != 0:
                sys.exit(f"stress round failed: {err}")
        walls["locked" if hook else "unlocked"] = time.monotonic() - start
        lab.run("b", f"{lab.GUEST} repair")
    return walls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--stress-ops", type=int, default=4, help="operations per worker (0: no stress)")
    args = parser.parse_args()
    lab.run("a", "true", bound=60)
    lab.install_guest_scripts()
    info = lab.run("a", "python -c 'import sys, pip; print(sys.version.split()[0], pip.__version__)'").stdout.split()
    print(
        f"# NFS lab: 3 qemu TCG guests (1 vCPU, {os.environ.get('PLH_NFS_MEMORY', '1536')} MB) on {os.cpu_count()} host cores, "
        f"CPython {info[0]}, pip {info[1]}, lease {lab.LEASE} s"
    )
    print("| measure | value |")
    print("|---|---|")
    local = {m: lock_cost("/tmp/bench.lock", args.rounds, m) for m in ("shared", "exclusive")}
    for kind in ("v4", "v3"):
        lab.nfs("mount", kind, "a")
        for mode in ("shared", "exclusive"):
            nfs = lock_cost("/nfs/venv/.lock", args.rounds, mode)
            bare = lock_cost("/nfs/venv/.lock", args.rounds, mode, "nofiles")
            flock = lock_cost("/nfs/venv/.lock", args.rounds, mode, "flockonly")
            print(
                f"| P5 uncontended acquire + release, {mode}, NFS{'v4.2' if kind == 'v4' else 'v3'} ({args.rounds} runs) "
                f"| {summary(nfs, 'ms')}; guest tmpfs {summary(local[mode], 'ms')}; ratio of medians "
                f"{statistics.median(nfs) / statistics.median(local[mode]):.0f}; without holder files "
                f"{summary(bare, 'ms')}, with ÷ without {statistics.median(nfs) / statistics.median(bare):.2f}; "
                f"as a flock alone (no OFD part) {summary(flock, 'ms')}, "
                f"with ÷ without {statistics.median(nfs) / statistics.median(flock):.2f} |"
            )
    lab.nfs("mount", "v4", "a")
    bare, hooked = pip_list_pairs(args.pairs)
    ratios = [h / b for b, h in zip(bare, hooked)]
    print(f"| `pip list` on the NFSv4.2 venv, bare ({args.pairs} runs, wall) | {summary(bare, 's')} |")
    print(f"| `pip list` on the NFSv4.2 venv, hook ({args.pairs} runs, wall) | {summary(hooked, 's')} |")
    print(
        f"| hook ÷ bare: median of paired ratios; ratio of medians | {statistics.median(ratios):.3f}; "
        f"{statistics.median(hooked) / statistics.median(bare):.3f} |"
    )
    if args.stress_ops:
        walls = stress(args.stress_ops)
        ops = 2 * 3 * args.stress_ops
        print(
            f"| stress, 2 hosts x 3 workers, {ops} operations, wall: locked; unlocked | "
            f"{walls['locked']:.0f} s; {walls['unlocked']:.0f} s (ratio {walls['locked'] / walls['unlocked']:.2f}) |"
        )
    print()
    print(f"Bare, hooked (s, in pairs): {json.dumps(list(zip(bare, hooked)))}. Absolute times are a software-emulated")
    print("guest's (qemu TCG); the ratios and the NFS-vs-tmpfs comparison are what carry over.")


if __name__ == "__main__":
    main()
