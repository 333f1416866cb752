"""`piplockhook verify` against environments broken the way races break them:
by real pips, or by the file operations an interrupted pip performs. Each
problem is reported with its repair line, and running that line repairs it.
"""

import json
import os
import pty
import random
import re
import subprocess
import time

import pytest
import stress
from packages import DEMO, TOOL
from procs import TIMEOUT, Background, lock_waiters, wait_until
from test_verify_killed import NO_PIP_STASHES

pytestmark = pytest.mark.slow


def verify(venv, *args, **env):
    env.setdefault("TMPDIR", NO_PIP_STASHES)  # not what other pips left in the machine's /tmp
    return venv.run([os.path.join(venv.bin, "piplockhook"), "verify", *args], env=venv.env(**env), check=False)


def problems(result):
    """{kind-ish line prefix: repair} of the problem lines, and the summary."""
    *lines, summary = result.stdout.strip().splitlines()
    return [line.split("; repair: ", 1) for line in lines], summary


def repair(venv, result):
    """Run every repair line, in order, as a user pastes them."""
    for _, command in problems(result)[0]:
        done = subprocess.run(["bash", "-c", command], env=venv.env(), capture_output=True, text=True, timeout=TIMEOUT)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    after = verify(venv)
    assert after.returncode == 0, after.stdout


def only_problem(venv, *args):
    result = verify(venv, *args)
    assert result.returncode == 1, result.stdout + result.stderr
    (found,), summary = problems(result)
    assert summary.startswith("piplockhook verify: 1 problem, 1 of ")
    return result, found


def reinstall(venv, spec):
    return f"{venv.python} -m pip install --force-reinstall --no-deps {spec}"


def test_a_fresh_environment_is_clean_and_silent_when_not_a_terminal(venv):
    for args in ((), ("--quick",)):
        result = verify(venv, *args)
        assert result.returncode == 0 and result.stderr == "", result.stdout + result.stderr
        assert re.fullmatch(r"piplockhook verify: no problems in \d+ distributions \(\d+ files, .*\)\n", result.stdout)
    report = json.loads(verify(venv, "--json").stdout)
    assert report["problems"] == [] and report["files"] > 1000 and venv.site_packages in report["directories"]


def test_two_dist_infos_of_one_project_are_reported_and_repaired(venv):
    # pip B installs over pip A's plhdemo 1.0 without seeing it, as when both
    # resolved before either wrote: --ignore-installed is that blindness.
    venv.pip("install", f"{DEMO}==1.0")
    venv.pip("install", "--no-deps", "--ignore-installed", f"{DEMO}==2.0")
    result, (line, command) = only_problem(venv)
    assert line.startswith(f"{DEMO} 2.0: 2 .dist-info directories for one project")
    stale = os.path.join(venv.site_packages, f"{DEMO}-1.0.dist-info")
    assert command == f"rm -rf {stale} && {reinstall(venv, DEMO + '==2.0')}"
    check = venv.pip("check", check=False)
    assert (check.returncode, check.stdout.strip()) == (0, "No broken requirements found.")
    repair(venv, result)


def test_deleted_truncated_and_overwritten_files(venv):
    venv.pip("install", f"{DEMO}==2.0")
    package = os.path.join(venv.site_packages, DEMO)
    os.remove(os.path.join(package, "mod_001.py"))
    os.truncate(os.path.join(package, "mod_002.py"), 100)
    with open(os.path.join(package, "mod_004.py"), "r+b") as f:  # same size, other bytes
        f.write(b"VALUE = 9")
    result = verify(venv)
    assert result.returncode == 1
    found, summary = problems(result)
    assert [line for line, _ in found] == [
        f"{DEMO} 2.0: 1 file listed in RECORD missing: {DEMO}/mod_001.py",
        f"{DEMO} 2.0: 1 file not of the size RECORD lists (truncated or overwritten): {DEMO}/mod_002.py",
        f"{DEMO} 2.0: 1 file not of the sha256 RECORD lists (overwritten): {DEMO}/mod_004.py",
    ]
    assert {command for _, command in found} == {reinstall(venv, DEMO + "==2.0")}
    assert summary.startswith("piplockhook verify: 3 problems, 1 of ")
    report = json.loads(verify(venv, "--json").stdout)
    assert [(p["kind"], p["files"]) for p in report["problems"]] == [
        ("missing", [f"{DEMO}/mod_001.py"]),
        ("size", [f"{DEMO}/mod_002.py"]),
        ("hash", [f"{DEMO}/mod_004.py"]),
    ]
    quick = verify(venv, "--quick")  # presence and size: the overwritten file passes
    assert quick.returncode == 1 and [p[0].split(": ")[1] for p in problems(quick)[0]] == [
        "1 file listed in RECORD missing",
        "1 file not of the size RECORD lists (truncated or overwritten)",
    ]
    repair(venv, result)


