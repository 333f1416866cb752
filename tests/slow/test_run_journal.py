"""Issue 28: `piplockhook run -x` journals that its command changes the
environment in ways nobody can follow. Killed itself (SIGKILL) while its
command changes files, it leaves that journal: once the command has ended
too, the next pip names the dead run and says to run `piplockhook verify`,
every pip repeats it and `status` shows it until verify finds the
environment whole, which clears it. The control: the same kill of a parent
that journals nothing leaves the same damage, and no pip says a word.
A run that ends in its own process (the command's exit, a forwarded SIGTERM)
leaves no journal; `run -s` writes none; a pip nested in `run -x` journals
nothing of its own (it runs under the run's hold)."""

import json
import os
import re
import signal
import sys
import textwrap

import pytest
from procs import Background, Orphans, lock_holders, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX: the command inherits flock's descriptor"),
]

SMALL = "plhsmall"
STASH = "~lhsmall"  # the name pip's own stash gives plhsmall (AdjacentTempDirectory)
DIED = "WARNING: piplockhook: a `piplockhook run -x` command died while changing this environment (pid {pid}, `"
NOT_KNOWN = "what it changed is not known (run does not journal what its command changes): run `piplockhook verify`"
AGAIN = "WARNING: piplockhook: this environment may still be damaged since a `piplockhook run -x` command died"

# The command run holds the lock for: says its pid, then does what each line
# on stdin asks: "install" runs a nested pip (under the run's hold) and tells
# whose journal is there after it; "stash" moves plhsmall aside as pip's
# uninstall does (a change half done); anything else ends it.
COMMAND = textwrap.dedent(
    """
    import json, os, subprocess, sys
    pip, site, journal = sys.argv[1:4]
    print("ready", os.getpid(), flush=True)
    for line in sys.stdin:
        word = line.strip()
        if word == "install":
            done = subprocess.run([pip, "install", "--no-deps", "plhsmall==1.0"], capture_output=True, timeout=120)
            with open(journal) as f:
                lines = [json.loads(l) for l in f.read().splitlines()[1:]]
            print("install", done.returncode, json.dumps(lines), flush=True)
        elif word == "stash":
            os.rename(os.path.join(site, "plhsmall"), os.path.join(site, "~lhsmall"))
            print("stashed", flush=True)
        else:
            break
    """
)


@pytest.fixture
def command_script(tmp_path):
    script = tmp_path / "command.py"
    script.write_text(COMMAND)
    return str(script)


@pytest.fixture
def clean_journal(venv):
    """The journal (or notice) a test leaves goes with it: the venv is shared by the module."""
    journal = venv.lock_path + ".journal"
    yield journal
    for path in (journal, journal + ".new"):
        if os.path.exists(path):
            os.remove(path)


@pytest.fixture
def started():
    """Background processes, and pids of commands whose parent a test kills: all ended at teardown."""
    procs, pids = [], Orphans()
    yield procs, pids
    for proc in procs:
        proc.kill()
    pids.kill()


def start_command(venv, runner, script, started):
    procs, pids = started
    args = [*runner, sys.executable, script, os.path.join(venv.bin, "pip"), venv.site_packages]
    proc = Background([*args, venv.lock_path + ".journal"], venv.env())
    procs.append(proc)
    pid = int(proc.expect(r"^ready (\d+)$", stream="stdout").group(1))
    pids.append(pid)
    return proc, pid


def piplockhook(venv, *args, check=True):
    return venv.run([os.path.join(venv.bin, "piplockhook"), *args], check=check)


def status(venv):
    return json.loads(piplockhook(venv, "status", "--json", check=False).stdout)


