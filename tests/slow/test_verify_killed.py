"""A real pip killed with SIGKILL while it upgrades a big wheel (issue 28's
`plhbig` experiment), then `piplockhook verify --repair`: pip's stash, the
only copy of the old version, is moved back under the exclusive lock, and
the environment is what it was before the upgrade, file for file; what
verify cannot do itself (the console script pip moved to its temp folder)
is one ERROR line with the command, and that command makes it whole."""

import atexit
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import zipfile

import pytest
import stopwriting
from plh_backend import _record_hash
from procs import TIMEOUT, wait_until

pytestmark = pytest.mark.slow

BIG = "plhbig"
MODULES = 3000
KILL_AFTER = 300  # files of 2.0 written: well inside the upgrade, long before its end


def write_big_wheel(directory, version):
    """A wheel of MODULES modules and a console script, with its .dist-info
    last in the archive as build backends write it: pip writes it last."""
    info = f"{BIG}-{version}.dist-info"
    files = {f"{BIG}/m{i:04d}.py": f"# {version}\nVALUE = {i}\n" + "#" * 1000 + "\n" for i in range(MODULES)}
    files[f"{BIG}/__init__.py"] = f"VERSION = {version!r}\n\ndef main():\n    print(VERSION)\n"
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {BIG}\nVersion: {version}\n"
    files[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: piplockhook-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{info}/entry_points.txt"] = f"[console_scripts]\n{BIG} = {BIG}:main\n"
    path = os.path.join(directory, f"{BIG}-{version}-py3-none-any.whl")
    record = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as whl:
        for name, text in files.items():
            whl.writestr(name, text)
            record.append(f"{name},{_record_hash(text.encode())},{len(text.encode())}")
        whl.writestr(f"{info}/RECORD", "\n".join([*record, f"{info}/RECORD,,"]) + "\n")
    return path


@pytest.fixture(scope="module")
def big_wheels(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("big-wheels"))
    for version in ("1.0", "2.0"):
        write_big_wheel(folder, version)
    return folder


def tree(venv):
    """{path: sha256} of site-packages and bin/, as the tests compare environments."""
    found = {}
    for top in (venv.site_packages, venv.bin):
        for folder, _, names in os.walk(top):
            for name in names:
                path = os.path.join(folder, name)
                if os.path.islink(path):
                    found[path] = "-> " + os.readlink(path)
                    continue
                with open(path, "rb") as f:
                    found[path] = hashlib.sha256(f.read()).hexdigest()
    return found


def verify(venv, *args, **env):
    """`piplockhook verify ARGS`, with a TMPDIR of its own unless given: what other
    pips left in the machine's /tmp (their pip-uninstall-* stashes) is not this test's."""
    env.setdefault("TMPDIR", NO_PIP_STASHES)
    return venv.run([os.path.join(venv.bin, "piplockhook"), "verify", *args], env=venv.env(**env), check=False)


NO_PIP_STASHES = tempfile.mkdtemp(prefix="plh-no-pip-stashes-")  # empty; removed at the session's end
atexit.register(shutil.rmtree, NO_PIP_STASHES, ignore_errors=True)


def files_in(folder):
    try:
        return sum(len(names) for _, _, names in os.walk(folder))
    except OSError:
        return 0


@pytest.fixture
def big(venv, tmp_path):
    """The venv, its environment for pips (their temporary folder this test's),
    and its site-packages, put back without plhbig however the test ends."""
    temp = tmp_path / "tmp"  # where pip stashes the old console script
    temp.mkdir()
    site = venv.site_packages
    # The pips killed here run without the hook: with it, the next pip (verify
    # included) puts the environment back from the writer's journal first
    # (tests/slow/test_journal_*.py). verify --repair is for what no journal
    # covers: a pip that ran opted out, or before piplockhook was installed.
    yield venv, venv.env(TMPDIR=str(temp), PIPLOCKHOOK="0"), site
    for entry in os.listdir(site):  # what a failure leaves (a stash pip cannot name): gone
        if entry.startswith(("~", BIG)):
            shutil.rmtree(os.path.join(site, entry))
    if os.path.lexists(os.path.join(venv.bin, BIG)):
        os.remove(os.path.join(venv.bin, BIG))


def kill_upgrade(venv, big_wheels, env, ready, what):
    """Start `pip install plhbig==2.0` over 1.0 and SIGKILL it once `ready(pip)`
    (polled, bounded); False if pip had ended by then."""
    pip = subprocess.Popen(
        [os.path.join(venv.bin, "pip"), "install", "--find-links", big_wheels, f"{BIG}==2.0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: ready(pip) or pip.poll() is not None, timeout=TIMEOUT, what=what)
        killed = pip.poll() is None
        pip.send_signal(signal.SIGKILL)
    finally:
        pip.kill()
        pip.wait(timeout=10)
    return killed


def test_a_pip_killed_mid_upgrade_is_put_back_by_verify_repair(big, big_wheels):
    venv, env, site = big
    venv.pip("install", "--find-links", big_wheels, f"{BIG}==1.0", env=env)
    before, listed = tree(venv), venv.installed()
    assert listed[BIG] == "1.0"
    stash = os.path.join(site, "~" + BIG[1:])
    # Killed as it opens its 301st file of 2.0 (it stops itself there: tests/support/stopwriting.py).
    killed = kill_upgrade(
        venv,
        big_wheels,
        {**env, **stopwriting.env(os.path.join(site, BIG), KILL_AFTER)},
        stopwriting.stopped,
        "pip writing 2.0 after it stashed 1.0",
    )
    assert killed
    assert os.path.isdir(stash) and files_in(os.path.join(site, BIG)) == KILL_AFTER
    assert BIG not in venv.installed()  # 1.0 in pip's stash, 2.0 without .dist-info: gone from pip list
    assert os.path.isdir(os.path.join(site, f"~{BIG[1:]}-1.0.dist-info"))

    found = verify(venv)  # reads only: says what it will do, and deletes nothing
    assert found.returncode == 1, found.stdout + found.stderr
    lines = found.stdout.splitlines()
    assert f"{BIG} 1.0: pip's stash ~{BIG[1:]} of {BIG}, the only copy (the original holds only files" in lines[0]
    assert f"{BIG} 1.0: pip's stash ~{BIG[1:]}-1.0.dist-info of {BIG}-1.0.dist-info, the only copy" in lines[1]
    assert "rm -rf" not in lines[1] and lines[1].endswith(f"{BIG}-1.0.dist-info")
    assert not any("unowned" in line or line.startswith(BIG + ":") for line in lines)  # the move back covers it

    # In the same shell as the pip (its TMPDIR): the old console script is found in pip's
    # temporary folder too, its size and sha256 as 1.0's RECORD says, and copied back.
    repaired = verify(venv, "--repair", TMPDIR=env["TMPDIR"])
    assert repaired.returncode == 0 and repaired.stderr == "", repaired.stdout + repaired.stderr
    done = repaired.stdout.splitlines()
    assert len(done) == 4 and done[-1].startswith("piplockhook verify: no problems in "), repaired.stdout
    assert done[0].endswith(f"; repaired: rm -rf {site}/{BIG} && mv '{stash}' {site}/{BIG}")
    assert done[1].endswith(f"; repaired: mv '{stash}-1.0.dist-info' {site}/{BIG}-1.0.dist-info")
    assert done[2].startswith(f"{BIG} 1.0: 1 file listed in RECORD missing, the only copy in pip's stash in its ")
    assert done[2].endswith(f"{venv.bin}/{BIG}") and f"; repaired: cp -p {env['TMPDIR']}/pip-uninstall-" in done[2]
    assert tree(venv) == before and venv.installed() == listed  # file for file, as before the upgrade
    assert venv.run([os.path.join(venv.bin, BIG)]).stdout.strip() == "1.0"


KILL_POINTS = {
    "1.0 stashed, nothing of 2.0 written": lambda site: os.path.isdir(os.path.join(site, "~" + BIG[1:])),
    "half of 2.0 written": lambda site: (
        files_in(os.path.join(site, BIG)) >= MODULES // 2 and os.path.isdir(os.path.join(site, "~" + BIG[1:]))
    ),
    "2.0's files all written, the wheel's RECORD last": lambda site: os.path.exists(
        os.path.join(site, f"{BIG}-2.0.dist-info", "RECORD")
    ),
    "2.0's INSTALLER written": lambda site: os.path.exists(os.path.join(site, f"{BIG}-2.0.dist-info", "INSTALLER")),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_wherever_pip_is_killed_verify_repair_and_its_commands_leave_one_whole_version(big, big_wheels, point):
    # What a user does after any kill: `verify --repair`, then each command of
    # its ERROR lines; then one version is installed whole, and it imports.
    venv, env, site = big
    venv.pip("install", "--find-links", big_wheels, f"{BIG}==1.0", env=env)
    kill_upgrade(venv, big_wheels, env, lambda _pip: KILL_POINTS[point](site), point)
    repaired = verify(venv, "--repair")
    assert repaired.returncode in (0, 1) and "Traceback" not in repaired.stderr, repaired.stderr
    removed_stash = f"rm -rf {shlex.quote(os.path.join(site, '~'))}"
    assert not [line for line in repaired.stdout.splitlines() if "the only copy" in line and removed_stash in line]
    for line in repaired.stderr.splitlines():
        assert line.startswith("ERROR: piplockhook: ") and "; run: " in line, line  # no WARNING: nothing unowned
        run = venv.run(["bash", "-c", line.split("; run: ", 1)[1]], env=venv.env(PIP_FIND_LINKS=big_wheels))
        assert run.returncode == 0
    whole = verify(venv)
    assert whole.returncode == 0, whole.stdout + whole.stderr
    version = venv.installed()[BIG]
    imported = venv.run([venv.python, "-c", f"import {BIG}; print({BIG}.VERSION)"]).stdout.strip()
    assert imported == version and files_in(os.path.join(site, BIG)) >= MODULES + 1
    assert venv.run([os.path.join(venv.bin, BIG)]).stdout.strip() == version


def test_a_pip_uninstall_killed_while_it_moves_or_deletes_leaves_no_doubt(big, big_wheels):
    # pip uninstall moves the .dist-info, then the package, aside (sorted), and
    # deletes them in that order: killed before that, the stashes are the only
    # copy and go back; killed while it deletes, the .dist-info is gone and
    # what is left of the package is nobody's.
    venv, env, site = big
    venv.pip("install", "--find-links", big_wheels, f"{BIG}==1.0", env=env)
    before = tree(venv)
    pip = subprocess.Popen(
        [os.path.join(venv.bin, "pip"), "uninstall", "-y", BIG],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stash = os.path.join(site, "~" + BIG[1:])
    info = os.path.join(site, f"~{BIG[1:]}-1.0.dist-info")
    try:
        wait_until(
            lambda: os.path.isdir(info) or os.path.isdir(stash) or pip.poll() is not None,
            timeout=TIMEOUT,
            what="pip's stash",
        )
        pip.send_signal(signal.SIGKILL)
    finally:
        pip.kill()
        pip.wait(timeout=10)
    if not (os.path.isdir(stash) or os.path.isdir(info)):
        pytest.skip("pip uninstalled it all before it could be killed")
    repaired = verify(venv, "--repair")
    kept = [line for line in repaired.stdout.splitlines() if "the only copy" in line]
    assert not [line for line in kept if f"rm -rf {shlex.quote(stash)}" in line], repaired.stdout
    for line in repaired.stderr.splitlines():
        # The console script, in pip's temporary folder: reinstall. A stash pip was deleting when
        # it was killed, its .dist-info gone first: no RECORD says what it was, the user decides.
        command = line.split("; run: ", 1)[1] if line.startswith("ERROR: ") else line.split("if nothing needs it: ")[1]
        venv.run(["bash", "-c", command], env=venv.env(PIP_FIND_LINKS=big_wheels))
    assert verify(venv).returncode == 0
    if BIG in venv.installed():  # moved back: as it was
        assert venv.installed()[BIG] == "1.0" and set(tree(venv)) == set(before)
    else:  # the uninstall was done but for deleting its stash
        assert not [p for p in tree(venv) if BIG in p]


def test_verify_repair_takes_the_exclusive_lock_and_bad_input_changes_nothing(venv, holder):
    site = venv.site_packages
    venv.pip("install", "plhsmall==1.0")
    stash = os.path.join(site, "~lhsmall")
    os.rename(os.path.join(site, "plhsmall"), stash)  # an uninstall stopped after its first move
    try:
        for args, env, message in [
            (("--repair",), {"PIPLOCKHOOK": "0"}, "verify --repair: PIPLOCKHOOK=0 opts out of the lock it needs"),
            (("--repair", "--bogus"), {}, "verify: unrecognized arguments: --bogus"),
        ]:
            bad = verify(venv, *args, **env)
            assert bad.returncode == 2 and bad.stdout == "", bad.stdout + bad.stderr
            (line,) = bad.stderr.splitlines()
            assert line.startswith("ERROR: piplockhook: ") and message in line, line
        reading = holder(venv.lock_path)  # a pip that reads: verify may read beside it, not repair
        reading.hold("shared")
        assert verify(venv, "--timeout", "0.5").returncode == 1
        timed_out = verify(venv, "--repair", "--timeout", "0.5")
        assert timed_out.returncode == 1 and timed_out.stdout == ""
        assert timed_out.stderr.splitlines()[-1].startswith("ERROR: piplockhook: timed out after 0.5s (--timeout)")
        assert timed_out.stderr.splitlines()[-1].endswith("; nothing was changed")
        assert os.path.isdir(stash)  # nothing changed by any of them
        reading.release()
        done = verify(venv, "--repair")
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.splitlines()[0].endswith(f"; repaired: mv '{stash}' {os.path.join(site, 'plhsmall')}")
        assert done.stdout.splitlines()[-1].startswith("piplockhook verify: no problems in ")
        os.rename(os.path.join(site, "plhsmall"), stash)
        report = json.loads(verify(venv, "--repair", "--json").stdout)
        assert [(p["kind"], p["path"]) for p in report["repaired"]] == [("stash", stash)] and report["problems"] == []
    finally:
        if os.path.isdir(stash):
            os.rename(stash, os.path.join(site, "plhsmall"))