@pytest.mark.parametrize("removed", ["RECORD", "METADATA"])
def test_a_dist_info_without_record_or_metadata(venv, removed):
    venv.pip("install", f"{DEMO}==2.0")
    info = os.path.join(venv.site_packages, f"{DEMO}-2.0.dist-info")
    os.remove(os.path.join(info, removed))
    result, (line, command) = only_problem(venv)
    assert line.startswith(f"{DEMO} 2.0: {DEMO}-2.0.dist-info has no {removed}")
    assert command == f"rm -rf {info} && {reinstall(venv, DEMO + '==2.0')}"
    repair(venv, result)


def test_the_stash_of_an_interrupted_uninstall(venv):
    # pip uninstall moves a package aside (`~` + its name without the first
    # letter) before it removes it; killed then, the stash stays and the
    # files are gone from where RECORD lists them: the stash is their only
    # copy, and the repair moves it back (never `rm -rf`, as it once was).
    venv.pip("install", f"{DEMO}==2.0")
    original = os.path.join(venv.site_packages, DEMO)
    stash = os.path.join(venv.site_packages, "~" + DEMO[1:])
    os.rename(original, stash)
    result, (line, command) = only_problem(venv)
    assert command == f"mv '{stash}' {original}"
    assert line == (
        f"{DEMO} 2.0: pip's stash ~{DEMO[1:]} of {DEMO}, the only copy (the original is missing): "
        "moved back, as pip's rollback would"
    )
    status = json.loads(venv.run([os.path.join(venv.bin, "piplockhook"), "status", "--json"]).stdout)
    assert status["leftovers"] == [stash]
    repair(venv, result)


def test_a_console_script_whose_module_is_missing(venv):
    venv.pip("install", TOOL)
    script = os.path.join(venv.bin, TOOL)
    os.remove(os.path.join(venv.site_packages, TOOL, "cli.py"))
    assert "ModuleNotFoundError" in venv.run([script], check=False).stderr
    result = verify(venv)
    found, _ = problems(result)
    assert [line for line, _ in found] == [
        f"{TOOL} 1.0: 1 file listed in RECORD missing: {TOOL}/cli.py",
        f"{TOOL} 1.0: console script {TOOL} names module {TOOL}.cli, which is missing",
    ]
    repair(venv, result)
    assert venv.run([script]).stdout == "plhtool works\n"


def test_a_target_directory_is_checked_under_its_own_lock(venv, tmp_path):
    target = str(tmp_path / "target")
    venv.pip("install", "--target", target, f"{DEMO}==1.0")
    assert verify(venv, "--target", target).returncode == 0
    assert os.path.exists(os.path.join(target, ".lock"))  # DIR/.lock, as pip --target takes
    os.remove(os.path.join(target, DEMO, "mod_001.py"))
    _, (_, command) = only_problem(venv, "--target", target)
    assert (
        command == f"{venv.python} -m pip install --target {target} --upgrade --force-reinstall --no-deps {DEMO}==1.0"
    )
    _, (_, by_path) = only_problem(venv, "--path", target)  # the same directory, as `pip list --path`
    assert by_path == command
    repair_target = subprocess.run(["bash", "-c", command], env=venv.env(), capture_output=True, timeout=TIMEOUT)
    assert repair_target.returncode == 0
    assert verify(venv, "--target", target).returncode == 0
    assert verify(venv, "--path", venv.site_packages, "--path", target).returncode == 0