def kill_run_while_its_command_stashes(venv, runner, script, started):
    """`runner` + COMMAND: the command stashes plhsmall, `runner` is SIGKILLed,
    then the command ends. The runner's pid."""
    venv.pip("install", "--no-deps", f"{SMALL}==1.0")
    proc, command_pid = start_command(venv, runner, script, started)
    proc.send("stash")
    proc.expect(r"^stashed$", stream="stdout")
    proc.proc.send_signal(signal.SIGKILL)
    proc.proc.wait(timeout=10)
    assert os.path.exists(f"/proc/{command_pid}")  # the command goes on, and holds run's lock
    proc.send("exit")
    wait_until(lambda: not os.path.exists(f"/proc/{command_pid}"), what="the command to end")
    wait_until(lambda: not lock_holders(venv.lock_path), what="the lock to be freed")
    return proc.proc.pid


def test_a_killed_run_x_is_said_by_every_pip_until_verify_repair_finds_it_whole(
    venv, command_script, started, clean_journal
):
    run = [os.path.join(venv.bin, "piplockhook"), "run", "-x", "--"]
    venv.pip("install", "--no-deps", f"{SMALL}==1.0")
    proc, command_pid = start_command(venv, run, command_script, started)
    # While run lives, its journal names it; a pip nested in its command runs under its
    # hold and journals nothing of its own: after it, the journal is still run's alone.
    proc.send("install")
    nested = proc.expect(r"^install ", stream="stdout").string.split(" ", 2)
    assert nested[1] == "0" and json.loads(nested[2])[1:] == [
        {"op": "blind", "why": "run does not journal what its command changes"}
    ], nested
    writer = json.loads(nested[2])[0]
    assert (writer["pid"], writer["kind"]) == (proc.proc.pid, "run") and " run -x -- " in writer["command"]

    proc.send("stash")
    proc.expect(r"^stashed$", stream="stdout")
    proc.proc.send_signal(signal.SIGKILL)
    proc.proc.wait(timeout=10)
    # The command still holds the lock: its journal is a living writer's.
    info = status(venv)
    assert info["journal"] == "writing", info
    proc.send("exit")
    wait_until(lambda: not os.path.exists(f"/proc/{command_pid}"), what="the command to end")
    wait_until(lambda: not lock_holders(venv.lock_path), what="the lock to be freed")
    info = status(venv)
    assert info["journal"] == "to restore" and f"(pid {proc.proc.pid}, `" in info["journal_line"], info

    first = venv.pip("list")
    assert DIED.format(pid=proc.proc.pid) in first.stderr and NOT_KNOWN in first.stderr, first.stderr
    again = venv.pip("list")
    assert AGAIN in again.stderr and NOT_KNOWN in again.stderr, again.stderr
    text = piplockhook(venv, "status").stdout
    assert "NOT known to be whole: this environment may still be damaged" in text, text
    assert status(venv)["journal"] == "notice"

    # verify finds the stash (plhsmall's only copy): not whole, the notice stays.
    found = piplockhook(venv, "verify", check=False)
    assert found.returncode == 1 and STASH in found.stdout, found.stdout
    assert "cleared" not in found.stdout and status(venv)["journal"] == "notice"
    assert AGAIN in venv.pip("list").stderr

    repaired = piplockhook(venv, "verify", "--repair", check=False)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert repaired.stdout.splitlines()[-1].startswith(
        "piplockhook verify: the environment is whole: cleared the notice that a `piplockhook run -x` command "
        f"(pid {proc.proc.pid}, `"
    ), repaired.stdout
    assert not os.path.exists(clean_journal)
    assert status(venv)["journal"] == ""
    quiet = venv.pip("list")
    assert "WARNING" not in quiet.stderr and SMALL in quiet.stdout, quiet.stderr


