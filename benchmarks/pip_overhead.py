"""P2: what the hook costs an uncontended pip, and how much of that is ours.

For each pip version, one venv with piplockhook installed, and the same pip
command timed in interleaved rounds (the order rotates each round) of three
states, made by renaming files in site-packages between runs:

  bare        no startup file of ours
  wrapt only  a .pth that imports wrapt when pip starts, and nothing else:
              what any wrapt-based hook pays before doing anything
  hook        piplockhook.pth, as the wheel installs it

Commands: `pip list`, `pip install <already satisfied>`, `pip install <local
wheel>` (uninstalled, untimed, before each run). Prints wall-clock medians and
the medians of the per-round ratios hook ÷ bare and hook ÷ wrapt only (ours),
and, where valgrind exists, the same ratios in instructions (callgrind,
PYTHONHASHSEED=0: the same totals on every run) for the two read commands.

    python benchmarks/pip_overhead.py [--pairs 60] [--pip 23.2.1 --pip 26.3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from _common import Switches, Venv, build_wheelhouse, instructions, make_venv

CASES = {
    "pip list": (["list"], None),
    "pip install <already satisfied>": (["install", "plhsmall==1.0"], ["install", "plhsmall==1.0"]),
    "pip install <local wheel>": (["install", "plhdemo==2.0"], ["uninstall", "-y", "plhdemo"]),
}
COUNTED = ("pip list", "pip install <already satisfied>")  # callgrind runs ~50x slower: the short ones
STATES = ("bare", "wrapt only", "hook")
WRAPT_ONLY_PTH = "plh-wrapt-only.pth"
WRAPT_ONLY = 'import sys;exec("import wrapt")if"pip"in sys.argv[0][-17:]or"-m"==sys.argv[0]else 0\n'
WRAPT_NOTE = """
Most of what the hook adds to pip 26's `pip list` is wrapt itself: from 2.2,
`import wrapt` imports `asyncio` (its `wrapt.synchronization` module does so at
the top, though it uses it only inside functions), which pip 26's `pip list`
does not otherwise load; pip 23's does, so there the wrapt-only control costs
little. wrapt 2.0/2.1 and 1.x do not import asyncio. piplockhook does not pin
wrapt below 2.2: that would downgrade wrapt in environments that use it; an
import moved into wrapt's functions upstream would remove the cost for every
user of wrapt. Our own share is the "hook ÷ wrapt only" column."""
HEADER = (
    "| pip | command | bare | wrapt only | hook | hook ÷ bare | hook ÷ wrapt only (ours) "
    "| hook ÷ bare (instructions) | hook ÷ wrapt only (instructions) |",
    "|---|---|---|---|---|---|---|---|---|",
)


class Site(Switches):
    """Puts site-packages in one of STATES."""

    def __init__(self, site: str) -> None:
        super().__init__(site, {WRAPT_ONLY_PTH: WRAPT_ONLY})

    def set(self, state: str) -> None:
        self.want(WRAPT_ONLY_PTH, state == "wrapt only")
        self.want("piplockhook.pth", state == "hook")


def ratio(times: dict[str, list[float]], a: str, b: str) -> str:
    return f"{statistics.median(x / y for x, y in zip(times[a], times[b])):.3f}"


def counted(counts: dict[str, int | None], a: str, b: str) -> str:
    x, y = counts[a], counts[b]
    return f"{x / y:.4f}" if x and y else "–"


def measure(venv: Venv, pip_version: str, pairs: int, count: bool = True) -> list[str]:
    env = venv.env()
    env.pop("PYTHONUNBUFFERED", None)  # the tests read lines as they come; a user's pip is buffered
    pip = os.path.join(venv.bin, "pip")
    site = Site(venv.site_packages)
    rows = []
    for name, (command, before) in CASES.items():
        times: dict[str, list[float]] = {s: [] for s in STATES}
        for i in range(pairs + 2):
            for state in STATES[i % 3 :] + STATES[: i % 3]:
                site.set(state)
                if before:
                    subprocess.run([pip, *before], env=env, capture_output=True, check=True)
                start = time.perf_counter()
                subprocess.run([pip, *command], env=env, capture_output=True, check=True)
                if i >= 2:  # warm-up
                    times[state].append((time.perf_counter() - start) * 1000)
        counts: dict[str, int | None] = {}
        for state in STATES:
            site.set(state)
            counts[state] = instructions([pip, *command], env) if count and name in COUNTED else None
        site.set("hook")

        ms = {s: f"{statistics.median(times[s]):.1f} ms" for s in STATES}
        rows.append(
            f"| {pip_version} | `{name}` | {ms['bare']} | {ms['wrapt only']} | {ms['hook']} "
            f"| {ratio(times, 'hook', 'bare')} | {ratio(times, 'hook', 'wrapt only')} "
            f"| {counted(counts, 'hook', 'bare')} | {counted(counts, 'hook', 'wrapt only')} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-instructions", action="store_true", help="skip the callgrind counts (quick runs)")
    parser.add_argument("--pairs", type=int, default=60, help="rounds of interleaved runs (default 60)")
    parser.add_argument("--pip", action="append", default=[], help="pip versions (default: 23.2.1 and 26.3)")
    args = parser.parse_args()
    pips = args.pip or ["23.2.1", "26.3"]
    house = build_wheelhouse()
    for version in pips:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", house, f"pip=={version}"],
                       check=True, capture_output=True)  # fmt: skip
    python = "%d.%d.%d" % sys.version_info[:3]
    print(f"# P2 uncontended pip, {args.pairs} interleaved rounds; {os.cpu_count()} cores, CPython {python}")
    rows, venvs = [], []
    for version in pips:
        venvs.append(make_venv(house, hook=False))
        venvs[-1].run([venvs[-1].python, "-m", "pip", "install", f"pip=={version}"])
        venvs[-1].run([venvs[-1].python, "-m", "pip", "install", "piplockhook"])
        rows += measure(venvs[-1], version, args.pairs, not args.no_instructions)
    print("\n".join(HEADER + tuple(rows)))
    probe = "import wrapt, sys; print(wrapt.__version__, 'asyncio' in sys.modules)"
    version, asyncio = venvs[-1].run([venvs[-1].python, "-c", probe]).stdout.split()
    print(f"\n`import wrapt` ({version}) imports asyncio: {'yes' if asyncio == 'True' else 'no'}.")
    print(WRAPT_NOTE)


if __name__ == "__main__":
    main()
