"""P2: what the hook costs an uncontended pip, and how much of that is ours.

For each pip version, one venv with piplockhook installed, and the same pip
command timed in interleaved rounds (the order rotates each round) of three
states, made by renaming files in site-packages between runs:

  bare        no startup file of ours
  wrapt only  a .pth that imports wrapt when pip starts, and nothing else:
              what any wrapt-based hook pays before doing anything
  hook        piplockhook.pth, as the wheel installs it
  hook, plain wrapt   (counted, not timed) the hook after a .pth that imports
              wrapt first, plainly: the hook as it was before issue 22, when
              `import wrapt` loaded asyncio with wrapt >= 2.2

Commands: `pip list`, `pip install <already satisfied>`, `pip install <local
wheel>` (uninstalled, untimed, before each run). Prints wall-clock medians and
the medians of the per-round ratios hook ÷ bare and hook ÷ wrapt only (ours),
and, where valgrind exists, the same ratios in instructions (callgrind,
PYTHONHASHSEED=0: the same totals on every run) for the two read commands.

With `--wrapt V` (repeatable), a second table: for the newest pip given, one
venv per wrapt version, the read commands in instructions only: bare, the hook
with wrapt imported plainly (before issue 22), and the hook (after).

    python benchmarks/pip_overhead.py [--pairs 60] [--pip 23.2.1 --pip 26.3]
        [--wrapt 1.17.3 --wrapt 2.5.2] [--python python3.9 ...] [--sid 3.15]

`--python PY` (repeatable) measures those interpreters instead of the running
one (the per-wrapt table stays on the running one); `--sid 3.15` measures
Debian sid's python3.15 too, inside the root that `.ci/sid` builds. All rows
go into the same tables.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

from _common import ROOT, Switches, Venv, add_wrapt_for, build_wheelhouse, instructions, make_venv

CASES = {
    "pip list": (["list"], None),
    "pip install <already satisfied>": (["install", "plhsmall==1.0"], ["install", "plhsmall==1.0"]),
    "pip install <local wheel>": (["install", "plhdemo==2.0"], ["uninstall", "-y", "plhdemo"]),
}
COUNTED = ("pip list", "pip install <already satisfied>")  # callgrind runs ~50x slower: the short ones
STATES = ("bare", "wrapt only", "hook")
BEFORE = "hook, plain wrapt"  # counted only
WRAPT_ONLY_PTH = "plh-wrapt-only.pth"
WRAPT_FIRST_PTH = "a-plh-plain-wrapt.pth"  # sorts before piplockhook.pth: wrapt is loaded when the hook starts
WRAPT_ONLY = 'import sys;exec("import wrapt")if"pip"in sys.argv[0][-17:]or"-m"==sys.argv[0]else 0\n'
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
where a later `import wrapt` takes them: the same classes. Where wrapt is
imported already, `WRAPT_DISABLE_EXTENSIONS` is set, there is no extension or
anything fails, it is a plain `import wrapt`. The extension's `FunctionWrapper`
imports nothing of wrapt later, so nothing needs completing before pip 26.3
blocks imports. The "wrapt only" control imports wrapt plainly, so from wrapt
2.2 "hook ÷ wrapt only" is below 1. It patches pip through
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
that alone. Where "after" came out above "before" in the tables above (installs with pip
21.3.1 and 23.2.1, which load asyncio themselves through their vendored
tenacity, and installs with wrapt < 2.2: nothing to save there, and a command
that writes loads all of wrapt), the same counts with `gc.disable()` at
start-up put it below or level: 3.9, pip 21.3.1, already satisfied 1.0325
before, 1.0315 after; 3.11, pip 23.2.1: 1.0287 and 1.0238; 3.11, pip 26.3,
wrapt 1.17.3: 1.0186 and 1.0175; 3.15, pip 26.3, wrapt 1.17.3: 1.0115 and
1.0117 (issue 22's deferring, where nothing was deferred for long: ~0.5 M)."""
HEADER = (
    "| Python | pip | wrapt | command | bare | wrapt only | hook | hook ÷ bare | hook ÷ wrapt only "
    "| hook ÷ bare (instructions) | hook ÷ wrapt only (instructions) | before issue 22: hook, plain wrapt ÷ bare "
    "(instructions) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
)
WRAPT_HEADER = (
    "| Python | pip | wrapt | `import wrapt` imports asyncio | command | bare (instructions) "
    "| hook, plain wrapt ÷ bare (before) | hook ÷ bare (after) |",
    "|---|---|---|---|---|---|---|---|",
)


