"""Fuzz the command line: every command with random and garbage arguments and
PIPLOCKHOOK* values (a seeded generator, so a failure is repeatable).

For every case: no traceback, an exit status from docs/cli.md's table, at
most one ERROR line and every one in our voice, exactly one for a usage
error, which changes nothing. The cases run in process
(`piplockhook.cli.main`, one interpreter of a real hooked venv, where each
command reads os.environ and writes sys.stdout as it does when started) and a
sample of them as real `piplockhook` processes.

Nothing a case names can reach outside its scratch directory: lock files and
directories are relative to it (HOME too), and PATH is an empty directory, so
that `run` finds no command but the venv's Python given by its full path.
"""

import json
import os
import random
import subprocess

import pytest
from procs import TIMEOUT

SEED = 29
CASES = 600
REAL = 12  # of them also as real processes
PYTHON = "<python>"  # the venv's, in the command `run` is given
SAFE_COMMAND = [PYTHON, "-c", "import sys; sys.exit(3)"]

WORDS = ["run", "status", "enable", "disable", "check", "verify", "help"]
OPTIONS = {
    "run": ["-s", "-x", "--shared", "--exclusive", "--lockfile", "--timeout", "--"],
    "status": ["--json"],
    "enable": [],
    "disable": [],
    "check": [],
    "verify": ["--quick", "--json", "--target", "--path", "--lockfile", "--timeout"],
    "help": WORDS,
}
# Values a parser takes (some fail only when used: a path below a file, a name
# too long), then values it refuses.
TIMEOUTS = ["0", "0.05", "", " ", "-0", "+0.1", "1e-9", "1_0", "\u0663"], ["-1", "nan", "inf", "1e309", "soon", "0x10"]
LOCKFILES = (
    [
        "",
        " ",
        "lk",
        "sub/lk",
        "\udcffdir/lk",
        "../file/below",
        "x" * 300,
        "\udcff.lock",
        "a\tb",
        "sub/" + "y" * 255 + "/lk",
    ],
    [
        "sub/",
        "sub/.",
        ".",
        "..",
        "dir",
        "dir/",
        "~",
        "/",
    ],
)
DIRECTORIES = ["dir", ".", "..", "sub", "\udcffdir"], ["nodir", "../file", "", "\udcff", "x" * 300]
VALUES = {"--lockfile": LOCKFILES, "--timeout": TIMEOUTS, "--target": DIRECTORIES, "--path": DIRECTORIES}
SWITCHES = ["", "0", "1", "on", "OFF", " yes "], ["maybe", "2", "\udcff", "\u00e9"]
ENVIRONMENT = {
    "PIPLOCKHOOK": SWITCHES,
    "PIPLOCKHOOK_DEBUG": SWITCHES,
    "PIPLOCKHOOK_TIMEOUT": TIMEOUTS,
    "PIPLOCKHOOK_LOCKFILE": LOCKFILES,
    "UV_LOCK_TIMEOUT": (["", "5", "x", "-1"], []),
    "PIPLOCKHOOK_HELD": (["", "garbage", "1 exclusive", "1 shared lk\nx y", "-5 exclusive /nonexistent/.lock"], []),
    "PIPLOCKHOOK_UNKNOWN": (["1"], []),
}
ALPHABET = "abcxyz-_=./ \t:\u00e9\u20ac\udcff0123456789"
ODD_TOKENS = ["-", "--", "-z", "--bogus", "--json=1", "--timeout=", "--lockfile=lk", "-sx", "-h", "--version", "=", ""]


def garbage(rng):
    pick = rng.random()
    if pick < 0.3:
        return rng.choice(ODD_TOKENS)
    if pick < 0.35:
        return "y" * rng.choice([255, 256, 5000])
    token = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12)))
    return token.lstrip("~") or "z"  # never ~user: a home outside the scratch directory


def pick(rng, values, wild):
    """A value a parser takes, else (wild cases, one in five) one it refuses or garbage."""
    takes, refuses = values
    if wild and rng.random() < 0.2:
        return rng.choice(refuses) if refuses and rng.random() < 0.7 else garbage(rng)
    return rng.choice(takes)


def make_case(rng):
    # Wild cases put garbage anywhere; the others are well-formed command
    # lines with odd values, so that most reach the command's own work.
    wild = rng.random() < 0.5
    word = rng.choice([*WORDS, "", "garbage"]) if wild else rng.choice(WORDS)
    argv = [rng.choice(["--version", "--bogus", "-h"])] if wild and rng.random() < 0.1 else []
    argv += [garbage(rng)] if word == "garbage" else [word] if word else []
    for _ in range(rng.randint(0, 4)):
        if wild and (rng.random() < 0.3 or not OPTIONS.get(word)):
            argv.append(garbage(rng))
        elif OPTIONS.get(word):
            option = rng.choice(OPTIONS[word])
            if option not in VALUES:
                argv.append(option)
            elif wild and rng.random() < 0.2:
                argv += [f"{option}={pick(rng, VALUES[option], wild)}"]
            else:
                argv += [option, pick(rng, VALUES[option], wild)]
    if word == "run" and rng.random() < (0.6 if wild else 0.9):
        argv += ["--", *SAFE_COMMAND]
    env = {name: pick(rng, values, wild) for name, values in ENVIRONMENT.items() if rng.random() < 0.25}
    return {"argv": argv, "env": env}


def cases():
    rng = random.Random(SEED)
    return [make_case(rng) for _ in range(CASES)]