def test_verify_waits_for_a_pip_that_is_writing(venv, holder, tmp_path):
    writing = holder(venv.lock_path)  # a writing pip holds the environment's lock exclusively
    writing.hold("exclusive")
    result = verify(venv, "--timeout", "0.5")
    assert result.returncode == 1 and result.stdout == ""  # as pip's and run's timeout
    last = result.stderr.splitlines()[-1]
    assert last.startswith("ERROR: piplockhook: timed out after 0.5s (--timeout)")
    assert last.endswith("; nothing was verified")  # not pip's "nothing was changed": verify changes nothing
    from_setting = verify(venv, PIPLOCKHOOK_TIMEOUT="0.5").stderr.splitlines()[-1]
    assert from_setting.startswith("ERROR: piplockhook: timed out after 0.5s (PIPLOCKHOOK_TIMEOUT)")
    elsewhere = str(tmp_path / "other.lock")  # --lockfile: that lock, not the environment's
    assert verify(venv, "--lockfile", elsewhere, "--timeout", "0.5").returncode == 0
    assert verify(venv, "--timeout", "0.5", PIPLOCKHOOK_LOCKFILE=elsewhere).returncode == 0
    waiting = Background([os.path.join(venv.bin, "piplockhook"), "verify"], venv.env())
    try:
        waiting.expect(r"piplockhook: waiting for shared lock on .*, held by pid \d+ \(exclusive")
        wait_until(lambda: waiting.proc.pid in lock_waiters(venv.lock_path), what="verify blocked in flock")
        assert waiting.running() and waiting.lines["stdout"] == []
        writing.release()
        code, out, err = waiting.finish()
        assert code == 0 and "no problems" in out and "acquired shared lock after waiting" in err
    finally:
        waiting.kill()


def test_progress_is_shown_on_a_terminal(venv):
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(
            [os.path.join(venv.bin, "piplockhook"), "verify"],
            env=venv.env(),
            stdout=subprocess.PIPE,
            stderr=terminal,
        )
        os.close(terminal)
        out = proc.communicate(timeout=TIMEOUT)[0]
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    assert proc.returncode == 0 and b"no problems" in out
    assert re.search(rb"\rpiplockhook verify: \d+/\d+ files, [\d.]+/[\d.]+ MB", shown), shown


@pytest.mark.parametrize(
    "args, message",
    [
        (["--target", "/no/such/dir"], "--target /no/such/dir: not a directory"),
        (["--path", "/no/such/dir"], "--path /no/such/dir: not a directory"),
        (["--timeout", "soon"], "--timeout='soon' is not valid"),
        (["--target", "/tmp", "--path", "/tmp"], "not allowed with argument"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(venv, args, message):
    result = verify(venv, *args)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    # One prefix word; usage errors name the subcommand after it, with where its help is;
    # a bad setting is the one line every entry point gives.
    prefix = "ERROR: piplockhook: " if "is not valid" in message else "ERROR: piplockhook: verify: "
    assert len(lines) == 1 and lines[0].startswith(prefix) and message in lines[0], lines
    if "is not valid" not in message:
        assert lines[0].endswith(" (see piplockhook verify --help)"), lines


# -- the races themselves: the stress scenario of tests/support/stress.py, unlocked

WORKERS, ROUNDS, SECONDS = 4, 6, 60


def racing_seeds(count):
    """Seeds whose workers start with installs of two different versions of
    the demo project at once: from a venv without it, both pips resolve
    "nothing to replace" and both write their .dist-info."""

    def first(seed):
        argvs = [stress.operations(random.Random(seed * 1000 + i))[1] or [""] for i in range(WORKERS)]
        return {argv[-1] for argv in argvs if argv[-1].startswith(f"{DEMO}==")}

    return [seed for seed in range(1, 1000) if len(first(seed)) >= 2][:count]


def test_an_unlocked_stress_round_leaves_damage_that_verify_finds_and_pip_check_does_not(venv):
    start, rounds = time.monotonic(), []
    try:
        for seed in racing_seeds(ROUNDS):
            stress.run_round(venv, workers=WORKERS, ops=1, seed=seed, hook=False)
            result = verify(venv)
            check = venv.pip("check", check=False)
            rounds.append((seed, result.returncode, check.returncode, result.stdout))
            if result.returncode == 1 and check.returncode == 0:
                break
            assert result.returncode in (0, 1), result.stderr
            if time.monotonic() - start > SECONDS:
                break
            stress.repair(venv)
    finally:
        stress.repair(venv)
    print("\n".join(f"seed {s}: verify {v}, pip check {c}\n{out}" for s, v, c, out in rounds))
    seed, code, check_code, out = rounds[-1]
    assert (code, check_code) == (1, 0), f"no round in {len(rounds)} left damage that only verify sees:\n{rounds}"
    assert "No broken requirements found." in check.stdout
    assert "; repair: " in out