class Site(Switches):
    """Puts site-packages in one of STATES."""

    def __init__(self, site: str) -> None:
        super().__init__(site, {WRAPT_ONLY_PTH: WRAPT_ONLY, WRAPT_FIRST_PTH: WRAPT_ONLY})

    def set(self, state: str) -> None:
        self.want(WRAPT_ONLY_PTH, state == "wrapt only")
        self.want(WRAPT_FIRST_PTH, state == BEFORE)
        self.want("piplockhook.pth", state in ("hook", BEFORE))


def ratio(times: dict[str, list[float]], a: str, b: str) -> str:
    return f"{statistics.median(x / y for x, y in zip(times[a], times[b])):.3f}"


def counted(counts: dict[str, int | None], a: str, b: str) -> str:
    x, y = counts.get(a), counts.get(b)
    return f"{x / y:.4f}" if x and y else "–"


def label(venv: Venv) -> tuple[str, str, str]:
    """Python, pip and wrapt versions of `venv`."""
    probe = "import sys, pip, wrapt; print('%d.%d.%d' % sys.version_info[:3], pip.__version__, wrapt.__version__)"
    python, pip, wrapt = venv.run([venv.python, "-c", probe]).stdout.split()
    return python, pip, wrapt


def imports_asyncio(venv: Venv) -> bool:
    probe = "import sys, wrapt; print('asyncio' in sys.modules)"
    return venv.run([venv.python, "-c", probe]).stdout.strip() == "True"


def count_states(venv: Venv, name: str, states: tuple[str, ...]) -> dict[str, int | None]:
    command, before = CASES[name]
    env = venv.env()
    env.pop("PYTHONUNBUFFERED", None)
    pip = os.path.join(venv.bin, "pip")
    site = Site(venv.site_packages)
    counts: dict[str, int | None] = {}
    for state in states:
        site.set(state)
        if before:
            subprocess.run([pip, *before], env=env, capture_output=True, check=True)
        counts[state] = instructions([pip, *command], env)
    site.set("hook")
    return counts


def measure(venv: Venv, pairs: int, count: bool = True) -> list[str]:
    env = venv.env()
    env.pop("PYTHONUNBUFFERED", None)  # the tests read lines as they come; a user's pip is buffered
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
        counts = count_states(venv, name, (*STATES, BEFORE)) if count and name in COUNTED else {}

        ms = {s: f"{statistics.median(times[s]):.1f} ms" for s in STATES}
        rows.append(
            f"| {python} | {pip_version} | {wrapt_version} | `{name}` | {ms['bare']} | {ms['wrapt only']} "
            f"| {ms['hook']} | {ratio(times, 'hook', 'bare')} | {ratio(times, 'hook', 'wrapt only')} "
            f"| {counted(counts, 'hook', 'bare')} | {counted(counts, 'hook', 'wrapt only')} "
            f"| {counted(counts, BEFORE, 'bare')} |"
        )
    return rows


def measure_wrapt(venv: Venv) -> list[str]:
    """The read commands in instructions: bare, before and after issue 22."""
    python, pip_version, wrapt_version = label(venv)
    asyncio = "yes" if imports_asyncio(venv) else "no"
    rows = []
    for name in COUNTED:
        counts = count_states(venv, name, ("bare", BEFORE, "hook"))
        bare = f"{counts['bare'] / 1e6:.1f} M" if counts["bare"] else "–"
        rows.append(
            f"| {python} | {pip_version} | {wrapt_version} | {asyncio} | `{name}` | {bare} "
            f"| {counted(counts, BEFORE, 'bare')} | {counted(counts, 'hook', 'bare')} |"
        )
    return rows


