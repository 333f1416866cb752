"""V: how fast `piplockhook verify` checks an environment, against
`sha256sum` over the same files (the ceiling: one C process hashing).

A venv gets the hook and --dists generated distributions (a few dozen small
modules each, as most projects are) plus --big distributions of one large
binary file each (as CUDA wheels are); then `piplockhook verify`,
`verify --quick` and `sha256sum` run interleaved, --runs times each, on a warm
page cache (the figures are the checking's cost, not the disk's).

    python benchmarks/verify.py                  # 400 distributions, ~300 MB
    python benchmarks/verify.py --quick          # 40 distributions, to try it out
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from _common import build_wheelhouse, describe_machine, make_venv  # puts tests/ on sys.path

# isort: split
from plh_backend import write_wheel
from procs import Venv


def generate(directory: str, dists: int, big: int, big_mb: int) -> list[str]:
    """Write the wheels; return the requirements that install them."""
    rng = random.Random(14)
    names = []
    for i in range(dists):
        name = f"plhbench{i:04d}"
        files = {f"{name}/__init__.py": f"VERSION = {i}\n"}
        for j in range(rng.randint(10, 40)):
            files[f"{name}/mod_{j:02d}.py"] = f"VALUE = {j}\n" + "#" * rng.randint(100, 20000) + "\n"
        write_wheel(directory, name, "1.0", files)
        names.append(f"{name}==1.0")
    for i in range(big):
        name = f"plhbig{i}"
        blob = rng.randbytes(big_mb << 20) if hasattr(rng, "randbytes") else os.urandom(big_mb << 20)
        write_wheel(directory, name, "1.0", {f"{name}/__init__.py": "", f"{name}/libbig.so": blob})
        names.append(f"{name}==1.0")
    return names


def hashed_files(site: str) -> tuple[list[str], int, int]:
    """The files RECORD lists with a hash (what verify hashes), and the count
    and bytes of every file RECORD lists (what verify checks)."""
    hashed, count, size = [], 0, 0
    for entry in os.listdir(site):
        record = os.path.join(site, entry, "RECORD")
        if not entry.endswith(".dist-info") or not os.path.exists(record):
            continue
        with open(record, newline="") as f:
            for path, digest, _ in csv.reader(f):
                full = os.path.normpath(os.path.join(site, path))
                count += 1
                size += os.path.getsize(full)
                if digest:
                    hashed.append(full)
    return hashed, count, size


def timed(argv: list[str], env: dict, **kwargs) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, **kwargs)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{argv[:3]} exited {result.returncode}: {result.stdout[-500:]} {result.stderr[-500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dists", type=int, default=400, help="generated distributions of small modules")
    parser.add_argument("--big", type=int, default=4, help="distributions of one large file each")
    parser.add_argument("--big-mb", type=int, default=64, help="size of each large file")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="40 + 2 x 4 MB, 2 runs")
    args = parser.parse_args()
    if args.quick:
        args.dists, args.big, args.big_mb, args.runs = 40, 2, 4, 2
    house = build_wheelhouse()
    venv = make_venv(house)
    try:
        with tempfile.TemporaryDirectory(prefix="plh-bench-verify-") as wheels:
            requirements = generate(wheels, args.dists, args.big, args.big_mb)
            env = dict(venv.env(), PIP_FIND_LINKS=f"{wheels} {house}")
            pip = [venv.python, "-m", "pip", "install", "--no-deps", *requirements]
            subprocess.run(pip, env=env, check=True, capture_output=True)
        measure(venv, args.runs)
    finally:
        shutil.rmtree(venv.path)  # hundreds of MB


def measure(venv: Venv, runs: int) -> None:
    site = venv.site_packages
    hashed, count, size = hashed_files(site)
    hashed_bytes = sum(os.path.getsize(p) for p in hashed)
    verify = os.path.join(venv.bin, "piplockhook")
    env = venv.env()
    listing = "\0".join(hashed).encode()
    commands = {
        "sha256sum": lambda: timed(["xargs", "-0", "sha256sum"], env, input=listing),
        "openssl": lambda: timed(["xargs", "-0", "openssl", "dgst", "-sha256"], env, input=listing),
        "verify": lambda: timed([verify, "verify"], env),
        "quick": lambda: timed([verify, "verify", "--quick"], env),
    }
    for command in commands.values():  # warm the page cache; verify must find it clean
        command()
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            seconds[name].append(command())
    median = {name: statistics.median(values) for name, values in seconds.items()}
    distributions = len([e for e in os.listdir(site) if e.endswith(".dist-info")])
    print(
        f"# V verify throughput: {distributions} distributions, {count} files ({len(hashed)} with a hash), "
        f"{size / 1e6:.0f} MB; median of {runs} interleaved runs, warm page cache; {describe_machine(venv)}"
    )
    print("| run | what it does | median s (min, max) | files/s | MB/s | hashed MB/s | ÷ sha256sum | ÷ openssl |")
    print("|---|---|---|---|---|---|---|---|")
    rows = [
        ("`sha256sum` (the ceiling)", "sha256sum", "hashes the files RECORD lists with a hash", len(hashed)),
        ("`openssl dgst -sha256`", "openssl", "the same with OpenSSL's sha256, which hashlib uses", len(hashed)),
        ("`piplockhook verify`", "verify", "hashes those, stats the others (.pyc, RECORD)", count),
        ("`piplockhook verify --quick`", "quick", "stats every file: presence and size", count),
    ]
    for label, name, does, files in rows:
        values, took = seconds[name], median[name]
        volume = hashed_bytes if files == len(hashed) else size
        rate = "–" if name == "quick" else f"{hashed_bytes / 1e6 / took:.0f}"
        print(
            f"| {label} | {does} | {took:.3f} ({min(values):.3f}, {max(values):.3f}) | {files / took:.0f} | "
            f"{volume / 1e6 / took:.0f} | {rate} | {took / median['sha256sum']:.2f} | {took / median['openssl']:.2f} |"
        )
    print(
        "\nEach run is one process, start-up included. `sha256sum` is GNU coreutils' own sha256; Python's\n"
        "hashlib (so `verify`) and `openssl dgst` use OpenSSL's, which uses the CPU's SHA instructions where\n"
        "it has them: where it does, `verify` hashes faster than `sha256sum`, and `openssl dgst` is the\n"
        "ceiling that counts. MB/s counts every file checked (the stat-only .pyc files too); hashed MB/s\n"
        "only the bytes hashed."
    )


if __name__ == "__main__":
    sys.exit(main())
