"""P1: what piplockhook costs every Python process that is not pip.

For each Python, one venv with piplockhook installed, and `python -c pass`
timed in interleaved rounds (the order rotates each round) of these states,
made by renaming files in site-packages between runs:

  bare    the venv without our startup files
  floor   bare + a `.pth` holding only a comment: what any `.pth` costs
          (from 3.13 CPython imports encodings.utf_8_sig once one exists)
  hook    bare + piplockhook.pth, as the wheel installs it
  .start  hook + a piplockhook.start (3.15+ only): what shipping the PEP 829
          file would cost

One row per Python: wall-clock medians, the median of the per-round ratios
hook ÷ floor (wall and CPU) and hook ÷ bare, and, where valgrind exists,
instructions (callgrind, PYTHONHASHSEED=0: the same total on every run).

    python benchmarks/startup.py [--pairs 200] [--python PY ...] [--sid 3.14 --sid 3.15]

`--sid 3.15` measures Debian sid's python3.15 inside the root that `.ci/sid`
builds (pyenv has no 3.14/3.15 here).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

from _common import ROOT, Switches, Venv, add_wrapt_for, build_wheelhouse, instructions, make_venv

STATES = ("bare", "floor", "hook", ".start")
FLOOR = "plh-floor.pth"
START_ENTRY = "piplockhook:start\n"
HEADER = (
    "| Python | bare | floor | hook | hook ÷ floor | hook ÷ floor (cpu) | hook ÷ floor (instructions) "
    "| hook ÷ bare | with .start ÷ floor | with .start ÷ floor (instructions) |",
    "|---|---|---|---|---|---|---|---|---|---|",
)


class Site(Switches):
    """Puts site-packages in one of STATES."""

    def __init__(self, site: str) -> None:
        super().__init__(site, {FLOOR: "# a .pth file with nothing to do\n", "piplockhook.start": START_ENTRY})
        if os.path.exists(os.path.join(site, "piplockhook.start")):  # a wheel that ships one: measure without it
            os.replace(os.path.join(site, "piplockhook.start"), os.path.join(site, "piplockhook.start.off"))

    def set(self, state: str) -> None:
        self.want(FLOOR, state == "floor")
        self.want("piplockhook.pth", state in ("hook", ".start"))
        self.want("piplockhook.start", state == ".start")


def timed(argv: list[str], env: dict) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(venv: Venv, pairs: int, count: bool = True) -> str:
    env = venv.env()
    site = Site(venv.site_packages)
    version = venv.run([venv.python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"]).stdout.strip()
    states = [s for s in STATES if s != ".start" or tuple(map(int, version.split(".")[:2])) >= (3, 15)]
    argv = [venv.python, "-c", "pass"]
    runs: dict[str, list[tuple[float, float]]] = {s: [] for s in states}
    for i in range(pairs + 5):
        for state in states[i % len(states) :] + states[: i % len(states)]:
            site.set(state)
            sample = timed(argv, env)
            if i >= 5:  # warm-up
                runs[state].append(sample)
    counts = {}
    for state in states:
        site.set(state)
        counts[state] = instructions(argv, env) if count else None
    site.set("hook")
    wall = {s: [r[0] for r in runs[s]] for s in states}
    cpu = {s: [r[1] for r in runs[s]] for s in states}

    def ratio(values: dict, a: str, b: str) -> str:
        return f"{statistics.median(x / y for x, y in zip(values[a], values[b]) if y > 0):.3f}"

    ms = {s: f"{statistics.median(wall[s]) * 1000:.2f} ms" for s in ("bare", "floor", "hook")}

    def counted(a: str) -> str:
        return f"{counts[a] / counts['floor']:.4f}" if counts.get(a) and counts["floor"] else "–"

    start = ratio(wall, ".start", "floor") if ".start" in states else "–"
    return (
        f"| {version} | {ms['bare']} | {ms['floor']} | {ms['hook']} | {ratio(wall, 'hook', 'floor')} "
        f"| {ratio(cpu, 'hook', 'floor')} | {counted('hook')} | {ratio(wall, 'hook', 'bare')} "
        f"| {start} | {counted('.start')} |"
    )


def sid_rows(version: str, pairs: int) -> list[str]:
    """The rows for Debian sid's python<version>, measured inside .ci/sid's root."""
    script = (
        'set -eu; v=$1; shift; r=/tmp/plh-bench-runner-$v; rm -rf "$r"; python$v -m venv "$r"; '
        '"$r/bin/python" -m pip install -q hatchling; exec "$r/bin/python" benchmarks/startup.py "$@"'
    )
    out = subprocess.run(
        [
            os.path.join(ROOT, ".ci", "sid"),
            "run",
            "/bin/sh",
            "-c",
            script,
            "sid-bench",
            version,
            "--rows-only",
            "--pairs",
            str(pairs),
            "--python",
            f"/usr/bin/python{version}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [line for line in out.splitlines() if line.startswith("| ")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-instructions", action="store_true", help="skip the callgrind counts (quick runs)")
    parser.add_argument("--pairs", type=int, default=200, help="rounds of interleaved runs (default 200)")
    parser.add_argument("--python", action="append", default=[], help="an interpreter to measure (repeatable)")
    parser.add_argument("--sid", action="append", default=[], metavar="X.Y", help="Debian sid's pythonX.Y via .ci/sid")
    parser.add_argument("--rows-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    pythons = args.python or ([] if args.sid else [sys.executable])
    house = build_wheelhouse() if pythons else ""
    for python in pythons:
        if python != sys.executable:
            add_wrapt_for(house, python)
    venvs = [make_venv(house, python=python) for python in pythons]
    rows = [measure(venv, args.pairs, not args.no_instructions) for venv in venvs]
    if args.rows_only:
        print("\n".join(rows))
        return
    rows += [row for version in args.sid for row in sid_rows(version, args.pairs)]
    machine = f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}"
    print(f"# P1 startup, {args.pairs} interleaved rounds of `python -c pass` per Python; {machine}")
    print("\n".join(HEADER + tuple(rows)))
    probe = "import sys; print(sorted(m for m in sys.modules if m.startswith(('piplockhook', 'wrapt'))))"
    for venv in venvs[:1]:
        loaded = venv.run([venv.python, "-c", probe]).stdout.strip()
        print(f"\nmodules of piplockhook or wrapt loaded by `python -c`: {loaded}")


if __name__ == "__main__":
    main()
