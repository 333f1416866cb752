"""P2: what the hook costs an uncontended pip.

One run, one table: for every Python, pip and wrapt given (default: this
Python; pip 21.3.1, 23.2.1 and 26.3; wrapt 1.17.3 and the newest), one venv
with piplockhook installed, and `pip list` and `pip install <already
satisfied>` counted in instructions (callgrind, PYTHONHASHSEED=0: the same
totals on every run) in two states made by renaming files in site-packages
between runs, bare (no startup file of ours) and hook (piplockhook.pth, as
the wheel installs it), each with Python's cyclic garbage collector on (as
users run pip) and off (a .pth sorted first that calls gc.disable(), in both
states): a full collection falls where allocation counts put it, so two states
of one command can differ by up to ~0.4 % for that alone; the gc-off column
is the one where 0.1 % is real. A pip that does not run on a Python gets a
row saying so.

With `--pairs N` (N > 0), a second table in wall clock for the first Python,
with the last pip and wrapt given: the commands above and `pip install <local
wheel>` (uninstalled, untimed, before each run) in N interleaved rounds (the
order rotates each round) of three states, bare, hook, and "wrapt only" (a
.pth that imports wrapt when pip starts, and nothing else: what any
wrapt-based hook pays before doing anything), with the medians of the
per-round ratios.

    python benchmarks/pip_overhead.py [--pip 21.3.1 --pip 26.3] [--wrapt 1.17.3 --wrapt newest]
        [--python python3.9 ...] [--sid 3.15] [--jobs 2] [--pairs 0]

`--python PY` (repeatable) measures those interpreters instead of the
running one; `--sid 3.15` measures Debian sid's python3.15 too, inside the
root that `.ci/sid` builds. `--jobs` venvs are counted at once (callgrind
runs one process on one core, ~50x slower than pip itself).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import glob
import os
import shutil
import statistics
import subprocess
import sys
import time

from _common import ROOT, Switches, Venv, build_wheelhouse, instructions, make_venv

CASES = {
    "pip list": (["list"], None),
    "pip install <already satisfied>": (["install", "plhsmall==1.0"], ["install", "plhsmall==1.0"]),
    "pip install <local wheel>": (["install", "plhdemo==2.0"], ["uninstall", "-y", "plhdemo"]),
}
COUNTED = ("pip list", "pip install <already satisfied>")  # callgrind runs ~50x slower: the short ones
STATES = ("bare", "wrapt only", "hook")
DEFAULT_PIPS = ["21.3.1", "23.2.1", "26.3"]
DEFAULT_WRAPTS = ["1.17.3", "newest"]
WRAPT_ONLY_PTH = "plh-wrapt-only.pth"
WRAPT_ONLY = 'import sys;exec("import wrapt")if"pip"in sys.argv[0][-17:]or"-m"==sys.argv[0]else 0\n'
GC_OFF_PTH = "00-plh-gc-off.pth"  # sorts before every other startup file
GC_OFF = "import gc;gc.disable()\n"
WRAPT_NOTE = """
From 2.2, `import wrapt` imports `asyncio`: `wrapt/synchronization.py` does so
at its top (wrapt's commit 7240ee1), and uses it only inside functions.
pip 26's `pip list` does not otherwise load asyncio, so that one line was most
of what the hook cost it ("before issue 22"). The hook uses one name of wrapt,
`FunctionWrapper`, and since issue 27 takes it from wrapt's C extension alone
(`src/piplockhook/pip/importhooks.py`): `wrapt._wrappers` is imported while
`sys.modules["wrapt"]` is, for that moment only, a module made from wrapt's
own spec and never run, so `wrapt/__init__.py` (every submodule, and asyncio)
does not run at all; the submodules the extension itself imports as it loads
(`wrapt.wrappers` for 2.2, `wrapt.exceptions` from 2.5) stay in `sys.modules`,
where a later `import wrapt` takes them: the same classes. Where wrapt has no
extension (wrapt 1.17 builds none on 3.15) or `WRAPT_DISABLE_EXTENSIONS` is
set, the same is done with its pure-Python `wrapt.wrappers` (on 3.15 with
wrapt 1.17.3, a hooked `pip list` went from 1.0304 to 1.0227 of bare pip:
before, the whole of wrapt was imported there). Where wrapt is imported
already or anything fails, it is a plain `import wrapt`. `FunctionWrapper`
imports nothing of wrapt later, so nothing needs completing before pip 26.3
blocks imports. The "wrapt only" control of the timed table imports wrapt
plainly, so from wrapt 2.2 "hook ÷ wrapt only" is below 1. It patches pip through
`wrapt.FunctionWrapper` with a ten-line function of its own rather than
`wrapt.wrap_function_wrapper`, whose module imports importer. Measured on
3.11, pip 26.3, in one venv per wrapt (callgrind, hooked ÷ bare `pip list`):
the extension alone against issue 22's import trick, 1.0238 against 1.0431
(wrapt 2.5.2), 1.0257 against 1.0442 (2.2.2), 1.0228 against 1.0411 (1.17.3).
piplockhook does not pin wrapt below 2.2: that would downgrade wrapt in
environments that use it.

Instruction counts include Python's cyclic garbage collector, whose full
collections (tens of M instructions in a pip process) fall where allocation
counts put them, so two states of one command can differ by up to ~0.4 % for
that alone. Where "after" came out above "before" in the tables of earlier issues (installs with pip
21.3.1 and 23.2.1, which load asyncio themselves through their vendored
tenacity, and installs with wrapt < 2.2: nothing to save there, and a command
that writes loads all of wrapt), the same counts with `gc.disable()` at
start-up put it below or level: 3.9, pip 21.3.1, already satisfied 1.0325
before, 1.0315 after; 3.11, pip 23.2.1: 1.0287 and 1.0238; 3.11, pip 26.3,
wrapt 1.17.3: 1.0186 and 1.0175; 3.15, pip 26.3, wrapt 1.17.3: 1.0115 and
1.0117 (issue 22's deferring, where nothing was deferred for long: ~0.5 M)."""
HEADER = (
    "| Python | pip | wrapt | command | bare | hook ÷ bare | hook ÷ bare, gc off |",
    "|---|---|---|---|---|---|---|",
)
TIMED_HEADER = (
    "| Python | pip | wrapt | command | bare | wrapt only | hook | hook ÷ bare | hook ÷ wrapt only |",
    "|---|---|---|---|---|---|---|---|---|",
)


class Site(Switches):
    """Puts site-packages in one of STATES, with the garbage collector on or off."""

    def __init__(self, site: str) -> None:
        super().__init__(site, {WRAPT_ONLY_PTH: WRAPT_ONLY, GC_OFF_PTH: GC_OFF})

    def set(self, state: str, gc_off: bool = False) -> None:
        self.want(WRAPT_ONLY_PTH, state == "wrapt only")
        self.want(GC_OFF_PTH, gc_off)
        self.want("piplockhook.pth", state == "hook")


def ratio(times: dict[str, list[float]], a: str, b: str) -> str:
    return f"{statistics.median(x / y for x, y in zip(times[a], times[b])):.3f}"


def counted(x: int | None, y: int | None) -> str:
    return f"{x / y:.4f}" if x and y else "–"


def label(venv: Venv) -> tuple[str, str, str]:
    """Python, pip and wrapt versions of `venv`."""
    probe = "import sys, pip, wrapt; print('%d.%d.%d' % sys.version_info[:3], pip.__version__, wrapt.__version__)"
    python, pip, wrapt = venv.run([venv.python, "-c", probe]).stdout.split()
    return python, pip, wrapt


def quiet_env(venv: Venv) -> dict:
    env = venv.env()
    env.pop("PYTHONUNBUFFERED", None)  # the tests read lines as they come; a user's pip is buffered
    return env


def count_rows(venv: Venv, count: bool = True) -> list[str]:
    """The P2 rows of one venv: the read commands in instructions, gc on and off."""
    env = quiet_env(venv)
    pip = os.path.join(venv.bin, "pip")
    site = Site(venv.site_packages)
    python, pip_version, wrapt_version = label(venv)
    rows = []
    for name in COUNTED:
        command, before = CASES[name]
        counts: dict[tuple[str, bool], int | None] = {}
        for gc_off in (False, True):
            for state in ("bare", "hook"):
                site.set(state, gc_off)
                if before:
                    subprocess.run([pip, *before], env=env, capture_output=True, check=True)
                counts[state, gc_off] = instructions([pip, *command], env) if count else None
        site.set("hook")
        bare = counts["bare", False]
        rows.append(
            f"| {python} | {pip_version} | {wrapt_version} | `{name}` | {bare / 1e6:.1f} M "
            f"| {counted(counts['hook', False], bare)} | {counted(counts['hook', True], counts['bare', True])} |"
            if bare
            else f"| {python} | {pip_version} | {wrapt_version} | `{name}` | – | – | – |"
        )
    return rows


def timed_rows(venv: Venv, pairs: int) -> list[str]:
    """Wall clock, interleaved rounds of STATES: medians and per-round ratios."""
    env = quiet_env(venv)
    pip = os.path.join(venv.bin, "pip")
    site = Site(venv.site_packages)
    python, pip_version, wrapt_version = label(venv)
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
        site.set("hook")
        ms = {s: f"{statistics.median(times[s]):.1f} ms" for s in STATES}
        rows.append(
            f"| {python} | {pip_version} | {wrapt_version} | `{name}` | {ms['bare']} | {ms['wrapt only']} "
            f"| {ms['hook']} | {ratio(times, 'hook', 'bare')} | {ratio(times, 'hook', 'wrapt only')} |"
        )
    return rows


def venv_for(house: str, pip_version: str, wrapt_version: str, python: str) -> Venv:
    venv = make_venv(house, python, hook=False)
    venv.run([venv.python, "-m", "pip", "install", f"pip=={pip_version}"])
    venv.run([venv.python, "-m", "pip", "install", "piplockhook", f"wrapt=={wrapt_version}"])
    return venv


def version_of(python: str) -> str:
    probe = "import sys; print('%d.%d.%d' % sys.version_info[:3])"
    return subprocess.run([python, "-c", probe], check=True, capture_output=True, text=True).stdout.strip()


def download(house: str, spec: str, binary: bool = True, python_version: str = "") -> bool:
    only = ["--only-binary=:all:"] if binary else []
    target = ["--python-version", python_version] if python_version else []
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", *only, *target, "-d", house, spec],
        capture_output=True,
    )
    return result.returncode == 0


def newest_wrapt(house: str) -> str:
    """The newest wrapt's version (its wheel for this Python fetched into `house`)."""
    scratch = os.path.join(house, "newest-wrapt")
    if not download(scratch, "wrapt"):
        sys.exit("cannot download wrapt")
    (wheel,) = glob.glob(os.path.join(scratch, "wrapt-*.whl"))
    shutil.rmtree(scratch)
    return os.path.basename(wheel).split("-")[1]


def config_rows(house: str, python: str, pip_version: str, wrapt_version: str, count: bool) -> list[str]:
    try:
        rows = count_rows(venv_for(house, pip_version, wrapt_version, python), count)
        print("\n".join(rows), file=sys.stderr, flush=True)  # progress: the run is long
        return rows
    except (subprocess.CalledProcessError, AssertionError) as exc:  # a pip that does not run on this Python
        failed = " ".join(getattr(exc, "cmd", None) or str(exc).split("\n", 1)[0].split()[-6:])
        return [
            f"| {version_of(python)} | {pip_version} | {wrapt_version} | pip {pip_version} does not run here (`{failed}`) |"
        ]


def sid_rows(version: str, argv: list[str]) -> list[str]:
    """The rows for Debian sid's python<version>, measured inside .ci/sid's root."""
    script = (
        'set -eu; v=$1; shift; r=/tmp/plh-bench-runner-$v; rm -rf "$r"; python$v -m venv "$r"; '
        '"$r/bin/python" -m pip install -q hatchling; exec "$r/bin/python" benchmarks/pip_overhead.py "$@"'
    )
    command = [os.path.join(ROOT, ".ci", "sid"), "run", "/bin/sh", "-c", script, "sid-bench", version, *argv]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.startswith("| ") and not line.startswith("| Python")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=0, help="rounds of the timed table (default 0: none)")
    parser.add_argument("--pip", action="append", default=[], help="pip versions (default: 21.3.1, 23.2.1, 26.3)")
    parser.add_argument(
        "--wrapt", action="append", default=[], help="wrapt versions, or newest (default: 1.17.3, newest)"
    )
    parser.add_argument("--python", action="append", default=[], help="an interpreter to measure (repeatable)")
    parser.add_argument("--sid", action="append", default=[], metavar="X.Y", help="Debian sid's pythonX.Y via .ci/sid")
    parser.add_argument("--no-instructions", action="store_true", help="skip the counts (a quick look at the shape)")
    parser.add_argument("--jobs", type=int, default=2, help="venvs counted at once (default 2)")
    parser.add_argument("--rows-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not shutil.which("valgrind") and not args.no_instructions:
        sys.exit("P2 counts instructions: install valgrind (or pass --no-instructions)")
    pips = args.pip or DEFAULT_PIPS
    house = build_wheelhouse()
    wrapts = [newest_wrapt(house) if v == "newest" else v for v in (args.wrapt or DEFAULT_WRAPTS)]
    for version in pips:
        if not download(house, f"pip=={version}", binary=False):
            sys.exit(f"cannot download pip {version}")
    pythons = args.python or [sys.executable]
    for python in pythons:
        minor = version_of(python).rsplit(".", 1)[0]
        for version in wrapts:
            download(house, f"wrapt=={version}", python_version=minor)  # none for this Python: its row says so
    configs = [(python, pip, wrapt) for python in pythons for pip in pips for wrapt in wrapts]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = [
            row
            for result in pool.map(lambda c: config_rows(house, *c, not args.no_instructions), configs)
            for row in result
        ]
    if args.rows_only:
        print("\n".join(rows))
        return
    inner = [*(f"--pip={v}" for v in pips), *(f"--wrapt={v}" for v in wrapts), f"--jobs={args.jobs}", "--rows-only"]
    inner += ["--no-instructions"] if args.no_instructions else []
    for version in args.sid:
        rows += sid_rows(version, inner)
    print(f"# P2 uncontended pip, in instructions (callgrind, PYTHONHASHSEED=0); {os.cpu_count()} cores")
    print("\n".join(HEADER + tuple(rows)))
    if args.pairs > 0:
        venv = venv_for(house, pips[-1], wrapts[-1], pythons[0])
        print(f"\nIn wall clock, {args.pairs} interleaved rounds:\n")
        print("\n".join(TIMED_HEADER + tuple(timed_rows(venv, args.pairs))))
    print(WRAPT_NOTE)


if __name__ == "__main__":
    main()