def test_verify_clears_the_notice_once_it_finds_the_environment_whole(venv, command_script, started, clean_journal):
    run = [os.path.join(venv.bin, "piplockhook"), "run", "-x", "--"]
    run_pid = kill_run_while_its_command_stashes(venv, run, command_script, started)
    assert DIED.format(pid=run_pid) in venv.pip("list").stderr
    # Put right by hand: plhsmall back where it was.
    os.rename(os.path.join(venv.site_packages, STASH), os.path.join(venv.site_packages, SMALL))
    assert AGAIN in venv.pip("list").stderr  # nobody has verified it yet
    # A pip that writes meanwhile journals its own changes beside the notice, and leaves the notice.
    upgrade = venv.pip("install", "--no-deps", f"{SMALL}==2.0", env=venv.env(PIPLOCKHOOK_DEBUG="1"))
    assert AGAIN in upgrade.stderr and "not journaling" not in upgrade.stderr, upgrade.stderr
    assert AGAIN in venv.pip("list").stderr
    as_json = json.loads(piplockhook(venv, "verify", "--json").stdout)
    assert as_json["problems"] == [] and as_json["notice_cleared"].startswith(
        "piplockhook verify: the environment is whole: cleared the notice"
    ), as_json
    assert "WARNING" not in venv.pip("list").stderr
    assert piplockhook(venv, "verify").stdout.splitlines()[-1].startswith("piplockhook verify: no problems")


def test_control_a_killed_parent_that_journals_nothing_leaves_the_damage_unsaid(
    venv, tmp_path, command_script, started, clean_journal
):
    # The same command and the same kill, under a parent without the journal.
    parent = tmp_path / "parent.py"
    parent.write_text("import subprocess, sys\nsubprocess.run(sys.argv[1:])\n")
    kill_run_while_its_command_stashes(venv, [sys.executable, str(parent)], command_script, started)
    assert os.path.isdir(os.path.join(venv.site_packages, STASH))  # the same damage
    listed = venv.pip("list")
    assert "WARNING: piplockhook" not in listed.stderr, listed.stderr
    assert status(venv)["journal"] == ""


def test_a_run_that_ends_in_its_own_process_leaves_no_journal(venv, command_script, started, clean_journal):
    run = [os.path.join(venv.bin, "piplockhook"), "run"]
    for mode, journaled in (("-x", True), ("-s", False)):
        proc, _ = start_command(venv, [*run, mode, "--"], command_script, started)
        assert os.path.exists(clean_journal) is journaled, mode
        proc.send("exit")  # the command's own end
        assert proc.finish()[0] == 0
        assert not os.path.exists(clean_journal), mode
    proc, _ = start_command(venv, [*run, "-x", "--"], command_script, started)
    proc.proc.send_signal(signal.SIGTERM)  # forwarded: the command ends by it, then run
    status_code, _, stderr = proc.finish()
    assert status_code == 128 + signal.SIGTERM, stderr
    assert not os.path.exists(clean_journal)
    assert "WARNING" not in venv.pip("list").stderr


def test_the_lines_are_the_docs_ones(venv, command_script, started, clean_journal):
    # docs/journal.md's sample, with this run's pid, command and time.
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "journal.md"), encoding="utf-8") as f:
        samples = re.findall(r"^\$ pip list\n(WARNING: piplockhook: .*`piplockhook run -x`.*)$", f.read(), re.M)
    assert len(samples) == 2, samples
    run = [os.path.join(venv.bin, "piplockhook"), "run", "-x", "--"]
    kill_run_while_its_command_stashes(venv, run, command_script, started)
    for sample in samples:
        shape = re.escape(sample).replace("pid\\ 2558", r"pid\ \d+")
        shape = re.sub(r"`/venv/bin/python3\\\.11\\ .*?install\\\.sh`", "`.+ run -x -- .+`", shape)
        shape = shape.replace(re.escape("2026-12-07 10:57:02"), r"\d{4}-\d\d-\d\d\ \d\d:\d\d:\d\d")
        listed = venv.pip("list")
        assert any(re.fullmatch(shape, line) for line in listed.stderr.splitlines()), (shape, listed.stderr)
    os.rename(os.path.join(venv.site_packages, STASH), os.path.join(venv.site_packages, SMALL))