def venv_for(house: str, pip_version: str, wrapt_version: str = "", python: str = sys.executable) -> Venv:
    venv = make_venv(house, python, hook=False)
    venv.run([venv.python, "-m", "pip", "install", f"pip=={pip_version}"])
    venv.run([venv.python, "-m", "pip", "install", "piplockhook"])
    if wrapt_version:
        venv.run([venv.python, "-m", "pip", "install", f"wrapt=={wrapt_version}"])
    return venv


def version_of(python: str) -> str:
    probe = "import sys; print('%d.%d.%d' % sys.version_info[:3])"
    return subprocess.run([python, "-c", probe], check=True, capture_output=True, text=True).stdout.strip()


def download(house: str, spec: str, binary: bool = True) -> bool:
    only = ["--only-binary=:all:"] if binary else []
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", *only, "-d", house, spec], capture_output=True
    )
    return result.returncode == 0


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
    parser.add_argument("--no-instructions", action="store_true", help="skip the callgrind counts (quick runs)")
    parser.add_argument("--pairs", type=int, default=60, help="rounds of interleaved runs (default 60)")
    parser.add_argument("--pip", action="append", default=[], help="pip versions (default: 23.2.1 and 26.3)")
    parser.add_argument("--wrapt", action="append", default=[], help="wrapt versions for the per-wrapt table")
    parser.add_argument("--python", action="append", default=[], help="an interpreter to measure (repeatable)")
    parser.add_argument("--sid", action="append", default=[], metavar="X.Y", help="Debian sid's pythonX.Y via .ci/sid")
    parser.add_argument("--rows-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    pips = args.pip or ["23.2.1", "26.3"]
    house = build_wheelhouse()
    for version in pips:
        if not download(house, f"pip=={version}", binary=False):
            sys.exit(f"cannot download pip {version}")
    wrapts = [v for v in args.wrapt if download(house, f"wrapt=={v}")]  # a wrapt without a wheel here: no row
    pythons = args.python or [sys.executable]
    for python in pythons:
        if python != sys.executable:
            add_wrapt_for(house, python)
    rows = []
    for python in pythons:
        for version in pips:
            try:
                rows += measure(venv_for(house, version, python=python), args.pairs, not args.no_instructions)
            except (subprocess.CalledProcessError, AssertionError) as exc:  # a pip that does not run on this Python
                failed = " ".join(getattr(exc, "cmd", None) or str(exc).split("\n", 1)[0].split()[-6:])
                rows.append(f"| {version_of(python)} | {version} | – | pip {version} does not run here (`{failed}`) |")
    wrapt_rows = []
    if shutil.which("valgrind") and not args.no_instructions:
        for version in wrapts:
            wrapt_rows += measure_wrapt(venv_for(house, pips[-1], version))
    if args.rows_only:
        print("\n".join(rows + ["| wrapt " + row for row in wrapt_rows]))
        return
    inner = ["--pairs", str(args.pairs), *(f"--pip={v}" for v in pips), *(f"--wrapt={v}" for v in args.wrapt)]
    inner += ["--no-instructions"] if args.no_instructions else []
    for version in args.sid:
        for row in sid_rows(version, [*inner, "--rows-only"]):
            if row.startswith("| wrapt | "):
                wrapt_rows.append(row[len("| wrapt ") :])
            else:
                rows.append(row)
    print(f"# P2 uncontended pip, {args.pairs} interleaved rounds; {os.cpu_count()} cores")
    print("\n".join(HEADER + tuple(rows)))
    if wrapt_rows:
        print(f"\nPer wrapt version, pip {pips[-1]}, in instructions (callgrind, PYTHONHASHSEED=0):\n")
        print("\n".join(WRAPT_HEADER + tuple(wrapt_rows)))
    print(WRAPT_NOTE)


if __name__ == "__main__":
    main()