# Runs every case through piplockhook.cli.main in one interpreter of the venv:
# os.environ set as the case says, stdout and stderr captured, and what
# changed in the scratch directory (and the venv's marker and lock) noted.
DRIVER = r"""
import io, json, os, sys, traceback
from piplockhook.cli import main
from piplockhook.settings import disabled_marker

cases_path, results_path, root = sys.argv[1:4]
with open(cases_path) as f:
    cases = json.load(f)
baseline = dict(os.environ)
watched = [disabled_marker(), os.path.join(sys.prefix, ".lock")]

def snapshot():
    names = [p for p in watched if os.path.lexists(p)]
    for top, dirs, files in os.walk(root):
        names += [os.path.join(top, n) for n in dirs + files]
    return sorted(names)

def capture(like):  # what the real stream would encode, and how
    return io.TextIOWrapper(io.BytesIO(), encoding=like.encoding, errors=like.errors, write_through=True)

def text(stream):
    return stream.buffer.getvalue().decode(stream.encoding, "backslashreplace")

results = []
for case in cases:
    os.environ.clear()
    os.environ.update(baseline)
    os.environ.update(case["env"])
    os.chdir(os.path.join(root, "here"))
    before = snapshot()
    out, err = capture(sys.__stdout__), capture(sys.__stderr__)
    sys.stdout, sys.stderr = out, err
    try:
        code, raised = main(case["argv"]), ""
    except BaseException:
        code, raised = None, traceback.format_exc()
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    results.append({
        "code": code, "raised": raised, "out": text(out), "err": text(err),
        "changed": snapshot() != before,
        "held_left": (os.environ.get("PIPLOCKHOOK_HELD") or "") != (case["env"].get("PIPLOCKHOOK_HELD") or ""),
    })
with open(results_path, "w") as f:
    json.dump(results, f)
"""


def problems_of(case, result):
    """What is wrong with one case's outcome (empty: nothing)."""
    found = []
    code, err = result["code"], result["err"]
    allowed = {0, 1, 2} | ({3, 126, 127} if "run" in case["argv"][:2] else set())
    if result.get("raised") or "Traceback" in err:
        found.append("a traceback")
    if code not in allowed:
        found.append(f"exit {code}, not in the table")
    errors = [line for line in err.splitlines() if line.startswith("ERROR")]
    if len(errors) > 1:
        found.append("more than one ERROR line")
    if any(not line.startswith("ERROR: piplockhook: ") for line in errors):
        found.append("an ERROR line not in our voice")
    if any(line.startswith("WARN") and not line.startswith("WARNING: piplockhook: ") for line in err.splitlines()):
        found.append("a WARNING line not in our voice")
    if code == 2 and (len(errors) != 1 or result["out"]):
        found.append("a usage error that is not one ERROR line alone")
    if code == 2 and result.get("changed"):
        found.append("a usage error that changed files")
    if code == 0 and errors:
        found.append("success with an ERROR line")
    if result.get("held_left"):
        found.append("PIPLOCKHOOK_HELD left changed")
    return found


@pytest.fixture
def scratch(tmp_path):
    """The scratch directory every case runs in (here/), with directories (one
    named in bytes that are not UTF-8), a file beside them, an empty PATH and HOME."""
    (tmp_path / "here" / "dir").mkdir(parents=True)
    (tmp_path / "here" / "\udcffdir").mkdir()  # a name that is not UTF-8 (byte 0xff)
    (tmp_path / "file").write_text("a file, not a directory\n")
    (tmp_path / "empty-path").mkdir()
    return tmp_path


def fuzz_env(venv, scratch):
    # A strict stdout, as a UTF-8 locale gives (C.UTF-8 here would escape what it cannot encode).
    return venv.env(PATH=str(scratch / "empty-path"), HOME=str(scratch), PYTHONIOENCODING="utf-8:strict")


def with_python(venv, case):
    return {**case, "argv": [venv.python if arg == PYTHON else arg for arg in case["argv"]]}


def describe(case, result, found):
    return f"{found}: argv={case['argv']!r} env={case['env']!r}\n{result.get('raised') or result['err']}"


def test_every_command_with_garbage_never_breaks(venv, scratch):
    todo = [with_python(venv, case) for case in cases()]
    cases_path, results_path = scratch / "cases.json", scratch / "results.json"
    cases_path.write_text(json.dumps(todo))
    try:
        driver = subprocess.run(
            [venv.python, "-c", DRIVER, str(cases_path), str(results_path), str(scratch)],
            env=fuzz_env(venv, scratch),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert driver.returncode == 0, driver.stderr
        results = json.loads(results_path.read_text())
        failures = [describe(c, r, p) for c, r in zip(todo, results) if (p := problems_of(c, r))]
        codes = sorted({r["code"] for r in results})
        print(f"{len(results)} cases in process (seed {SEED}), exit codes {codes}")
        assert not failures, f"{len(failures)} of {len(results)} cases:\n" + "\n".join(failures[:10])

        # A sample as real processes: the same rules, and a usage error the same line.
        sample = random.Random(SEED).sample(range(len(todo)), REAL)
        for index in sample:
            case, in_process = todo[index], results[index]
            real = subprocess.run(
                [os.path.join(venv.bin, "piplockhook"), *case["argv"]],
                env={**fuzz_env(venv, scratch), **case["env"]},
                cwd=str(scratch / "here"),
                capture_output=True,
                text=True,
                errors="backslashreplace",
                timeout=TIMEOUT,
            )
            result = {"code": real.returncode, "out": real.stdout, "err": real.stderr}
            found = problems_of(case, result)
            if in_process["code"] == 2 and (real.returncode, real.stderr) != (2, in_process["err"]):
                found.append(f"not the in-process usage error {in_process['err']!r}")
            assert not found, describe(case, result, found)
    finally:
        subprocess.run(
            [os.path.join(venv.bin, "piplockhook"), "enable"], env=venv.env(), capture_output=True, timeout=TIMEOUT
        )
